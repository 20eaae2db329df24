"""Files in chats and email replies: upload, list, download (only for those who see the work)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from omniroute.api.auth import Principal, Role
from omniroute.api.chat_schemas import AttachmentOut, MessageOut
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.rate_limits import RATE_LIMITED_ANSWER, Door, limit
from omniroute.api.visibility import check_visible
from omniroute.auth_tokens import hash_token
from omniroute.channels.chat import transcript
from omniroute.config import Settings
from omniroute.core.chat import message_out
from omniroute.core.messages import PostCustomerMessage
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.services.toolkit import attachments
from omniroute.store import tables as t

router = APIRouter(tags=["attachments"])
CLIENT_ID = r"^[A-Za-z0-9_-]{1,64}$"
FilenameQuery = Annotated[str, Query(min_length=1, max_length=1000)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _read(request: Request, filename: str) -> tuple[str, str, bytes]:
    """The upload's clean name, checked type and bytes, read no further than the limit."""
    settings = _settings(request)
    name = attachments.clean_filename(filename)
    kind = attachments.content_type_of(
        request.headers.get("content-type"), name, settings.allowed_attachment_types
    )
    limit = settings.attachment_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        attachments.check_size(int(declared) or 1, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        attachments.check_size(size or 1, limit)
        chunks.append(chunk)
    attachments.check_size(size, limit)
    return name, kind, b"".join(chunks)


def _download(row: t.AttachmentRow | t.EmailAttachmentRow) -> Response:
    safe = "".join(c for c in row.filename if c.isprintable() and c not in '"\\') or "attachment"
    return Response(
        row.content,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


FILE_REFUSED: dict[int | str, dict[str, Any]] = {
    413: {"description": "PAYLOAD_TOO_LARGE: the file is over OMNIROUTE_ATTACHMENT_MAX_BYTES"},
    415: {"description": "UNSUPPORTED_MEDIA_TYPE: the type is not in OMNIROUTE_ATTACHMENT_TYPES"},
}


@router.post(
    "/interactions/{interaction_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    responses=FILE_REFUSED,
)
async def upload(  # noqa: PLR0917 - FastAPI dependencies
    interaction_id: str,
    filename: FilenameQuery,
    who: CurrentPrincipal,
    session: SessionDep,
    engine: EngineDep,
    request: Request,
) -> AttachmentOut:
    """Store a file (the request body, typed by Content-Type) to send in a chat or email reply."""
    return await _upload(request, who, session, engine, "interaction", interaction_id, filename)


@router.post(
    "/cases/{case_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    responses=FILE_REFUSED,
)
async def upload_to_case(  # noqa: PLR0917 - FastAPI dependencies
    case_id: str,
    filename: FilenameQuery,
    who: CurrentPrincipal,
    session: SessionDep,
    engine: EngineDep,
    request: Request,
) -> AttachmentOut:
    """Store a file (the request body, typed by Content-Type) to send in a case's email reply."""
    return await _upload(request, who, session, engine, "case", case_id, filename)


async def _upload(  # noqa: PLR0917 - the request's parts
    request: Request,
    who: Principal,
    session: SessionDep,
    engine: EngineDep,
    kind: str,
    document_id: str,
    filename: str,
) -> AttachmentOut:
    who.require(Role.AGENT, Role.ADMIN)
    row = await check_visible(session, who, kind, document_id)
    if who.role is Role.AGENT and row.agent_id != who.agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, "only the agent working on it may attach files")
    name, content_type, content = await _read(request, filename)
    stored = await attachments.store(
        session,
        interaction_id=document_id if kind == "interaction" else None,
        case_id=document_id if kind == "case" else None,
        uploaded_by="agent",
        agent_id=who.agent_id,
        filename=name,
        content_type=content_type,
        content=content,
        now=engine.clock.now(),
    )
    return AttachmentOut.model_validate(stored)


@router.get("/interactions/{interaction_id}/attachments", response_model=list[AttachmentOut])
async def list_attachments(
    interaction_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[AttachmentOut]:
    """The interaction's files, oldest first."""
    await check_visible(session, who, "interaction", interaction_id)
    a = t.AttachmentRow
    rows = await session.execute(
        select(a.id, a.filename, a.content_type, a.size)
        .where(a.interaction_id == interaction_id)
        .order_by(a.created_at, a.id)
    )
    return [AttachmentOut.model_validate(r) for r in rows]


@router.get("/attachments/{attachment_id}")
async def download(attachment_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    """Download a file; only for those who may see its interaction or case."""
    row = await session.get(t.AttachmentRow, attachment_id)
    if row is None:
        raise NotFoundError("attachment", attachment_id, "attachment_id")
    if row.case_id is not None:
        await check_visible(session, who, "case", row.case_id)
    else:
        await check_visible(session, who, "interaction", row.interaction_id or "")
    return _download(row)


@router.get("/email-attachments/{attachment_id}")
async def download_email_attachment(
    attachment_id: str, who: CurrentPrincipal, session: SessionDep
) -> Response:
    """Download a file of an email; only for those who may see its interaction or case."""
    row = await session.get(t.EmailAttachmentRow, attachment_id)
    if row is None:
        raise NotFoundError("email attachment", attachment_id, "attachment_id")
    message = await session.get(t.EmailMessageRow, row.message_id)
    if message is not None and message.interaction_id is not None:
        await check_visible(session, who, "interaction", message.interaction_id)
    elif message is not None and message.case_id is not None:
        await check_visible(session, who, "case", message.case_id)
    else:
        who.require(Role.ADMIN)
    return _download(row)


async def _customer_chat(session: SessionDep, session_id: str, authorization: str | None) -> str:
    """The interaction of a chat session whose customer token the request carries."""
    chat = await session.get(t.ChatSessionRow, session_id)
    if chat is None:
        raise NotFoundError("chat session", session_id, "session_id")
    token = (
        (authorization or "")[7:].strip()
        if (authorization or "").lower().startswith("bearer ")
        else ""
    )
    if not token or not hmac.compare_digest(hash_token(token), chat.token_hash):
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "send the chat's token as 'Authorization: Bearer <token>'"
        )
    return chat.interaction_id


@router.post(
    "/chat/sessions/{session_id}/attachments",
    response_model=MessageOut,
    status_code=201,
    responses=FILE_REFUSED | RATE_LIMITED_ANSWER,
)
async def customer_upload(  # noqa: PLR0917 - FastAPI dependencies
    session_id: str,
    filename: FilenameQuery,
    session: SessionDep,
    engine: EngineDep,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    client_id: Annotated[str | None, Query(pattern=CLIENT_ID)] = None,
) -> MessageOut:
    """The customer sends a file: stored, then posted in the chat as a message (public)."""
    interaction_id = await _customer_chat(session, session_id, authorization)
    if client_id is not None:
        m = t.ChatMessageRow
        again = await session.scalar(
            select(m).where(m.interaction_id == interaction_id, m.client_id == client_id)
        )
        if again is not None:
            return MessageOut.model_validate(transcript.stored_message(again))
    # A file is a customer message: it counts against the same limits as a typed one.
    await limit(request, Door.CHAT_MESSAGES, interaction_id)
    await limit(request, Door.CHAT_MESSAGES_PER_IP)
    name, kind, content = await _read(request, filename)
    stored = await attachments.store(
        session,
        interaction_id=interaction_id,
        uploaded_by="customer",
        agent_id=None,
        filename=name,
        content_type=kind,
        content=content,
        now=engine.clock.now(),
    )
    message = await engine.execute(
        PostCustomerMessage(interaction_id, "", client_id, (attachments.ref(stored),))
    )
    return MessageOut.model_validate(message_out(message))


@router.get("/chat/sessions/{session_id}/attachments/{attachment_id}")
async def customer_download(
    session_id: str,
    attachment_id: str,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The customer downloads a file of their own chat (public, with the chat's token)."""
    interaction_id = await _customer_chat(session, session_id, authorization)
    row = await session.get(t.AttachmentRow, attachment_id)
    if row is None or row.interaction_id != interaction_id:
        raise NotFoundError("attachment", attachment_id, "attachment_id")
    return _download(row)
