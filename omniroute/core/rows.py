"""Typed rows a command inserts besides the entities the engine tracks (one class per table)."""

from __future__ import annotations

from dataclasses import dataclass
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


NewRow = ChatSessionRecord | ChatMessage
