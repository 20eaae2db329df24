"""Interactions, cases and work items: create, route, end, wrap up, read."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from omniroute.api.auth import Role
from omniroute.api.bounds import Offset
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.routes.case_work import send_closing_notice
from omniroute.api.schemas import (
    CaseCreate,
    CaseOut,
    CloseCaseIn,
    EndIn,
    InteractionCreate,
    InteractionOut,
    RouteFields,
    RouteIn,
    WorkItemOut,
    WrapUpIn,
)
from omniroute.api.work_access import work_actor
from omniroute.core.documents import RouteRequest
from omniroute.core.door import Command
from omniroute.core.messages import (
    CloseCase,
    CreateCase,
    CreateInteraction,
    EndInteraction,
    RouteDocument,
    SubmitWrapUp,
)
from omniroute.core.views import DocumentCreated
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.store import tables as t

router = APIRouter(tags=["documents"])
REFERENCE = re.compile(r"CS-(\d{1,9})", re.IGNORECASE)
CREATORS = (Role.ADMIN, Role.INTEGRATION)


def _route(body: RouteFields) -> RouteRequest | None:
    if body.queue_id is None:
        if body.skills or body.priority is not None or body.preferred_agent_id is not None:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                "priority, skills and preferred_agent_id need a queue_id",
                "queue_id",
            )
        return None
    skills = tuple(s.to_domain() for s in body.skills)
    return RouteRequest(body.queue_id, body.priority, skills, body.preferred_agent_id)


async def _interaction(session: SessionDep, interaction_id: str) -> InteractionOut:
    row = await session.get(t.InteractionRow, interaction_id, populate_existing=True)
    if row is None:
        raise NotFoundError("interaction", interaction_id, "interaction_id")
    return InteractionOut.model_validate(row)


async def _case(session: SessionDep, case_id: str) -> CaseOut:
    """A case by id, or by its reference such as CS-1042."""
    row = await session.get(t.CaseRow, case_id, populate_existing=True)
    reference = REFERENCE.fullmatch(case_id.strip())
    if row is None and reference is not None:
        number = int(reference.group(1))
        row = await session.scalar(select(t.CaseRow).where(t.CaseRow.number == number))
    if row is None:
        raise NotFoundError("case", case_id, "case_id")
    return CaseOut.model_validate(row)


async def _on_document(
    engine: EngineDep,
    session: SessionDep,
    row_type: type[t.InteractionRow] | type[t.CaseRow],
    doc_id: str,
    command: Command[None],
) -> None:
    """Run a command on the document named in the path: 404 if it never existed."""
    try:
        await engine.execute(command)
    except DomainError as err:
        if err.code is not ErrorCode.DOCUMENT_NOT_ACTIVE or err.field != "document_id":
            raise
        kind = "interaction" if row_type is t.InteractionRow else "case"
        if await session.get(row_type, doc_id) is None:
            raise NotFoundError(kind, doc_id, f"{kind}_id") from None
        raise DomainError(err.code, err.message, f"{kind}_id") from None


@router.post("/interactions", response_model=InteractionOut, status_code=201)
async def create_interaction(
    body: InteractionCreate, who: CurrentPrincipal, engine: EngineDep
) -> InteractionOut:
    """Create an interaction; with a queue it is routed at once."""
    who.require(*CREATORS)
    fields: dict[str, Any] = body.model_dump(
        include={
            "customer_name",
            "customer_email",
            "subject",
            "case_id",
            "external_id",
            "customer_id",
        }
    )
    created = await engine.execute(CreateInteraction(body.channel_id, fields, _route(body)))
    # Built from what the command wrote: a read-back would cost a store round trip.
    return _created_interaction(created, fields)


def _created_interaction(doc: DocumentCreated, fields: dict[str, Any]) -> InteractionOut:
    return InteractionOut(
        id=doc.id,
        channel_id=doc.channel_id,
        state=doc.state,
        case_id=fields.get("case_id"),
        agent_id=doc.agent_id,
        work_item_id=doc.work_item_id,
        customer_name=fields.get("customer_name") or "",
        customer_email=fields.get("customer_email") or "",
        subject=fields.get("subject") or "",
        external_id=fields.get("external_id"),
        customer_id=fields.get("customer_id"),
        wrap_up_code_id=None,
        wrap_up_notes=None,
        wrap_up_due_at=None,
        created_at=doc.created_at,
        updated_at=doc.created_at,
        ended_at=None,
        closed_at=None,
    )


@router.get("/interactions/{interaction_id}", response_model=InteractionOut)
async def get_interaction(
    interaction_id: str, _who: CurrentPrincipal, session: SessionDep
) -> InteractionOut:
    """One interaction."""
    return await _interaction(session, interaction_id)


@router.get("/interactions", response_model=list[InteractionOut])
async def list_interactions(
    _who: CurrentPrincipal,
    session: SessionDep,
    state: str | None = None,
    agent_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[InteractionOut]:
    """Interactions, newest first, filtered by state or agent."""
    query = select(t.InteractionRow)
    if state is not None:
        query = query.where(t.InteractionRow.state == state)
    if agent_id is not None:
        query = query.where(t.InteractionRow.agent_id == agent_id)
    query = query.order_by(t.InteractionRow.created_at.desc(), t.InteractionRow.id)
    rows = await session.scalars(query.limit(limit).offset(offset))
    return [InteractionOut.model_validate(r) for r in rows]


@router.post("/interactions/{interaction_id}/end", response_model=InteractionOut)
async def end_interaction(
    interaction_id: str,
    body: EndIn,
    who: CurrentPrincipal,
    engine: EngineDep,
    session: SessionDep,
) -> InteractionOut:
    """End an interaction: wrap-up follows unless a code without a time limit is given."""
    agent_id = await work_actor(session, who, interaction_id)
    await _on_document(
        engine,
        session,
        t.InteractionRow,
        interaction_id,
        EndInteraction(interaction_id, agent_id, body.wrap_up_code_id, body.notes),
    )
    return await _interaction(session, interaction_id)


@router.post("/interactions/{interaction_id}/wrap-up", response_model=InteractionOut)
async def wrap_up(
    interaction_id: str,
    body: WrapUpIn,
    who: CurrentPrincipal,
    engine: EngineDep,
    session: SessionDep,
) -> InteractionOut:
    """Submit the wrap-up code and notes; the interaction closes and capacity frees."""
    agent_id = await work_actor(session, who, interaction_id)
    await _on_document(
        engine,
        session,
        t.InteractionRow,
        interaction_id,
        SubmitWrapUp(interaction_id, body.wrap_up_code_id, agent_id, body.notes),
    )
    return await _interaction(session, interaction_id)


@router.post("/cases", response_model=CaseOut, status_code=201)
async def create_case(
    body: CaseCreate, who: CurrentPrincipal, engine: EngineDep, session: SessionDep
) -> CaseOut:
    """Create a case; with a queue it is routed at once."""
    who.require(*CREATORS)
    fields: dict[str, Any] = body.model_dump(
        include={"subject", "description", "customer_name", "customer_email"}
    )
    doc = await engine.execute(CreateCase(body.channel_id, fields, _route(body)))
    return await _case(session, doc.id)


@router.get("/cases/{case_id}", response_model=CaseOut)
async def get_case(case_id: str, _who: CurrentPrincipal, session: SessionDep) -> CaseOut:
    """One case."""
    return await _case(session, case_id)


@router.get("/cases", response_model=list[CaseOut])
async def list_cases(
    _who: CurrentPrincipal,
    session: SessionDep,
    state: str | None = None,
    agent_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[CaseOut]:
    """Cases, newest first, filtered by state or agent."""
    query = select(t.CaseRow)
    if state is not None:
        query = query.where(t.CaseRow.state == state)
    if agent_id is not None:
        query = query.where(t.CaseRow.agent_id == agent_id)
    query = query.order_by(t.CaseRow.created_at.desc(), t.CaseRow.id)
    rows = await session.scalars(query.limit(limit).offset(offset))
    return [CaseOut.model_validate(r) for r in rows]


@router.post("/cases/{case_id}/close", response_model=CaseOut)
async def close_case(  # noqa: PLR0917 - FastAPI dependencies
    case_id: str,
    body: CloseCaseIn,
    who: CurrentPrincipal,
    engine: EngineDep,
    session: SessionDep,
    request: Request,
) -> CaseOut:
    """Close a case, freeing the agent's capacity; the customer is told by email."""
    case_id = (await _case(session, case_id)).id
    agent_id = await work_actor(session, who, case_id)
    await _on_document(
        engine,
        session,
        t.CaseRow,
        case_id,
        CloseCase(case_id, agent_id, body.resolution, body.wrap_up_code_id),
    )
    await send_closing_notice(request, session, case_id)
    return await _case(session, case_id)


