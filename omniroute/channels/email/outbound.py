"""Outbound email: agent replies with threading headers, sent through the SMTP relay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.channels.email.parse import domain_of
from omniroute.config import Settings
from omniroute.core.routing import new_id
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.store import tables as t

SENT = "sent"
FAILED = "failed"
SENDING = "sending"


class RelayError(Exception):
    """The relay did not take the message."""


def reply_subject(subject: str) -> str:
    """The subject of a reply: `Re: ` once."""
    return subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()


async def last_inbound(
    session: AsyncSession, interaction_id: str | None, case_id: str | None = None
) -> t.EmailMessageRow | None:
    """The latest accepted inbound message of an interaction (or, without one, of a case)."""
    m = t.EmailMessageRow
    owner = m.interaction_id == interaction_id if interaction_id else m.case_id == case_id
    return await session.scalar(
        select(m)
        .where(owner, m.direction == "in", m.status == "accepted")
        .order_by(m.received_at.desc(), m.id.desc())
        .limit(1)
    )


def compose(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    html: str | None,
    parent: t.EmailMessageRow | None,
    now: datetime,
    files: Sequence[t.AttachmentRow] = (),
) -> EmailMessage:
    """A reply with a Message-ID of our domain, In-Reply-To and References."""
    msg = EmailMessage()
    msg["From"] = settings.email_from_address
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=domain_of(settings.email_from_address))
    if parent is not None and parent.message_id:
        msg["In-Reply-To"] = parent.message_id
        msg["References"] = " ".join([*parent.references, parent.message_id])
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for f in files:
        maintype, _, subtype = f.content_type.partition("/")
        msg.add_attachment(
            f.content, maintype=maintype, subtype=subtype or "octet-stream", filename=f.filename
        )
    return msg


async def relay(settings: Settings, raw: bytes, sender: str, recipients: list[str]) -> None:
    """Hand a message to the configured relay, or raise RelayError."""
    if settings.smtp_relay_host is None:
        raise RelayError("no SMTP relay is configured (smtp_relay_host)")
    password = settings.smtp_relay_password
    try:
        await aiosmtplib.send(
            raw,
            sender=sender,
            recipients=recipients,
            hostname=settings.smtp_relay_host,
            port=settings.smtp_relay_port,
            username=settings.smtp_relay_username,
            password=password.get_secret_value() if password is not None else None,
            start_tls=settings.smtp_relay_starttls,
            local_hostname=domain_of(settings.email_from_address),
            timeout=settings.smtp_relay_timeout_s,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
        raise RelayError(f"{type(err).__name__}: {err}") from err


@dataclass(frozen=True, slots=True)
class Thread:
    """Where an outbound message belongs and to whom it goes when there is no earlier mail."""

    interaction_id: str | None
    case_id: str | None
    customer_email: str
    subject: str


async def create_reply(
    session: AsyncSession,
    settings: Settings,
    thread: Thread,
    *,
    body: str,
    html: str | None,
    now: datetime,
    files: Sequence[t.AttachmentRow] = (),
    subject: str | None = None,
) -> t.EmailMessageRow:
    """Store an outbound reply as `sending`, threaded to the customer's last message."""
    parent = await last_inbound(session, thread.interaction_id, thread.case_id)
    to = parent.from_address if parent is not None else thread.customer_email
    if not to:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the customer has no email address")
    if subject is None:
        subject = reply_subject(parent.subject if parent is not None else thread.subject)
    msg = compose(
        settings, to=to, subject=subject, body=body, html=html, parent=parent, now=now, files=files
    )
    raw = msg.as_bytes()
    row = t.EmailMessageRow(
        id=new_id(),
        direction="out",
        message_id=str(msg["Message-ID"]),
        in_reply_to=parent.message_id if parent is not None else None,
        references=[*parent.references, parent.message_id]
        if parent is not None and parent.message_id
        else [],
        subject=subject,
        from_address=settings.email_from_address,
        to_addresses=[to],
        text_body=body,
        html_body=html,
        raw_size=len(raw),
        raw=raw,
        interaction_id=thread.interaction_id,
        case_id=thread.case_id,
        status=SENDING,
        attempts=0,
        received_at=now,
    )
    session.add(row)
    await session.flush()
    for f in files:
        session.add(
            t.EmailAttachmentRow(
                id=new_id(),
                message_id=row.id,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                content=f.content,
            )
        )
    await session.commit()
    return row


async def deliver(
    session: AsyncSession, settings: Settings, row: t.EmailMessageRow, now: datetime
) -> None:
    """Send a stored outbound message; it ends `sent`, or `failed` with the error."""
    row.attempts += 1
    try:
        await relay(settings, row.raw or b"", row.from_address, list(row.to_addresses))
    except RelayError as err:
        row.status = FAILED
        row.error = str(err)[:2000]
        await session.commit()
        raise
    row.status = SENT
    row.error = None
    row.sent_at = now
    await session.commit()
