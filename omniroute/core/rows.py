"""Typed rows a command inserts besides the entities the engine tracks (one class per table).

`Tx.insert` takes only these, so a command cannot name a table that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ChatSessionRecord:
    """A customer's widget chat session."""

    id: str
    interaction_id: str
    widget_id: str
    token_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """A stored file a chat message carries (its bytes stay in `attachments`)."""

    id: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message, numbered by the engine."""

    id: int
    interaction_id: str
    sender: str
    agent_id: str | None
    author_name: str
    body: str
    client_id: str | None
    created_at: datetime
    delivered_at: datetime | None
    attachments: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class NewAgentRecord:
    """An agent provisioned from a provider's sign-in."""

    id: str
    name: str
    email: str
    presence_id: str
    created_at: datetime
    allow_external: bool = True


@dataclass(frozen=True, slots=True)
class AgentIdentityRecord:
    """A provider's agent id linked to one of our agents."""

    spoke: str
    provider_agent_id: str
    agent_id: str
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class IdempotencyKeyRecord:
    """The result of a request made with an idempotency key."""

    key: str
    request_hash: str
    result_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SpokeIncidentRecord:
    """Something about a spoke an operator should see."""

    id: str
    spoke: str
    kind: str
    message: str
    details: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboundEventRecord:
    """A provider event applied once (its id is remembered)."""

    spoke: str
    event_id: str
    type: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class EmailMessageRecord:
    """An inbound email filed into its case and interaction."""

    id: str
    direction: str
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_address: str
    to_addresses: list[str]
    text_body: str | None
    html_body: str | None
    raw_size: int
    raw: bytes | None
    interaction_id: str | None
    case_id: str | None
    status: str
    received_at: datetime
    reject_reason: str | None = None
    error: str | None = None
    attempts: int = 0
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EmailAttachmentRecord:
    """One attachment of an inbound email."""

    id: str
    message_id: str
    filename: str
    content_type: str
    size: int
    content: bytes


@dataclass(frozen=True, slots=True)
class CallContextRecord:
    """A provider's call context for an interaction, as it arrived."""

    interaction_id: str
    spoke: str
    event_id: str
    state: str
    kind: str
    muted: bool
    customer_number: str | None
    provider_call_id: str | None
    connected_at: datetime | None
    occurred_at: datetime
    received_at: datetime
    available_actions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit-log entry written with the change it records."""

    at: datetime
    actor: str
    role: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, object]


NewRow = (
    ChatSessionRecord
    | ChatMessage
    | NewAgentRecord
    | AgentIdentityRecord
    | IdempotencyKeyRecord
    | SpokeIncidentRecord
    | InboundEventRecord
    | EmailMessageRecord
    | EmailAttachmentRecord
    | CallContextRecord
    | AuditEntry
)
