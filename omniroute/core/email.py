"""Filing inbound email: thread a message into its case, or open a case and an interaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from omniroute.core import documents
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.routing import new_id
from omniroute.core.rows import EmailAttachmentRecord, EmailMessageRecord
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.events import EmailReceived
from omniroute.domain.model import DocumentType, InteractionState

EMAIL_CHANNEL = "email"
CASE_CHANNEL = "case"
ACCEPTED = "accepted"
# Raw mail and attachments are bytes: on the wire they travel as base64.
BYTES_AS_BASE64: dict[str, Any] = {"ser_json_bytes": "base64", "val_json_bytes": "base64"}


@dataclass(frozen=True, slots=True)
class EmailAttachment:
    """One attached file."""

    __pydantic_config__: ClassVar[dict[str, Any]] = BYTES_AS_BASE64

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class InboundEmail:
    """A received, parsed message as it is stored."""

    __pydantic_config__: ClassVar[dict[str, Any]] = BYTES_AS_BASE64

    id: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_address: str
    from_name: str
    to_addresses: tuple[str, ...]
    text_body: str | None
    html_body: str | None
    raw: bytes
    received_at: datetime
    attachments: tuple[EmailAttachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Thread:
    """The case (and its latest email interaction) a message belongs to."""

    case_id: str
    interaction_id: str | None


@dataclass(frozen=True, slots=True)
class Filed:
    """Where a message was filed."""

    message_row_id: str
    case_id: str
    interaction_id: str
    new_interaction: bool


def _check_routable(tx: Tx, queue_id: str | None) -> str:
    """Validate before changing anything: a command that raises must leave no trace."""
    if queue_id is None:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "email_queue_id is not configured")
    queue = tx.state.config.queues.get(queue_id)
    if queue is None or EMAIL_CHANNEL not in queue.channels:
        raise DomainError(
            ErrorCode.QUEUE_CHANNEL_MISMATCH,
            f"queue '{queue_id}' does not exist or does not serve the email channel",
        )
    for channel in (EMAIL_CHANNEL, CASE_CHANNEL):
        if channel not in tx.state.config.channels:
            raise DomainError(ErrorCode.NOT_FOUND, f"channel '{channel}' does not exist")
    return queue_id


def _open_interaction(tx: Tx, interaction_id: str | None) -> str | None:
    doc = tx.state.documents.get(interaction_id or "")
    if doc is None or doc.type is not DocumentType.INTERACTION:
        return None
    return None if doc.state == InteractionState.WRAP_UP else doc.id


def file_message(tx: Tx, email: InboundEmail, thread: Thread | None, queue_id: str | None) -> Filed:
    """Thread a message into its case, or open a case and an interaction; store its rows."""
    interaction_id = _open_interaction(tx, thread.interaction_id if thread else None)
    case_id = thread.case_id if thread else None
    new_interaction = interaction_id is None
    if interaction_id is None:
        queue = _check_routable(tx, queue_id)
        customer = {
            "customer_name": email.from_name,
            "customer_email": email.from_address,
            "subject": email.subject,
        }
        if case_id is None or case_id not in tx.state.documents:
            # A new thread, or a reply to a closed case: a new case.
            case_fields = customer | {"description": (email.text_body or "")[:4000]}
            case, _ = documents.create_document(
                tx, NewDocument(DocumentType.CASE, CASE_CHANNEL, case_fields)
            )
            case_id = case.id
        doc, _ = documents.create_document(
            tx,
            NewDocument(
                DocumentType.INTERACTION,
                EMAIL_CHANNEL,
                customer | {"case_id": case_id},
                RouteRequest(queue),
            ),
        )
        interaction_id = doc.id
    message_row_id = email.id
    tx.insert(_message_row(email, interaction_id, case_id or None))
    for attachment in email.attachments:
        tx.insert(
            EmailAttachmentRecord(
                id=new_id(),
                message_id=message_row_id,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=len(attachment.content),
                content=attachment.content,
            )
        )
    holder = tx.state.documents[interaction_id].agent_id
    if not new_interaction and holder is not None:
        event = EmailReceived(interaction_id, message_row_id, email.subject, email.from_address)
        tx.emit(holder, event)
    return Filed(message_row_id, case_id or "", interaction_id, new_interaction)


def _message_row(
    email: InboundEmail, interaction_id: str | None, case_id: str | None
) -> EmailMessageRecord:
    return EmailMessageRecord(
        id=email.id,
        direction="in",
        message_id=email.message_id,
        in_reply_to=email.in_reply_to,
        references=list(email.references),
        subject=email.subject,
        from_address=email.from_address,
        to_addresses=list(email.to_addresses),
        text_body=email.text_body,
        html_body=email.html_body,
        raw_size=len(email.raw),
        raw=email.raw,
        interaction_id=interaction_id,
        case_id=case_id,
        status=ACCEPTED,
        received_at=email.received_at,
    )
