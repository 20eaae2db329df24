"""Typed rows a command inserts besides the entities the engine tracks (one class per table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ChatSessionRecord:
    """A customer's widget chat session."""

    id: str
    interaction_id: str
    widget_id: str
    token_hash: str
    created_at: datetime


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


NewRow = ChatSessionRecord | ChatMessage | AuditEntry
