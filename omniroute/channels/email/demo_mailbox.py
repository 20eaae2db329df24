"""Demo mode's catch-all relay: every reply Omniroute sends lands in a folder an operator reads."""

from __future__ import annotations

import asyncio
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid, parsedate_to_datetime
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from omniroute.config import Settings

SUFFIX = ".eml"


@dataclass(frozen=True, slots=True)
class Letter:
    """One message the relay caught."""

    name: str
    sender: str
    recipients: str
    subject: str
    message_id: str
    sent_at: datetime | None
    text: str


class CatchAllHandler:
    """Accepts any message for any recipient and writes it to the folder, one file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Keep the raw bytes; the name sorts by arrival."""
        raw = envelope.original_content or b""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        await asyncio.to_thread(path.write_bytes, raw)
        return "250 2.0.0 Kept in the demo mailbox"


class DemoMailbox:
    """The relay (aiosmtpd in its own thread) and reading what it caught."""

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.demo_mailbox_dir)
        self.settings = settings
        self.controller = Controller(
            CatchAllHandler(self.folder),
            hostname="127.0.0.1",
            port=settings.demo_mailbox_port or 0,
            ready_timeout=10.0,
        )

    async def start(self) -> None:
        """Create the folder, bind and serve."""
        self.folder.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.controller.start)

    async def stop(self) -> None:
        """Stop serving; the folder stays."""
        await asyncio.to_thread(self.controller.stop)

    def letters(self, limit: int) -> list[Letter]:
        """The newest caught messages first."""
        paths = sorted(self.folder.glob(f"*{SUFFIX}"), reverse=True)[:limit]
        return [read_letter(p) for p in paths]

    def letter(self, name: str) -> Letter | None:
        """One caught message by file name, or None (names outside the folder are refused)."""
        path = self.folder / name
        if path.parent != self.folder or path.suffix != SUFFIX or not path.is_file():
            return None
        return read_letter(path)

    async def reply_as_customer(self, letter: Letter, body: str) -> None:
        """Answer a caught message as its recipient would: to Omniroute's own SMTP listener."""
        message = EmailMessage()
        message["From"] = letter.recipients.split(",")[0].strip()
        message["To"] = letter.sender
        message["Subject"] = (
            letter.subject
            if letter.subject.lower().startswith("re:")
            else (f"Re: {letter.subject}")
        )
        message["Message-ID"] = make_msgid(domain="customer.demo")
        message["In-Reply-To"] = letter.message_id
        message["References"] = letter.message_id
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_listen_host,
            port=self.settings.smtp_listen_port,
            timeout=self.settings.smtp_relay_timeout_s,
        )


def read_letter(path: Path) -> Letter:
    """Parse a caught message for the mailbox page."""
    parsed = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    body = parsed.get_body(preferencelist=("plain",)) if isinstance(parsed, EmailMessage) else None
    date = parsed.get("Date")
    return Letter(
        name=path.name,
        sender=str(parsed.get("From", "")),
        recipients=str(parsed.get("To", "")),
        subject=str(parsed.get("Subject", "")),
        message_id=str(parsed.get("Message-ID", "")),
        sent_at=parsedate_to_datetime(str(date)) if date else None,
        text=body.get_content() if body is not None else "",
    )
