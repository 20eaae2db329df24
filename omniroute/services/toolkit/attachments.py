"""Files sent in chats and with email replies, stored with their interaction."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.routing import new_id
from omniroute.core.rows import AttachmentRef
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.store import tables as t

UNSAFE = '"\\/\r\n\t'


def clean_filename(raw: str) -> str:
    """The last path part, printable, at most 255 characters; or a VALIDATION_ERROR."""
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = "".join(c for c in name if c.isprintable() and c not in UNSAFE).strip()[:255]
    if not name or name in {".", ".."}:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "give the file a name", "filename")
    return name


def content_type_of(declared: str | None, filename: str, allowed: Sequence[str]) -> str:
    """The file's type (from the request, else its name) if the settings allow it."""
    kind = (declared or "").split(";", 1)[0].strip().lower()
    if not kind or kind == "application/octet-stream":
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if not any(fnmatchcase(kind, pattern) for pattern in allowed):
        raise DomainError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"files of type '{kind}' are not accepted; allowed: {', '.join(allowed)}",
            "content_type",
        )
    return kind


def check_size(size: int, limit: int) -> None:
    """Refuse an empty file or one over the limit."""
    if size == 0:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "the file is empty", "file")
    if size > limit:
        raise DomainError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the file is {size} bytes; the limit is {limit} bytes",
            "file",
        )


async def store(
    session: AsyncSession,
    *,
    interaction_id: str | None = None,
    case_id: str | None = None,
    uploaded_by: str,
    agent_id: str | None,
    filename: str,
    content_type: str,
    content: bytes,
    now: datetime,
) -> t.AttachmentRow:
    """Store a file with its interaction or case (committed before any message refers to it)."""
    row = t.AttachmentRow(
        id=new_id(),
        interaction_id=interaction_id,
        case_id=case_id,
        uploaded_by=uploaded_by,
        agent_id=agent_id,
        filename=filename,
        content_type=content_type,
        size=len(content),
        content=content,
        created_at=now,
    )
    session.add(row)
    await session.commit()
    return row


def ref(row: t.AttachmentRow) -> AttachmentRef:
    """What a message says about a stored file."""
    return AttachmentRef(row.id, row.filename, row.content_type, row.size)


async def refs(
    session: AsyncSession, document_id: str, ids: Sequence[str], *, case: bool = False
) -> tuple[AttachmentRef, ...]:
    """The named files of this interaction (or case), in the order given; NOT_FOUND for any
    other id."""
    if not ids:
        return ()
    a = t.AttachmentRow
    owner = a.case_id if case else a.interaction_id
    rows = await session.execute(
        select(a.id, a.filename, a.content_type, a.size).where(
            a.id.in_(list(ids)), owner == document_id
        )
    )
    found = {r.id: AttachmentRef(r.id, r.filename, r.content_type, r.size) for r in rows}
    for attachment_id in ids:
        if attachment_id not in found:
            raise NotFoundError("attachment", attachment_id, "attachment_ids")
    return tuple(found[i] for i in dict.fromkeys(ids))


async def contents(session: AsyncSession, ids: Sequence[str]) -> list[t.AttachmentRow]:
    """The stored files with their bytes, in the order given."""
    if not ids:
        return []
    rows = await session.scalars(select(t.AttachmentRow).where(t.AttachmentRow.id.in_(list(ids))))
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
