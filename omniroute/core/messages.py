"""The core's vocabulary: every command and query the engine accepts, by stable name.

Importing this module registers every handler (`omniroute.core.handlers`), so whoever builds
a message can hand it to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from omniroute.core.call_controls import ControlRequest
from omniroute.core.chat import NewChat
from omniroute.core.documents import RouteRequest
from omniroute.core.door import Command, Query
from omniroute.core.email import BYTES_AS_BASE64, Filed, InboundEmail, Thread
from omniroute.core.live import LiveQueue, LiveView
from omniroute.core.rows import AttachmentRef, ChatMessage
from omniroute.core.transfers import TransferRequest
from omniroute.core.views import (
    CapacityView,
    ChatStarted,
    ControlSent,
    DirectoryEntry,
    DocumentCreated,
    FeedHello,
    PresenceView,
)
from omniroute.core.work_offers import WorkOffer, WorkOfferResult
from omniroute.domain.events import NoteAdded
from omniroute.domain.inbound import InboundEvent
from omniroute.domain.model import Offer

# -- agents -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentPresence(Query[PresenceView]):
    """An agent's presence and per-channel availability."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class SetPresence(Command[PresenceView]):
    """Set an agent's presence state and/or per-channel availability."""

    agent_id: str
    presence_id: str | None = None
    channel_available: dict[str, bool] | None = None


@dataclass(frozen=True, slots=True)
class SetAgentDisabled(Command[PresenceView]):
    """Disable an agent (offers taken back, set offline, never offered work) or enable it."""

    agent_id: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class AgentCapacity(Query[CapacityView]):
    """An agent's capacity, load and free capacity per channel."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class SetCapacity(Command[CapacityView]):
    """Set capacity overrides per channel (None = the channel default) and, if given, the cap."""

    agent_id: str
    channels: dict[str, int | None] = field(default_factory=dict)
    cap_given: bool = False
    capacity_cap: int | None = None


@dataclass(frozen=True, slots=True)
class AgentOffers(Query[list[Offer]]):
    """An agent's pending offers, oldest first."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class AcceptOffer(Command[Offer]):
    """Accept a pending offer; `agent_id` (when given) must be the agent it was made to."""

    offer_id: str
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class RejectOffer(Command[Offer]):
    """Decline a pending offer with a reason; the item returns to its queue."""

    offer_id: str
    agent_id: str | None = None
    reason_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FeedSnapshot(Query[FeedHello]):
    """The `hello` frame of an agent's feed: presence, load, pending offers, the last seq."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class Directory(Query[list[DirectoryEntry]]):
    """Every agent with presence and the channels they can take work on now."""


@dataclass(frozen=True, slots=True)
class LiveOverview(Query[LiveView]):
    """Queues and agents as last committed, for the supervisor view."""


@dataclass(frozen=True, slots=True)
class QueueDepths(Query[list[LiveQueue]]):
    """Every queue with how many items wait in it now (the transfer dialog shows it)."""


# -- documents ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateInteraction(Command[DocumentCreated]):
    """Create an interaction; with a route it is routed at once."""

    channel_id: str
    fields: dict[str, str | None] = field(default_factory=dict)
    route: RouteRequest | None = None


@dataclass(frozen=True, slots=True)
class CreateCase(Command[DocumentCreated]):
    """Create a case; with a route it is routed at once."""

    channel_id: str
    fields: dict[str, str | None] = field(default_factory=dict)
    route: RouteRequest | None = None


@dataclass(frozen=True, slots=True)
class RouteDocument(Command[str]):
    """Route a document to a queue (a new work item); answers the item id.

    `holder_agent_id`, when given, must be the agent the document is assigned to.
    """

    document_id: str
    route: RouteRequest
    holder_agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class EndInteraction(Command[None]):
    """End an interaction: wrap-up follows unless a code without a time limit is given."""

    interaction_id: str
    agent_id: str | None = None
    wrap_up_code_id: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitWrapUp(Command[None]):
    """Record the wrap-up code and notes; the interaction closes."""

    interaction_id: str
    wrap_up_code_id: str
    agent_id: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class CloseCase(Command[None]):
    """Close a case, freeing the agent working on it."""

    case_id: str
    agent_id: str | None = None
    resolution: str | None = None
    wrap_up_code_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateCase(Command[None]):
    """Change a case's status or priority (None leaves it); `agent_id` must hold the case."""

    case_id: str
    agent_id: str | None = None
    status: str | None = None
    priority: str | None = None


