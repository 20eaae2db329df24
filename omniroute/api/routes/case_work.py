"""Working a case: status and priority, email replies from the case, the closing notice."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from omniroute.api.auth import Principal, Role
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.routes.email import (
    EmailMessageOut,
    EmailReplyIn,
    deliver_reply,
    settings_of,
    thread_out,
)
from omniroute.api.schemas import Body, CaseOut
from omniroute.api.visibility import check_visible
from omniroute.channels.email import outbound
from omniroute.core.messages import UpdateCase
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.model import CasePriority, CaseStatus
from omniroute.services.toolkit import attachments
from omniroute.store import tables as t

router = APIRouter(tags=["cases"])


class CasePatch(Body):
    """What to change on a case."""

    status: CaseStatus | None = None
    priority: CasePriority | None = None


class CaseReplyIn(EmailReplyIn):
    """An email to the case's customer."""

    body: str = Field(min_length=1, max_length=1_000_000)


def _check_worker(who: Principal, row: t.CaseRow) -> None:
    if who.role is Role.ADMIN:
        return
    if who.role is Role.AGENT and row.agent_id == who.agent_id:
        return
    raise DomainError(ErrorCode.FORBIDDEN, "only the agent working on the case, or an admin")


def case_thread(row: t.CaseRow) -> outbound.Thread:
    """Mail about a case: threaded to the customer's last email of it."""
    return outbound.Thread(
        None, row.id, row.customer_email, f"[CS-{row.number}] {row.subject}".strip()
    )


@router.patch("/cases/{case_id}", response_model=CaseOut)
async def update_case(
    case_id: str, body: CasePatch, who: CurrentPrincipal, engine: EngineDep, session: SessionDep
) -> CaseOut:
    """Change the case's status or priority (the agent working on it, a supervisor, an admin)."""
    row = await check_visible(session, who, "case", case_id)
    agent_id = None if who.role is Role.ADMIN or who.supervisor else who.acting_agent()
    if who.role is Role.INTEGRATION:
        raise DomainError(ErrorCode.FORBIDDEN, "integrations do not work cases")
    await engine.execute(
        UpdateCase(
            row.id,
            agent_id,
            body.status.value if body.status else None,
            body.priority.value if body.priority else None,
        )
    )
    fresh = await session.get(t.CaseRow, row.id, populate_existing=True)
    return CaseOut.model_validate(fresh)


@router.post(
    "/cases/{case_id}/email-replies",
    response_model=EmailMessageOut,
    status_code=201,
    responses={502: {"description": "the relay failed; the message is stored as failed"}},
)
async def reply_to_case(
    case_id: str, body: CaseReplyIn, who: CurrentPrincipal, session: SessionDep, request: Request
) -> EmailMessageOut | JSONResponse:
    """Email the case's customer, threaded to their last email about it."""
    row = await check_visible(session, who, "case", case_id)
    assert isinstance(row, t.CaseRow)
    _check_worker(who, row)
    if row.closed_at is not None:
        raise DomainError(ErrorCode.DOCUMENT_NOT_ACTIVE, "the case is closed", "case_id")
    refs = await attachments.refs(session, row.id, body.attachment_ids, case=True)
    message = await outbound.create_reply(
        session,
        settings_of(request),
        case_thread(row),
        body=body.body,
        html=body.html,
        now=request.app.state.engine.clock.now(),
        files=await attachments.contents(session, [r.id for r in refs]),
    )
    return await deliver_reply(request, session, message)


@router.get("/cases/{case_id}/emails", response_model=list[EmailMessageOut])
async def case_emails(
    case_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[EmailMessageOut]:
    """Every email of the case (and of its interactions), oldest first."""
    await check_visible(session, who, "case", case_id)
    m = t.EmailMessageRow
    rows = list(
        await session.scalars(select(m).where(m.case_id == case_id).order_by(m.received_at, m.id))
    )
    return await thread_out(session, rows)


async def send_closing_notice(request: Request, session: SessionDep, case_id: str) -> None:
    """Tell the customer their case is closed (a failure stays visible in the case's emails)."""
    row = await session.get(t.CaseRow, case_id, populate_existing=True)
    if row is None or not row.customer_email:
        return
    resolution = f"\n\nResolution:\n{row.resolution}" if row.resolution else ""
    body = (
        f"Hello {row.customer_name or 'there'},\n\n"
        f"your case CS-{row.number} ({row.subject or 'no subject'}) is now closed.{resolution}\n\n"
        "If you need more help, reply to this email.\n"
    )
    message = await outbound.create_reply(
        session,
        settings_of(request),
        case_thread(row),
        body=body,
        html=None,
        now=request.app.state.engine.clock.now(),
        subject=f"Your case CS-{row.number} is closed",
    )
    await deliver_reply(request, session, message)
