"""Agent use cases: presence, per-channel availability and capacity."""

from __future__ import annotations

from omniroute.core import outbound
from omniroute.core.routing import enqueue, set_presence_state, take_back_offer
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.events import CapacityChanged, PresenceChanged
from omniroute.domain.model import Agent


def get_agent(tx: Tx, agent_id: str) -> Agent:
    """An agent by id, or NOT_FOUND."""
    agent = tx.state.agents.get(agent_id)
    if agent is None:
        raise NotFoundError("agent", agent_id, "agent_id")
    return agent


def _check_channels(tx: Tx, channel_ids: list[str], field: str) -> None:
    for channel_id in channel_ids:
        if channel_id not in tx.state.config.channels:
            raise NotFoundError("channel", channel_id, field)


def set_presence(
    tx: Tx,
    agent_id: str,
    presence_id: str | None,
    channel_available: dict[str, bool] | None,
) -> Agent:
    """Set an agent's presence state and/or per-channel availability."""
    agent = get_agent(tx, agent_id)
    if presence_id is not None and presence_id not in tx.state.config.presence:
        raise NotFoundError("presence state", presence_id, "presence_id")
    presence = tx.state.config.presence.get(presence_id or "")
    if agent.disabled and presence is not None and presence.is_available:
        raise DomainError(
            ErrorCode.AGENT_DISABLED,
            f"agent '{agent.id}' is disabled; an admin must enable it first",
            "presence_id",
        )
    _check_channels(tx, list(channel_available or {}), "channel_available")
    for channel_id, available in (channel_available or {}).items():
        agent.channel_available[channel_id] = available
        tx.save_channel_availability(agent.id, channel_id, available)
    if presence_id is not None:
        set_presence_state(tx, agent, presence_id, reason="set")
    else:
        tx.state.index.refresh_agent(agent)
        tx.route_agent(agent.id)
        tx.emit(
            agent.id,
            PresenceChanged(agent.presence_id, dict(agent.channel_available), "set"),
        )
        outbound.agent_presence(tx, agent)
    return agent


def set_capacity(
    tx: Tx,
    agent_id: str,
    channels: dict[str, int | None],
    *,
    cap_given: bool,
    capacity_cap: int | None,
) -> Agent:
    """Set per-channel capacity overrides (None = channel default) and the universal cap."""
    agent = get_agent(tx, agent_id)
    _check_channels(tx, list(channels), "channels")
    for capacity in channels.values():
        if capacity is not None and capacity < 0:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "capacity cannot be negative", "channels")
    for channel_id, capacity in channels.items():
        if capacity is None:
            agent.capacity_overrides.pop(channel_id, None)
        else:
            agent.capacity_overrides[channel_id] = capacity
        tx.save_channel_capacity(agent.id, channel_id, capacity)
    if cap_given:
        agent.capacity_cap = capacity_cap
    tx.save_agent(agent)
    tx.state.index.refresh_agent(agent)
    tx.route_agent(agent.id)
    tx.emit(agent.id, CapacityChanged(agent.capacity_cap, dict(agent.capacity_overrides)))
    return agent


def set_disabled(tx: Tx, agent_id: str, *, disabled: bool) -> Agent:
    """Disable an agent: its pending offers go back to their queues and it goes offline."""
    agent = get_agent(tx, agent_id)
    agent.disabled = disabled
    if disabled:
        for offer in [o for o in tx.state.offers.values() if o.agent_id == agent.id]:
            item = tx.state.work_items[offer.work_item_id]
            take_back_offer(tx, item)
            enqueue(tx, item)
        set_presence_state(tx, agent, _offline(tx), reason="disabled")
    tx.state.index.refresh_agent(agent)
    tx.route_agent(agent.id)
    return agent


def _offline(tx: Tx) -> str:
    """The presence state a disabled agent is put in: `offline`, else any unavailable one."""
    presence = tx.state.config.presence
    if "offline" in presence:
        return "offline"
    return next((p.id for p in presence.values() if not p.is_available), next(iter(presence)))
