"""The signed-in workspace's start-up state in one call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from omniroute.api.deps import CurrentWebSession, EngineDep, SessionDep
from omniroute.api.routes.admin import ENTITIES
from omniroute.api.routes.preferences import PreferencesOut
from omniroute.api.routes.session import SessionOut, session_out
from omniroute.api.schemas import CaseOut, InteractionOut, Out, PresenceOut
from omniroute.core.messages import AgentPresence
from omniroute.domain.model import CLOSED_CASE_STATES, CLOSED_INTERACTION_STATES
from omniroute.services import preferences
from omniroute.store import tables as t

router = APIRouter(tags=["workspace"])

# The catalog the workspace shows: JSON key and the admin entity path it comes from.
CATALOG = {
    "channels": "channels",
    "presence_states": "presence-states",
    "queues": "queues",
    "wrap_up_codes": "wrap-up-codes",
}


class BootstrapOut(Out):
    """Who is signed in, the catalog, the agent's presence, preferences and open work."""

    session: SessionOut
    catalog: dict[str, list[dict[str, Any]]]
    presence: PresenceOut
    preferences: PreferencesOut
    interactions: list[InteractionOut]
    cases: list[CaseOut]


async def _catalog(session: SessionDep) -> dict[str, list[dict[str, Any]]]:
    by_path = {e.path: e for e in ENTITIES}
    out: dict[str, list[dict[str, Any]]] = {}
    for key, path in CATALOG.items():
        entity = by_path[path]
        rows = await session.scalars(select(entity.row).order_by(entity.row.id))
        views: list[BaseModel] = list(await entity.view(session, rows.all()))
        out[key] = [v.model_dump(mode="json") for v in views]
    return out


@router.get("/workspace/bootstrap", response_model=BootstrapOut)
async def bootstrap(web: CurrentWebSession, session: SessionDep, engine: EngineDep) -> BootstrapOut:
    """Everything the workspace needs before it opens its feed (browser session only)."""
    agent_id = web.principal.agent_id or ""
    interactions = await session.scalars(
        select(t.InteractionRow)
        .where(t.InteractionRow.agent_id == agent_id)
        .where(t.InteractionRow.state.not_in([s.value for s in CLOSED_INTERACTION_STATES]))
        .order_by(t.InteractionRow.created_at)
    )
    cases = await session.scalars(
        select(t.CaseRow)
        .where(t.CaseRow.agent_id == agent_id)
        .where(t.CaseRow.state.not_in([s.value for s in CLOSED_CASE_STATES]))
        .order_by(t.CaseRow.created_at)
    )
    return BootstrapOut(
        session=session_out(web),
        catalog=await _catalog(session),
        presence=PresenceOut.model_validate(await engine.query(AgentPresence(agent_id))),
        preferences=PreferencesOut.model_validate(await preferences.read(session, agent_id)),
        interactions=[InteractionOut.model_validate(r) for r in interactions],
        cases=[CaseOut.model_validate(r) for r in cases],
    )
