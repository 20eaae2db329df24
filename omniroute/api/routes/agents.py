"""Agent endpoints: presence, capacity, offers, accept and reject."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from omniroute.api.auth import Role
from omniroute.api.deps import CurrentPrincipal, DbDep, EngineDep, SessionDep
from omniroute.api.schemas import (
    CapacityIn,
    CapacityOut,
    OfferOut,
    PresenceIn,
    PresenceOut,
    RejectIn,
    RejectReasonOut,
)
from omniroute.core.messages import (
    AcceptOffer,
    AgentCapacity,
    AgentOffers,
    AgentPresence,
    RejectOffer,
    SetCapacity,
    SetPresence,
)
from omniroute.core.views import CapacityView, PresenceView
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import OfferState
from omniroute.store import tables as t

router = APIRouter(tags=["agents"])


def _presence(view: PresenceView) -> PresenceOut:
    return PresenceOut.model_validate(view)


def _capacity(view: CapacityView) -> CapacityOut:
    return CapacityOut.model_validate(view)


@router.get("/agents/{agent_id}/presence", response_model=PresenceOut)
async def get_presence(agent_id: str, who: CurrentPrincipal, engine: EngineDep) -> PresenceOut:
    """An agent's presence state and per-channel availability."""
    who.require_agent_or(agent_id, Role.ADMIN, Role.INTEGRATION)
    return _presence(await engine.query(AgentPresence(agent_id)))


@router.put("/agents/{agent_id}/presence", response_model=PresenceOut)
async def put_presence(
    agent_id: str, body: PresenceIn, who: CurrentPrincipal, engine: EngineDep
) -> PresenceOut:
    """Set an agent's presence state and/or per-channel availability (the agent or an admin)."""
    # Providers keep presence in step through their spoke's signed events, not this call.
    who.require_agent_or(agent_id, Role.ADMIN)
    command = SetPresence(agent_id, body.presence_id, body.channel_available)
    return _presence(await engine.execute(command))


@router.get("/agents/{agent_id}/capacity", response_model=CapacityOut)
async def get_capacity(agent_id: str, who: CurrentPrincipal, engine: EngineDep) -> CapacityOut:
    """An agent's capacity, load and free capacity per channel."""
    who.require_agent_or(agent_id, Role.ADMIN, Role.INTEGRATION)
    return _capacity(await engine.query(AgentCapacity(agent_id)))


@router.put("/agents/{agent_id}/capacity", response_model=CapacityOut)
async def put_capacity(
    agent_id: str, body: CapacityIn, who: CurrentPrincipal, engine: EngineDep
) -> CapacityOut:
    """Set per-channel capacity overrides and the universal cap (administrators)."""
    who.require(Role.ADMIN)
    cap_given = "capacity_cap" in body.model_fields_set
    command = SetCapacity(agent_id, dict(body.channels), cap_given, body.capacity_cap)
    return _capacity(await engine.execute(command))


@router.get("/agents/{agent_id}/offers", response_model=list[OfferOut])
async def pending_offers(agent_id: str, who: CurrentPrincipal, engine: EngineDep) -> list[OfferOut]:
    """The agent's pending offers."""
    who.require_agent_or(agent_id, Role.ADMIN, Role.INTEGRATION)
    offers = await engine.query(AgentOffers(agent_id))
    return [OfferOut.model_validate(o) for o in offers]


@router.get("/offers/{offer_id}", response_model=OfferOut)
async def get_offer(offer_id: str, who: CurrentPrincipal, session: SessionDep) -> OfferOut:
    """One offer."""
    row = await session.get(t.OfferRow, offer_id)
    if row is None:
        raise NotFoundError("offer", offer_id, "offer_id")
    who.require_agent_or(row.agent_id, Role.ADMIN, Role.INTEGRATION)
    return OfferOut.model_validate(row)


async def _ended_offer_error(
    db: DbDep, err: DomainError, offer_id: str, agent_id: str | None
) -> DomainError:
    """The precise error for an offer the engine no longer remembers (ended before a restart).

    The store is opened here, on this rare path, not as the route's dependency: a session per
    request cost every accept a generator dependency and its exit stack.
    """
    if err.code is not ErrorCode.NOT_FOUND or err.field != "offer_id":
        return err
    async with db.session() as session:
        row = await session.get(t.OfferRow, offer_id)
    if row is None or row.state == OfferState.PENDING:
        return err
    if agent_id is not None and row.agent_id != agent_id:
        return DomainError(ErrorCode.FORBIDDEN, f"offer '{offer_id}' was made to another agent")
    if row.state == OfferState.ACCEPTED:
        return DomainError(
            ErrorCode.WORK_ITEM_ALREADY_ACCEPTED, f"offer '{offer_id}' was already accepted"
        )
    return DomainError(ErrorCode.OFFER_NOT_PENDING, f"offer '{offer_id}' is {row.state}")


@router.post("/offers/{offer_id}/accept", response_model=OfferOut)
async def accept(offer_id: str, who: CurrentPrincipal, engine: EngineDep, db: DbDep) -> OfferOut:
    """Accept a pending offer (the agent it was made to)."""
    who.require(Role.AGENT, Role.ADMIN, Role.INTEGRATION)
    agent_id = who.acting_agent()
    try:
        offer = await engine.execute(AcceptOffer(offer_id, agent_id))
    except DomainError as err:
        raise await _ended_offer_error(db, err, offer_id, agent_id) from None
    return OfferOut.model_validate(offer)


@router.post("/offers/{offer_id}/reject", response_model=OfferOut)
async def reject(
    offer_id: str, body: RejectIn, who: CurrentPrincipal, engine: EngineDep, db: DbDep
) -> OfferOut:
    """Decline a pending offer with a reason; the work item returns to its queue."""
    who.require(Role.AGENT, Role.ADMIN, Role.INTEGRATION)
    agent_id = who.acting_agent()
    try:
        offer = await engine.execute(RejectOffer(offer_id, agent_id, body.reason_id, body.note))
    except DomainError as err:
        raise await _ended_offer_error(db, err, offer_id, agent_id) from None
    return OfferOut.model_validate(offer)


@router.get("/channels/{channel_id}/reject-reasons", response_model=list[RejectReasonOut])
async def reject_reasons(
    channel_id: str, _who: CurrentPrincipal, session: SessionDep
) -> list[RejectReasonOut]:
    """The reject reasons an agent may give on a channel."""
    if await session.get(t.ChannelRow, channel_id) is None:
        raise NotFoundError("channel", channel_id, "channel_id")
    rows = await session.scalars(
        select(t.RejectReasonRow)
        .where(
            (t.RejectReasonRow.channel_id == channel_id) | t.RejectReasonRow.channel_id.is_(None)
        )
        .order_by(t.RejectReasonRow.name)
    )
    return [RejectReasonOut.model_validate(r) for r in rows]
