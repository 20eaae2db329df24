"""Routing operations: queue hours, stuck work and supervisor actions (role supervisor)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from omniroute.api.auditing import actor_of
from omniroute.api.auth import Principal
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.routes.supervisor import SupervisorPrincipal
from omniroute.api.schemas import Body
from omniroute.core import ops_messages as m
from omniroute.store import tables as t

router = APIRouter(tags=["operations"])


def _actor(who: Principal) -> m.Actor:
    actor = actor_of(who)
    return m.Actor(actor.id, actor.role)


class HoursOut(BaseModel):
    """Whether a queue is open by its calendar, and when that next changes (UTC)."""

    queue_id: str
    open: bool
    next_change: datetime | None


@router.get("/queues/{queue_id}/hours", response_model=HoursOut)
async def queue_hours(queue_id: str, _who: CurrentPrincipal, engine: EngineDep) -> HoursOut:
    """A queue's opening state now (a queue without a calendar is always open)."""
    view = await engine.query(m.QueueHours(queue_id))
    return HoursOut(queue_id=view.queue_id, open=view.open, next_change=view.next_change)


class StuckOut(BaseModel):
    """A queued item that has waited a while, and why no agent has it."""

    work_item_id: str
    document_id: str
    queue_id: str
    channel_id: str
    waited_s: int
    reason: str
    excluded_agents: list[str]
    escalation_step: int


@router.get("/supervisor/stuck", response_model=list[StuckOut])
async def stuck(
    _who: SupervisorPrincipal,
    engine: EngineDep,
    min_wait_s: Annotated[int, Query(ge=0, le=86_400 * 30)] = 60,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[StuckOut]:
    """Queued items waiting at least `min_wait_s`, oldest first, each with its reason."""
    items = await engine.query(m.StuckItems(min_wait_s, limit))
    return [StuckOut.model_validate(i, from_attributes=True) for i in items]


class ItemMovedOut(BaseModel):
    """The live work item after a supervisor action."""

    work_item_id: str
    queue_id: str
    state: str
    agent_id: str | None
    offer_id: str | None


def _out(moved: m.ItemMoved) -> ItemMovedOut:
    return ItemMovedOut.model_validate(moved, from_attributes=True)


class AssignIn(Body):
    """The agent who gets the work."""

    agent_id: str = Field(min_length=1, max_length=64)


class MoveIn(Body):
    """The queue the work moves to."""

    queue_id: str = Field(min_length=1, max_length=64)


class PresenceIn(Body):
    """The presence to set and the reason the agent is shown."""

    presence_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


@router.post("/supervisor/work-items/{work_item_id}/assign", response_model=ItemMovedOut)
async def assign(
    work_item_id: str, body: AssignIn, who: SupervisorPrincipal, engine: EngineDep
) -> ItemMovedOut:
    """Offer a queued or offered item to a named agent; the old item ends `manually_assigned`."""
    return _out(await engine.execute(m.AssignItem(work_item_id, body.agent_id, _actor(who))))


@router.post("/supervisor/offers/{offer_id}/withdraw", response_model=ItemMovedOut)
async def withdraw_offer(
    offer_id: str, who: SupervisorPrincipal, engine: EngineDep
) -> ItemMovedOut:
    """Take a pending offer back; the item returns to its queue without that agent."""
    return _out(await engine.execute(m.WithdrawOffer(offer_id, _actor(who))))


@router.post("/supervisor/work-items/{work_item_id}/move", response_model=ItemMovedOut)
async def move(
    work_item_id: str, body: MoveIn, who: SupervisorPrincipal, engine: EngineDep
) -> ItemMovedOut:
    """Move a queued or offered item to another queue serving its channel."""
    return _out(await engine.execute(m.MoveItem(work_item_id, body.queue_id, _actor(who))))


class PresenceOut(BaseModel):
    """The agent's presence after the change."""

    agent_id: str
    presence_id: str


@router.put("/supervisor/agents/{agent_id}/presence", response_model=PresenceOut)
async def set_presence(
    agent_id: str, body: PresenceIn, who: SupervisorPrincipal, engine: EngineDep
) -> PresenceOut:
    """Change an agent's presence; the agent's workspace shows the reason."""
    cmd = m.ForcePresence(agent_id, body.presence_id, body.reason, _actor(who))
    return PresenceOut(agent_id=agent_id, presence_id=await engine.execute(cmd))


class AgentLineOut(BaseModel):
    """An agent on the board: presence since when, load per channel, work handled today."""

    agent_id: str
    name: str
    presence_id: str
    presence_since: datetime | None
    load: dict[str, int]
    offers: int
    handled_today: int


@router.get("/supervisor/agents", response_model=list[AgentLineOut])
async def agent_board(
    _who: SupervisorPrincipal, engine: EngineDep, session: SessionDep
) -> list[AgentLineOut]:
    """Every agent: presence and since when, load per channel, items closed since 00:00 UTC."""
    lines = await engine.query(m.AgentBoard())
    midnight = engine.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    wi = t.WorkItemRow
    counts = dict(
        (
            await session.execute(
                select(wi.agent_id, func.count())
                .where(wi.state == "closed", wi.ended_at >= midnight)
                .group_by(wi.agent_id)
            )
        ).all()
    )
    return [
        AgentLineOut(
            **{f: getattr(line, f) for f in AgentLineOut.model_fields if f != "handled_today"},
            handled_today=counts.get(line.agent_id, 0),
        )
        for line in lines
    ]