@router.post("/work-items", response_model=WorkItemOut, status_code=201)
async def route_document(
    body: RouteIn, who: CurrentPrincipal, engine: EngineDep, session: SessionDep
) -> WorkItemOut:
    """Route a document to a queue: a new work item, re-routing any not yet accepted."""
    skills = tuple(s.to_domain() for s in body.skills)
    route = RouteRequest(body.queue_id, body.priority, skills, body.preferred_agent_id)
    # An agent may only re-route work assigned to it; the core checks who holds it.
    holder = await work_actor(session, who, body.document_id)
    item_id = await engine.execute(RouteDocument(body.document_id, route, holder))
    row = await session.get(t.WorkItemRow, item_id)
    assert row is not None
    return WorkItemOut.model_validate(row)


@router.get("/work-items/{work_item_id}", response_model=WorkItemOut)
async def get_work_item(
    work_item_id: str, _who: CurrentPrincipal, session: SessionDep
) -> WorkItemOut:
    """One work item."""
    row = await session.get(t.WorkItemRow, work_item_id)
    if row is None:
        raise NotFoundError("work item", work_item_id, "work_item_id")
    return WorkItemOut.model_validate(row)


@router.get("/work-items", response_model=list[WorkItemOut])
async def list_work_items(
    *,
    _who: CurrentPrincipal,
    session: SessionDep,
    state: str | None = None,
    queue_id: str | None = None,
    document_id: str | None = None,
    agent_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> list[WorkItemOut]:
    """Work items, newest first, filtered."""
    wi = t.WorkItemRow
    query = select(wi)
    for column, value in (
        (wi.state, state),
        (wi.queue_id, queue_id),
        (wi.document_id, document_id),
        (wi.agent_id, agent_id),
    ):
        if value is not None:
            query = query.where(column == value)
    rows = await session.scalars(
        query.order_by(wi.created_at.desc(), wi.id).limit(limit).offset(offset)
    )
    return [WorkItemOut.model_validate(r) for r in rows]
