"""Engine commands of a chat: start it, add messages, signal typing, end it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.events import ChatMessagePosted, ChatTyping
from omniroute.domain.model import Document, DocumentType, InteractionState
from omniroute.services import documents
from omniroute.services.documents import NewDocument, RouteRequest

CHAT_CHANNEL = "chat"
SUBJECT_LIMIT = 200
CUSTOMER_ENDED = "The customer ended the chat."


class Sender(StrEnum):
    """Who wrote a chat message."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class NewChat:
    """What a customer gives to start a chat, and the session made for it."""

    session_id: str
    widget_id: str
    queue_id: str
    token_hash: str
    name: str
    email: str
    question: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_out(row: dict[str, Any]) -> dict[str, Any]:
    """A message as the API and the feeds show it."""
    return {
        "id": row["id"],
        "interaction_id": row["interaction_id"],
        "sender": row["sender"],
        "agent_id": row["agent_id"],
        "author_name": row["author_name"],
        "body": row["body"],
        "created_at": _iso(row["created_at"]),
        "delivered_at": _iso(row["delivered_at"]),
    }


def _row(
    tx: Tx,
    message_id: int,
    interaction_id: str,
    sender: Sender,
    body: str,
    *,
    agent_id: str | None = None,
    author_name: str = "",
    client_id: str | None = None,
    delivered: bool = False,
) -> dict[str, Any]:
    row = {
        "id": message_id,
        "interaction_id": interaction_id,
        "sender": sender.value,
        "agent_id": agent_id,
        "author_name": author_name,
        "body": body,
        "client_id": client_id,
        "created_at": tx.now,
        "delivered_at": tx.now if delivered else None,
    }
    tx.insert_row("chat_messages", row)
    return row


def live_chat(tx: Tx, interaction_id: str) -> Document:
    """The chat's live document, or CHAT_ENDED once it is in wrap-up or closed."""
    doc = tx.state.documents.get(interaction_id)
    if doc is not None and doc.channel_id != CHAT_CHANNEL:
        raise DomainError(
            ErrorCode.NOT_A_CHAT,
            f"interaction '{interaction_id}' is on channel '{doc.channel_id}', not chat",
            "interaction_id",
        )
    if doc is None or doc.state == InteractionState.WRAP_UP:
        raise DomainError(
            ErrorCode.CHAT_ENDED,
            f"the chat '{interaction_id}' has ended; start a new chat",
            "interaction_id",
        )
    return doc


def holder(doc: Document) -> str | None:
    """The agent working on the chat now, if any."""
    return doc.agent_id if doc.state == InteractionState.WORK_IN_PROGRESS else None


def start_chat(tx: Tx, new: NewChat, take_id: Callable[[], int]) -> tuple[Document, dict[str, Any]]:
    """Create the chat interaction, route it, store the session and the first message."""
    fields = {
        "customer_name": new.name,
        "customer_email": new.email,
        "subject": new.question[:SUBJECT_LIMIT],
    }
    doc, _ = documents.create_document(
        tx,
        NewDocument(DocumentType.INTERACTION, CHAT_CHANNEL, fields, RouteRequest(new.queue_id)),
    )
    tx.insert_row(
        "chat_sessions",
        {
            "id": new.session_id,
            "interaction_id": doc.id,
            "widget_id": new.widget_id,
            "token_hash": new.token_hash,
            "created_at": tx.now,
        },
    )
    row = _row(tx, take_id(), doc.id, Sender.CUSTOMER, new.question, author_name=new.name)
    return doc, row


def customer_message(
    tx: Tx, interaction_id: str, body: str, client_id: str | None, take_id: Callable[[], int]
) -> dict[str, Any]:
    """Add the customer's message; it counts as delivered once an agent holds the chat."""
    doc = live_chat(tx, interaction_id)
    agent_id = holder(doc)
    name = doc.summary.get("customer_name", "")
    row = _row(
        tx,
        take_id(),
        doc.id,
        Sender.CUSTOMER,
        body,
        author_name=name,
        client_id=client_id,
        delivered=agent_id is not None,
    )
    if agent_id is not None:
        tx.emit(agent_id, ChatMessagePosted(doc.id, message_out(row)))
    return row


def agent_message(
    tx: Tx, interaction_id: str, acting_agent: str | None, body: str, take_id: Callable[[], int]
) -> dict[str, Any]:
    """Add the holding agent's message (or an admin's, signed as the support team)."""
    doc = live_chat(tx, interaction_id)
    agent_id = holder(doc)
    if agent_id is None:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            "no agent has accepted this chat yet; accept its offer first",
            "interaction_id",
        )
    if acting_agent is not None and acting_agent != agent_id:
        raise DomainError(
            ErrorCode.FORBIDDEN, f"the chat '{doc.id}' is held by another agent, not by you"
        )
    agent = tx.state.agents.get(agent_id)
    author = agent.name if acting_agent is not None and agent is not None else "Support team"
    row = _row(tx, take_id(), doc.id, Sender.AGENT, body, agent_id=acting_agent, author_name=author)
    tx.emit(agent_id, ChatMessagePosted(doc.id, message_out(row)))
    return row


def customer_typing(tx: Tx, interaction_id: str) -> None:
    """Tell the holding agent that the customer is typing (nobody to tell while queued)."""
    doc = tx.state.documents.get(interaction_id)
    agent_id = holder(doc) if doc is not None else None
    if agent_id is not None:
        tx.emit(agent_id, ChatTyping(interaction_id, Sender.CUSTOMER.value))


def customer_ends(tx: Tx, interaction_id: str, take_id: Callable[[], int]) -> None:
    """The customer leaves: an unanswered chat is abandoned, an answered one goes to wrap-up."""
    doc = tx.state.documents.get(interaction_id)
    if doc is None or doc.state == InteractionState.WRAP_UP:
        return
    agent_id = holder(doc)
    row = _row(tx, take_id(), doc.id, Sender.SYSTEM, CUSTOMER_ENDED, delivered=True)
    if agent_id is not None:
        tx.emit(agent_id, ChatMessagePosted(doc.id, message_out(row)))
    documents.end_interaction(tx, doc.id, None, None, None)


def stored_message(row: Any) -> dict[str, Any]:
    """A stored message row as the API shows it."""
    return message_out({c: getattr(row, c) for c in MESSAGE_COLUMNS})


MESSAGE_COLUMNS = (
    "id",
    "interaction_id",
    "sender",
    "agent_id",
    "author_name",
    "body",
    "created_at",
    "delivered_at",
)
