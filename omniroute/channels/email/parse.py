"""Parse raw RFC 5322 messages into the fields the email channel stores."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser

MSGID = re.compile(r"<[^<>\s]+>")
HEADER_LIMIT = 64 * 1024


class MalformedEmailError(Exception):
    """A message that cannot be accepted, with the reason stored beside it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attached file."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """The parts of a message the channel uses."""

    message_id: str
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    text: str | None
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)


def message_ids(value: str | None) -> list[str]:
    """The `<id>` tokens of a Message-ID, In-Reply-To or References header."""
    return MSGID.findall(value or "")


def generated_message_id(raw: bytes) -> str:
    """A stable Message-ID for a message that has none: a digest of its bytes."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a broken header reads as absent
        return None
    return None if value is None else str(value)


def _addresses(msg: EmailMessage, name: str) -> list[Address]:
    try:
        value = msg.get(name)
        return [] if value is None else list(getattr(value, "addresses", ()))
    except Exception:  # noqa: BLE001 - a broken address header reads as no address
        return []


def _text(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def _attachments(msg: EmailMessage) -> list[Attachment]:
    out: list[Attachment] = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        name = part.get_filename() or "attachment"
        out.append(Attachment(name[:255], part.get_content_type(), content))
    return out


def read_message(raw: bytes) -> EmailMessage:
    """The message object of raw bytes (the stdlib parser with the modern policy)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def best_effort_headers(raw: bytes) -> dict[str, str | None]:
    """Message-ID, subject and sender of a message, as far as they can be read."""
    try:
        msg = read_message(raw[:HEADER_LIMIT])
    except Exception:  # noqa: BLE001 - a rejected message keeps what could be read
        return {"message_id": None, "subject": None, "from_address": None}
    ids = message_ids(_header(msg, "Message-ID"))
    senders = _addresses(msg, "From")
    return {
        "message_id": ids[0] if ids else None,
        "subject": _header(msg, "Subject"),
        "from_address": senders[0].addr_spec if senders else _header(msg, "From"),
    }


def _parse(raw: bytes) -> ParsedEmail:
    msg = read_message(raw)
    if not msg.keys():
        raise MalformedEmailError("the message has no header section")
    senders = [a for a in _addresses(msg, "From") if a.addr_spec and "@" in a.addr_spec]
    if not senders:
        raise MalformedEmailError("the message has no valid From address")
    ids = message_ids(_header(msg, "Message-ID"))
    reply_to = message_ids(_header(msg, "In-Reply-To"))
    return ParsedEmail(
        message_id=ids[0] if ids else generated_message_id(raw),
        in_reply_to=reply_to[0] if reply_to else None,
        references=message_ids(_header(msg, "References")),
        subject=(_header(msg, "Subject") or "").strip(),
        from_address=senders[0].addr_spec,
        from_name=senders[0].display_name,
        to=[a.addr_spec for a in _addresses(msg, "To")],
        text=_text(msg, "plain"),
        html=_text(msg, "html"),
        attachments=_attachments(msg),
    )


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse a message, or raise MalformedEmailError with the reason."""
    try:
        return _parse(raw)
    except MalformedEmailError:
        raise
    except Exception as err:
        raise MalformedEmailError(f"the message cannot be parsed: {err}") from err


def domain_of(address: str) -> str:
    """The domain part of an address, for Message-IDs and the SMTP greeting."""
    return address.rpartition("@")[2] or "omniroute.localhost"