@dataclass(frozen=True, slots=True)
class FileCaseForm(Command[DocumentCreated]):
    """File a case from the public form, recording its one-time key."""

    fields: dict[str, str]
    queue_id: str
    idempotency_key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class FileEmail(Command[Filed]):
    """Thread an inbound email into its case, or open a case and an interaction."""

    __pydantic_config__: ClassVar[dict[str, Any]] = BYTES_AS_BASE64

    email: InboundEmail
    thread: Thread | None = None
    queue_id: str | None = None


# -- external routing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitWorkOffer(Command[WorkOfferResult]):
    """A provider's Work Offer API call (idempotent by its key)."""

    request: WorkOffer


@dataclass(frozen=True, slots=True)
class StartTransfer(Command[str]):
    """Transfer accepted work to an agent or a queue; answers the new work item's id."""

    request: TransferRequest


@dataclass(frozen=True, slots=True)
class CancelTransfer(Command[str]):
    """Cancel the pending transfer of a document; answers the cancelled item's id."""

    document_id: str
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteConsult(Command[str]):
    """The sender of an accepted consult transfer leaves the work; answers the item's id."""

    document_id: str
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyInboundEvents(Command[list[dict[str, Any]]]):
    """A provider's verified events, each applied once; answers one outcome per event."""

    spoke: str
    events: tuple[InboundEvent, ...]


@dataclass(frozen=True, slots=True)
class InvokeCallControl(Command[ControlSent]):
    """Ask the provider to act on the call of an interaction."""

    request: ControlRequest


@dataclass(frozen=True, slots=True)
class LinkPanelIdentity(Command[str]):
    """Link the provider identity a connector panel reports to the signed-in agent."""

    spoke: str
    provider_agent_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class SetPanelPresence(Command[str]):
    """Set the agent's presence from a provider state chosen in the panel; answers ours."""

    spoke: str
    agent_id: str
    state_name: str


# -- chat ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartChat(Command[ChatStarted]):
    """Start a widget chat: the interaction, its session and the first message."""

    chat: NewChat


@dataclass(frozen=True, slots=True)
class PostChatMessage(Command[ChatMessage]):
    """The holding agent (or an admin, `agent_id` None) writes to the customer."""

    interaction_id: str
    agent_id: str | None
    body: str
    attachments: tuple[AttachmentRef, ...] = ()


@dataclass(frozen=True, slots=True)
class PostCustomerMessage(Command[ChatMessage]):
    """The customer writes; `client_id` lets a re-sent message be recognised."""

    interaction_id: str
    body: str
    client_id: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerTyping(Command[None]):
    """Tell the holding agent that the customer is typing."""

    interaction_id: str


@dataclass(frozen=True, slots=True)
class CustomerEndsChat(Command[None]):
    """The customer leaves the chat."""

    interaction_id: str


@dataclass(frozen=True, slots=True)
class MarkChatDelivered(Command[None]):
    """The customer's connection received these agent messages: tell the agent."""

    interaction_id: str
    message_ids: tuple[int, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class AnnounceNote(Command[None]):
    """A stored note: push it to the agent holding its document, unless that agent wrote it."""

    note: NoteAdded


from omniroute.core import escalation as _escalation  # noqa: E402, F401 - its timers
from omniroute.core import handlers as _handlers  # noqa: E402, F401 - registers the handlers
from omniroute.core import supervision as _supervision  # noqa: E402, F401 - its handlers
