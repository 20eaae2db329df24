"""Typed events pushed to an agent's feed, each published only after its commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every feed event; `type` names its schema."""

    type: ClassVar[str] = "event"


@dataclass(frozen=True, slots=True)
class OfferCreated(Event):
    """A work item was offered to the agent."""

    type: ClassVar[str] = "offer.created"
    offer_id: str
    work_item_id: str
    document_type: str
    document_id: str
    channel_id: str
    queue_id: str
    created_at: datetime
    expires_at: datetime | None
    allowed_to_decline: bool
    auto_accept: bool
    display_option: str = "card_only"
    transfer_type: str | None = None
    transfer_from_agent_id: str | None = None
    transfer_from_name: str | None = None
    transfer_note: str | None = None


@dataclass(frozen=True, slots=True)
class OfferEnded(Event):
    """An offer to the agent was accepted, rejected, timed out or withdrawn."""

    type: ClassVar[str] = "offer.ended"
    offer_id: str
    work_item_id: str
    state: str
    reject_reason_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkItemClosed(Event):
    """Accepted work ended; the agent's capacity is free again."""

    type: ClassVar[str] = "work_item.closed"
    work_item_id: str
    document_type: str
    document_id: str


@dataclass(frozen=True, slots=True)
class PresenceChanged(Event):
    """The agent's presence or per-channel availability changed."""

    type: ClassVar[str] = "presence.changed"
    presence_id: str
    channel_available: dict[str, bool]
    reason: str
    # Set when a supervisor changed the presence: what they told the agent.
    message: str = ""


@dataclass(frozen=True, slots=True)
class CapacityChanged(Event):
    """The agent's capacities changed."""

    type: ClassVar[str] = "capacity.changed"
    capacity_cap: int | None
    capacity_overrides: dict[str, int]


@dataclass(frozen=True, slots=True)
class DocumentChanged(Event):
    """An interaction or case the agent works on changed state."""

    type: ClassVar[str] = "document.changed"
    document_type: str
    document_id: str
    state: str
    wrap_up_due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TransferChanged(Event):
    """A transfer the agent started moved on: offered, accepted, rejected, cancelled..."""

    type: ClassVar[str] = "transfer.changed"
    document_type: str
    document_id: str
    transfer_id: str
    transfer_type: str
    target_agent_id: str | None
    target_queue_id: str | None
    state: str
    offered_to: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessagePosted(Event):
    """A message was added to the transcript of a chat the agent holds."""

    type: ClassVar[str] = "chat.message"
    interaction_id: str
    message: dict[str, object]


@dataclass(frozen=True, slots=True)
class ChatTyping(Event):
    """The other side of a chat the agent holds is typing."""

    type: ClassVar[str] = "chat.typing"
    interaction_id: str
    sender: str


@dataclass(frozen=True, slots=True)
class ChatDelivered(Event):
    """One of the agent's chat messages reached the customer."""

    type: ClassVar[str] = "chat.delivered"
    interaction_id: str
    message_id: int
    delivered_at: datetime


@dataclass(frozen=True, slots=True)
class NoteAdded(Event):
    """A colleague added an internal note to a document the agent holds."""

    type: ClassVar[str] = "note.added"
    document_type: str
    document_id: str
    note_id: str
    author_agent_id: str | None
    author_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EmailReceived(Event):
    """The customer's follow-up email joined an email interaction the agent holds."""

    type: ClassVar[str] = "email.received"
    interaction_id: str
    email_message_id: str
    subject: str
    from_address: str
