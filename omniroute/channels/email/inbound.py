"""Inbound email: the SMTP listener, threading, and filing mail as cases and interactions."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.channels.email.capped_smtp import CappedController
from omniroute.channels.email.outbound import RelayError, create_reply, deliver
from omniroute.channels.email.outbound import Thread as OutThread
from omniroute.channels.email.parse import (
    HEADER_LIMIT,
    MalformedEmailError,
    ParsedEmail,
    best_effort_headers,
    domain_of,
    parse_email,
)
from omniroute.config import Settings
from omniroute.core.email import ACCEPTED, EmailAttachment, Filed, InboundEmail, Thread
from omniroute.core.messages import FileEmail
from omniroute.core.ops_messages import QueueHours
from omniroute.core.routing import new_id
from omniroute.domain.errors import DomainError
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database

log = logging.getLogger(__name__)
REJECTED = "rejected"


def _smtp_text(reason: str) -> str:
    return " ".join(reason.split())[:200]


class EmailInbox:
    """Receives raw messages: stores every one, files the good ones, rejects the rest."""

    def __init__(self, db: Database, engine: Engine, settings: Settings) -> None:
        self._db = db
        self._engine = engine
        self._settings = settings
        self._lock = asyncio.Lock()

    async def receive(self, raw: bytes, mail_from: str | None, rcpt_tos: list[str]) -> str:
        """Handle one delivered message; returns the SMTP reply."""
        async with self._lock:
            return await self._receive(raw, mail_from or "", rcpt_tos)

    async def _receive(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
        now = self._engine.clock.now()
        limit = self._settings.email_max_bytes
        if len(raw) > limit:
            reason = f"the message is {len(raw)} bytes, over the limit of {limit}"
            await self._reject(raw, now, reason, rcpt_tos, keep=raw[:HEADER_LIMIT])
            return f"552 5.3.4 {reason}"
        try:
            parsed = parse_email(raw)
        except MalformedEmailError as err:
            await self._reject(raw, now, err.reason, rcpt_tos, keep=raw)
            return f"550 5.6.0 {_smtp_text(err.reason)}"
        async with self._db.session() as session:
            duplicate = await session.scalar(
                select(t.EmailMessageRow.id).where(
                    t.EmailMessageRow.message_id == parsed.message_id,
                    t.EmailMessageRow.direction == "in",
                    t.EmailMessageRow.status == ACCEPTED,
                )
            )
            if duplicate is not None:
                return "250 2.0.0 Already received"
            thread = await find_thread(session, parsed)
        email = _inbound(parsed, raw, now, rcpt_tos)
        queue_id = self._settings.email_queue_id
        try:
            filed = await self._engine.execute(FileEmail(email, thread, queue_id))
        except DomainError as err:
            reason = f"the message could not be routed: {err.message}"
            await self._reject(raw, now, reason, rcpt_tos, keep=raw)
            log.warning("email %s not routed: %s", parsed.message_id, err.message)
            return f"451 4.3.0 {_smtp_text(reason)}"
        if filed.new_interaction and queue_id is not None:
            await self._answer_out_of_hours(queue_id, filed, parsed.from_address, parsed.subject)
        return "250 2.0.0 Message accepted"

    async def _answer_out_of_hours(
        self, queue_id: str, filed: Filed, customer: str, subject: str
    ) -> None:
        """Outside its hours a queue set to `answer` replies with its message, once a thread."""
        hours = await self._engine.query(QueueHours(queue_id))
        if hours.open or hours.out_of_hours_action != "answer" or not hours.out_of_hours_message:
            return
        thread = OutThread(filed.interaction_id, filed.case_id or None, customer, subject)
        async with self._db.session() as session:
            row = await create_reply(
                session,
                self._settings,
                thread,
                body=hours.out_of_hours_message,
                html=None,
                now=self._engine.clock.now(),
            )
            try:
                await deliver(session, self._settings, row, self._engine.clock.now())
            except RelayError as err:
                # The reply stays `failed` with its error, listed with the thread's messages.
                log.warning("out-of-hours reply %s not sent: %s", row.id, err)

    async def _reject(
        self, raw: bytes, now: datetime, reason: str, rcpt_tos: list[str], keep: bytes
    ) -> None:
        headers = best_effort_headers(raw)
        async with self._db.session() as session, session.begin():
            session.add(
                t.EmailMessageRow(
                    id=new_id(),
                    direction="in",
                    message_id=headers["message_id"],
                    references=[],
                    subject=headers["subject"] or "",
                    from_address=(headers["from_address"] or "")[:320],
                    to_addresses=rcpt_tos,
                    raw_size=len(raw),
                    raw=keep,
                    status=REJECTED,
                    reject_reason=reason,
                    received_at=now,
                )
            )


def _inbound(parsed: ParsedEmail, raw: bytes, now: datetime, rcpt_tos: list[str]) -> InboundEmail:
    return InboundEmail(
        id=new_id(),
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=tuple(parsed.references),
        subject=parsed.subject,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to_addresses=tuple(parsed.to or rcpt_tos),
        text_body=parsed.text,
        html_body=parsed.html,
        raw=raw,
        received_at=now,
        attachments=tuple(
            EmailAttachment(a.filename, a.content_type, a.content) for a in parsed.attachments
        ),
    )


async def find_thread(session: AsyncSession, parsed: ParsedEmail) -> Thread | None:
    """The case a reply belongs to: In-Reply-To first, then References, newest first."""
    wanted = [parsed.in_reply_to] if parsed.in_reply_to else []
    wanted += [ref for ref in reversed(parsed.references) if ref not in wanted]
    if not wanted:
        return None
    m = t.EmailMessageRow
    rows = await session.execute(
        select(m.message_id, m.case_id).where(
            m.message_id.in_(wanted), m.case_id.is_not(None), m.status != REJECTED
        )
    )
    cases = {mid: case for mid, case in rows if mid is not None and case is not None}
    case_id = next((cases[mid] for mid in wanted if mid in cases), None)
    if case_id is None:
        return None
    latest = await session.scalar(
        select(m.interaction_id)
        .where(m.case_id == case_id, m.interaction_id.is_not(None))
        .order_by(m.received_at.desc(), m.id.desc())
        .limit(1)
    )
    return Thread(case_id, latest)


class SmtpHandler:
    """The aiosmtpd handler: hands each message to the inbox on the app's event loop."""

    def __init__(self, inbox: EmailInbox, loop: asyncio.AbstractEventLoop) -> None:
        self._inbox = inbox
        self._loop = loop

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Store and file the message; the reply is sent once it is committed."""
        raw = envelope.original_content or b""
        rcpt = [str(r) for r in envelope.rcpt_tos]
        receiving = self._inbox.receive(raw, envelope.mail_from, rcpt)
        try:
            future = asyncio.run_coroutine_threadsafe(receiving, self._loop)
            return await asyncio.wrap_future(future)
        except Exception:
            log.exception("inbound email could not be stored")
            return "451 4.3.0 Temporary failure, try again later"


class EmailListener:
    """The built-in SMTP listener (aiosmtpd in its own thread)."""

    def __init__(self, inbox: EmailInbox, settings: Settings) -> None:
        handler = SmtpHandler(inbox, asyncio.get_running_loop())
        self.controller = CappedController(
            handler,
            max_connections=settings.smtp_max_connections,
            hostname=settings.smtp_listen_host,
            port=settings.smtp_listen_port,
            server_hostname=domain_of(settings.email_from_address),
            data_size_limit=settings.email_max_bytes * 2,
            timeout=settings.smtp_timeout_s,
            ready_timeout=10.0,
        )

    async def start(self) -> None:
        """Bind and serve."""
        await asyncio.to_thread(self.controller.start)

    async def stop(self) -> None:
        """Stop serving."""
        await asyncio.to_thread(self.controller.stop)


async def start_listener(db: Database, engine: Engine, settings: Settings) -> EmailListener:
    """Start the SMTP listener for the app."""
    listener = EmailListener(EmailInbox(db, engine, settings), settings)
    await listener.start()
    return listener
