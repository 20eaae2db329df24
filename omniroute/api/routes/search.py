"""Search interactions, cases and customers by text, with filters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from omniroute.api.auth import Role
from omniroute.api.bounds import Instant
from omniroute.api.deps import CurrentPrincipal, SessionDep
from omniroute.api.routes.customers import CustomerOut
from omniroute.api.schemas import CaseOut, InteractionOut, Out
from omniroute.api.visibility import agent_sees, sees_everything
from omniroute.config import Settings
from omniroute.domain.bounds import MAX_INT64
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.services.toolkit import search
from omniroute.store import tables as t

router = APIRouter(tags=["search"])
Kind = Literal["interaction", "case", "customer"]


class SearchOut(Out):
    """What was found, newest first (customers by name)."""

    query: str
    interactions: list[InteractionOut]
    cases: list[CaseOut]
    customers: list[CustomerOut]


@router.get("/search", response_model=SearchOut)
async def search_all(  # noqa: PLR0917 - the query's filters
    who: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    types: Annotated[list[Kind] | None, Query()] = None,
    channel_id: str | None = None,
    state: str | None = None,
    queue_id: str | None = None,
    created_from: Instant | None = None,
    created_to: Instant | None = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
) -> SearchOut:
    """Interactions and cases by customer name, email, subject and message text; customers."""
    who.require(Role.ADMIN, Role.AGENT, Role.SUPERVISOR)
    settings: Settings = request.app.state.settings
    limit = min(limit or settings.search_limit, settings.search_limit)
    words = search.terms(q)
    filters = search.Filters(channel_id, state, queue_id, created_from, created_to)
    if not words and filters == search.Filters():
        raise DomainError(ErrorCode.VALIDATION_ERROR, "give words to search for or a filter", "q")
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} needs a UTC offset", name)
    kinds = set(types or ("interaction", "case", "customer"))
    agent = None if sees_everything(who) else who.agent_id
    out = SearchOut(query=q, interactions=[], cases=[], customers=[])
    if "interaction" in kinds:
        visible = agent_sees(t.InteractionRow, agent) if agent else None
        rows = await search.documents(
            session, "interaction", words, filters, limit, visible=visible
        )
        out.interactions = [InteractionOut.model_validate(r) for r in rows]
    if "case" in kinds:
        visible = agent_sees(t.CaseRow, agent) if agent else None
        rows = await search.documents(session, "case", words, filters, limit, visible=visible)
        out.cases = [CaseOut.model_validate(r) for r in rows]
    if "customer" in kinds and words:
        rows = await search.customers(session, words, limit)
        out.customers = [CustomerOut.model_validate(r) for r in rows]
    return out
