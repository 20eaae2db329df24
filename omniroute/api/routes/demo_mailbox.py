"""The demo mailbox pages: only while demo mode's catch-all relay runs."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import aiosmtplib
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from omniroute.channels.email import mailbox_page
from omniroute.channels.email.demo_mailbox import DemoMailbox
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError

log = logging.getLogger(__name__)
router = APIRouter(tags=["pages"], include_in_schema=False)
REPLY_BYTES_LIMIT = 64 * 1024
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _mailbox(request: Request) -> DemoMailbox:
    mailbox: DemoMailbox | None = getattr(request.app.state, "demo_mailbox", None)
    if mailbox is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, "the demo mailbox runs only with `omniroute serve --demo`"
        )
    return mailbox


@router.get("/demo/mailbox", response_class=HTMLResponse)
async def mailbox(request: Request, sent: str = "") -> HTMLResponse:
    """Every message Omniroute sent in demo mode, newest first."""
    box = _mailbox(request)
    limit = request.app.state.settings.demo_mailbox_limit
    notice = "Your answer was sent to Omniroute." if sent else ""
    return HTMLResponse(
        mailbox_page.list_page(box.letters(limit), str(box.folder), notice), headers=HEADERS
    )


@router.get("/demo/mailbox/{name}", response_class=HTMLResponse)
async def letter(name: str, request: Request) -> HTMLResponse:
    """One caught message with a form to answer it as the customer."""
    found = _mailbox(request).letter(name)
    if found is None:
        raise NotFoundError("message", name, "name")
    return HTMLResponse(mailbox_page.letter_page(found), headers=HEADERS)


@router.post("/demo/mailbox/{name}/reply", response_model=None)
async def reply(name: str, request: Request) -> HTMLResponse | RedirectResponse:
    """Send the customer's answer to Omniroute's SMTP listener, threaded to the message."""
    box = _mailbox(request)
    found = box.letter(name)
    if found is None:
        raise NotFoundError("message", name, "name")
    raw = (await request.body())[:REPLY_BYTES_LIMIT].decode("utf-8", "replace")
    body = dict(parse_qsl(raw)).get("body", "").strip()
    if not body:
        page = mailbox_page.letter_page(found, "Write an answer before sending.")
        return HTMLResponse(page, status_code=422, headers=HEADERS)
    try:
        await box.reply_as_customer(found, body)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
        log.warning("demo mailbox answer not delivered: %s", err)
        page = mailbox_page.letter_page(found, f"Omniroute did not take the answer: {err}")
        return HTMLResponse(page, status_code=502, headers=HEADERS)
    return RedirectResponse("/demo/mailbox?sent=1", status_code=303)
