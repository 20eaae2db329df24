"""What the core's queries and commands answer: plain frozen values, safe to send anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from omniroute.core.state import Tx
from omniroute.domain.model import Agent


@dataclass(frozen=True, slots=True)
class PresenceView:
    """An agent's presence state and per-channel availability."""

    agent_id: str
    presence_id: str
    is_available: bool
    since: datetime | None
    channel_available: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChannelCapacityView:
    """An agent's capacity, load and free capacity on one channel."""

    capacity: int
    load: int
    free: int
    available: bool


@dataclass(frozen=True, slots=True)
class CapacityView:
    """An agent's capacities and load."""

    agent_id: str
    capacity_cap: int | None
    total_load: int
    channels: dict[str, ChannelCapacityView] = field(default_factory=dict)


def presence_view(tx: Tx, agent: Agent) -> PresenceView:
    """The presence view of an agent."""
    channels = tx.state.config.channels
    state = tx.state.config.presence.get(agent.presence_id)
    return PresenceView(
        agent_id=agent.id,
        presence_id=agent.presence_id,
        is_available=bool(state and state.is_available),
        since=agent.presence_since,
        channel_available={c: agent.channel_available.get(c, True) for c in channels},
    )


def capacity_view(tx: Tx, agent: Agent) -> CapacityView:
    """The capacity view of an agent."""
    return CapacityView(
        agent_id=agent.id,
        capacity_cap=agent.capacity_cap,
        total_load=agent.total_load,
        channels={
            c.id: ChannelCapacityView(
                capacity=agent.capacity_for(c),
                load=agent.load.get(c.id, 0),
                free=agent.free_on(c),
                available=agent.channel_available.get(c.id, True),
            )
            for c in tx.state.config.channels.values()
        },
    )
