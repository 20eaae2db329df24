"""The chat use cases: start a chat, add messages, signal typing and delivery, end it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from omniroute.core import documents
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.rows import AttachmentRef, ChatMessage, ChatSessionRecord
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.events import ChatDelivered, ChatMessagePosted, ChatTyping
from omniroute.domain.model import Document, DocumentType, InteractionState

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


def message_out(message: Any) -> dict[str, Any]:
    """A message (a `ChatMessage` or its stored row) as the API and the feeds show it."""
    return {
        "id": message.id,
        "interaction_id": message.interaction_id,
        "sender": message.sender,
        "agent_id": message.agent_id,
        "author_name": message.author_name,
        "body": message.body,
        "attachments": list(message.attachments or ()),
        "created_at": _iso(message.created_at),
        "delivered_at": _iso(message.delivered_at),
    }


def _row(
    tx: Tx,
    interaction_id: str,
    sender: Sender,
    body: str,
    *,
    agent_id: str | None = None,
    author_name: str = "",
    client_id: str | None = None,
    delivered: bool = False,
    attachments: tuple[AttachmentRef, ...] = (),
) -> ChatMessage:
    row = ChatMessage(
        id=tx.state.take_chat_message_id(),
        interaction_id=interaction_id,
        sender=sender.value,
        agent_id=agent_id,
        author_name=author_name,
        body=body,
        client_id=client_id,
        created_at=tx.now,
        delivered_at=tx.now if delivered else None,
        attachments=tuple(dataclasses.asdict(a) for a in attachments),
    )
    tx.insert(row)
    return row


def system_message(tx: Tx, interaction_id: str, body: str) -> ChatMessage:
    """A message from the service itself (a closing notice), shown to the customer."""
    row = _row(tx, interaction_id, Sender.SYSTEM, body, delivered=True)
    doc = tx.state.documents.get(interaction_id)
    agent_id = holder(doc) if doc is not None else None
    if agent_id is not None:
        tx.emit(agent_id, ChatMessagePosted(interaction_id, message_out(row)))
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


def start_chat(tx: Tx, new: NewChat) -> tuple[Document, ChatMessage]:
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
    tx.insert(ChatSessionRecord(new.session_id, doc.id, new.widget_id, new.token_hash, tx.now))
    row = _row(tx, doc.id, Sender.CUSTOMER, new.question, author_name=new.name)
    return doc, row


def customer_message(
    tx: Tx,
    interaction_id: str,
    body: str,
    client_id: str | None,
    attachments: tuple[AttachmentRef, ...] = (),
) -> ChatMessage:
    """Add the customer's message; it counts as delivered once an agent holds the chat."""
    doc = live_chat(tx, interaction_id)
    agent_id = holder(doc)
    name = doc.summary.get("customer_name", "")
    row = _row(
        tx,
        doc.id,
        Sender.CUSTOMER,
        body,
        author_name=name,
        client_id=client_id,
        delivered=agent_id is not None,
        attachments=attachments,
    )
    if agent_id is not None:
        tx.emit(agent_id, ChatMessagePosted(doc.id, message_out(row)))
    return row


def agent_message(
    tx: Tx,
    interaction_id: str,
    acting_agent: str | None,
    body: str,
    attachments: tuple[AttachmentRef, ...] = (),
) -> ChatMessage:
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
    row = _row(
        tx,
        doc.id,
        Sender.AGENT,
        body,
        agent_id=acting_agent,
        author_name=author,
        attachments=attachments,
    )
    tx.emit(agent_id, ChatMessagePosted(doc.id, message_out(row)))
    return row


def customer_typing(tx: Tx, interaction_id: str) -> None:
    """Tell the holding agent that the customer is typing (nobody to tell while queued)."""
    doc = tx.state.documents.get(interaction_id)
    agent_id = holder(doc) if doc is not None else None
    if agent_id is not None:
        tx.emit(agent_id, ChatTyping(interaction_id, Sender.CUSTOMER.value))


def customer_ends(tx: Tx, interaction_id: str) -> None:
    """The customer leaves: an unanswered chat is abandoned, an answered one goes to wrap-up."""
    doc = tx.state.documents.get(interaction_id)
    if doc is None or doc.state == InteractionState.WRAP_UP:
        return
    agent_id = holder(doc)
    row = _row(tx, doc.id, Sender.SYSTEM, CUSTOMER_ENDED, delivered=True)
    if agent_id is not None:
        tx.emit(agent_id, ChatMessagePosted(doc.id, message_out(row)))
    documents.end_interaction(tx, doc.id, None, None, None)


def delivered(tx: Tx, interaction_id: str, ids: list[int], at: datetime) -> None:
    """Tell the holding agent that the customer's connection received these messages."""
    doc = tx.state.documents.get(interaction_id)
    if doc is None or doc.agent_id is None:
        return
    for message_id in sorted(ids):
        tx.emit(doc.agent_id, ChatDelivered(interaction_id, message_id, at))
