"""The email channel: agent replies, the thread of an interaction, attachments."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from omniroute.api.auth import Principal, Role
from omniroute.api.deps import CurrentPrincipal, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.api.visibility import check_visible
from omniroute.channels.email import outbound
from omniroute.config import Settings
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.engine.engine import Engine
from omniroute.services.toolkit import attachments
from omniroute.store import tables as t

router = APIRouter(tags=["email"])
RELAY_FAILED = "EMAIL_RELAY_FAILED"


class EmailReplyIn(Body):
    """An agent's reply to the customer."""

    body: str = Field(min_length=1, max_length=1_000_000)
    html: str | None = Field(None, max_length=2_000_000)
    attachment_ids: list[str] = Field(default_factory=list, max_length=10)


class EmailAttachmentOut(Out):
    """An attachment's metadata."""

    id: str
    filename: str
    content_type: str
    size: int


class EmailMessageOut(Out):
    """One message of a thread."""

    id: str
    direction: str
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_address: str
    to_addresses: list[str]
    text_body: str | None
    html_body: str | None
    raw_size: int
    interaction_id: str | None
    case_id: str | None
    status: str
    reject_reason: str | None
    error: str | None
    attempts: int
    received_at: datetime
    sent_at: datetime | None
    attachments: list[EmailAttachmentOut] = Field(default_factory=list)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _now(request: Request) -> datetime:
    engine: Engine = request.app.state.engine
    return engine.clock.now()


def _check_sender(who: Principal, interaction: t.InteractionRow) -> None:
    if who.role is Role.ADMIN:
        return
    if who.role is Role.AGENT and who.agent_id and interaction.agent_id == who.agent_id:
        return
    raise DomainError(
        ErrorCode.FORBIDDEN, "only the agent assigned to the interaction, or an admin, may reply"
    )


async def _interaction_row(session: SessionDep, interaction_id: str) -> t.InteractionRow:
    row = await session.get(t.InteractionRow, interaction_id, populate_existing=True)
    if row is None:
        raise NotFoundError("interaction", interaction_id, "interaction_id")
    return row


def _out(row: t.EmailMessageRow, attachments: list[t.EmailAttachmentRow]) -> EmailMessageOut:
    out = EmailMessageOut.model_validate(row)
    out.attachments = [EmailAttachmentOut.model_validate(a) for a in attachments]
    return out


def _relay_failed(row: t.EmailMessageRow) -> JSONResponse:
    message = f"the SMTP relay did not take the message: {row.error}"
    error = {"code": RELAY_FAILED, "message": message, "field": None, "email_message_id": row.id}
    return JSONResponse({"error": error}, 502)


async def deliver_reply(
    request: Request, session: SessionDep, row: t.EmailMessageRow
) -> EmailMessageOut | JSONResponse:
    try:
        await outbound.deliver(session, settings_of(request), row, _now(request))
    except outbound.RelayError:
        return _relay_failed(row)
    return _out(row, [])


@router.post(
    "/interactions/{interaction_id}/email-replies",
    response_model=EmailMessageOut,
    status_code=201,
    responses={502: {"description": "the relay failed; the message is stored as failed"}},
)
async def send_reply(
    interaction_id: str,
    body: EmailReplyIn,
    who: CurrentPrincipal,
    session: SessionDep,
    request: Request,
) -> EmailMessageOut | JSONResponse:
    """Reply to the customer by email through the relay, threaded to their last message."""
    interaction = await _interaction_row(session, interaction_id)
    _check_sender(who, interaction)
    refs = await attachments.refs(session, interaction.id, body.attachment_ids)
    thread = outbound.Thread(
        interaction.id, interaction.case_id, interaction.customer_email, interaction.subject
    )
    row = await outbound.create_reply(
        session,
        settings_of(request),
        thread,
        body=body.body,
        html=body.html,
        now=_now(request),
        files=await attachments.contents(session, [r.id for r in refs]),
    )
    return await deliver_reply(request, session, row)


@router.post(
    "/email-messages/{message_id}/retry",
    response_model=EmailMessageOut,
    responses={502: {"description": "the relay failed again"}},
)
async def retry_message(
    message_id: str, who: CurrentPrincipal, session: SessionDep, request: Request
) -> EmailMessageOut | JSONResponse:
    """Send a failed outbound message again (same Message-ID)."""
    row = await session.get(t.EmailMessageRow, message_id)
    if row is None:
        raise NotFoundError("email message", message_id, "message_id")
    if row.interaction_id is not None:
        _check_sender(who, await _interaction_row(session, row.interaction_id))
    else:
        who.require(Role.ADMIN)
    if row.direction != "out" or row.status != outbound.FAILED:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"only a failed outbound message can be retried; this one is '{row.status}'",
        )
    return await deliver_reply(request, session, row)


@router.get("/interactions/{interaction_id}/emails", response_model=list[EmailMessageOut])
async def list_emails(
    interaction_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[EmailMessageOut]:
    """The email thread of an interaction, oldest first (whoever may see the interaction)."""
    await check_visible(session, who, "interaction", interaction_id)
    m = t.EmailMessageRow
    rows = list(
        await session.scalars(
            select(m).where(m.interaction_id == interaction_id).order_by(m.received_at, m.id)
        )
    )
    return await thread_out(session, rows)


async def thread_out(session: SessionDep, rows: list[t.EmailMessageRow]) -> list[EmailMessageOut]:
    """Messages as the API shows them, with their attachments' metadata."""
    a = t.EmailAttachmentRow
    ids = [r.id for r in rows]
    found = await session.execute(
        select(a.id, a.message_id, a.filename, a.content_type, a.size)
        .where(a.message_id.in_(ids))
        .order_by(a.id)
    )
    by_message: dict[str, list[EmailAttachmentOut]] = {}
    for att_id, msg_id, filename, content_type, size in found:
        by_message.setdefault(msg_id, []).append(
            EmailAttachmentOut(id=att_id, filename=filename, content_type=content_type, size=size)
        )
    out = []
    for row in rows:
        item = _out(row, [])
        item.attachments = by_message.get(row.id, [])
        out.append(item)
    return out
