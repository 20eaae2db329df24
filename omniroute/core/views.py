"""What the core's queries and commands answer: plain frozen values, safe to send anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from omniroute.core.rows import ChatMessage
from omniroute.core.state import Tx
from omniroute.domain.model import Agent, Document, DocumentType, Offer


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


@dataclass(frozen=True, slots=True)
class DocumentCreated:
    """A new interaction or case as the command left it."""

    id: str
    type: DocumentType
    channel_id: str
    state: str
    agent_id: str | None
    work_item_id: str | None
    created_at: datetime


def document_created(tx: Tx, doc: Document) -> DocumentCreated:
    """The creation view of a document."""
    return DocumentCreated(
        doc.id, doc.type, doc.channel_id, str(doc.state), doc.agent_id, doc.work_item_id, tx.now
    )


@dataclass(frozen=True, slots=True)
class FeedHello:
    """What an agent's feed starts with: the state now and the seq live events continue from."""

    agent_id: str
    seq: int
    presence_id: str
    channel_available: dict[str, bool]
    load: dict[str, int]
    offers: list[Offer]


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A colleague as the transfer dialog shows them."""

    id: str
    name: str
    presence_id: str
    presence_name: str
    available_on: list[str]
    load: dict[str, int]


@dataclass(frozen=True, slots=True)
class ChatStarted:
    """A new chat: its interaction and the customer's first message."""

    interaction_id: str
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class ControlSent:
    """A call control queued for the provider."""

    event_id: str
    spoke: str
