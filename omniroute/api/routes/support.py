"""Public pages: the customer case form and the widget's demo shop."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select

from omniroute.api.rate_limits import Door, limit
from omniroute.channels.cases import page
from omniroute.channels.cases.form import (
    KEY_PREFIX,
    file_command,
    is_bot,
    issue_token,
    read_form,
    token_nonce,
)
from omniroute.config import Settings
from omniroute.domain.errors import DomainError, RetryLaterError
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database

log = logging.getLogger(__name__)
router = APIRouter(tags=["pages"], include_in_schema=False)
WEB_ROOT = Path(__file__).resolve().parent.parent.parent / "web"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
BOT_REFERENCE = "received"
# The widget styles its shadow root with a <style> element it builds from its settings.
DEMO_SHOP_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _secret(request: Request) -> str:
    key = _settings(request).secret_key
    assert key is not None, "Settings always has a secret key once validated"
    return key.get_secret_value()


def _queue(request: Request) -> str | None:
    settings = _settings(request)
    return settings.case_form_queue_id or ("cases" if settings.demo else None)


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status, headers=HEADERS)


def _filing(request: Request) -> asyncio.Lock:
    """One submission at a time per app, so that a double click cannot file a form twice."""
    lock: asyncio.Lock | None = getattr(request.app.state, "case_form_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        request.app.state.case_form_lock = lock
    return lock


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


@router.get("/support/case", response_class=HTMLResponse)
async def case_form(request: Request) -> HTMLResponse:
    """The empty case form."""
    if _queue(request) is None:
        return _html(page.unavailable_page(), 503)
    token = issue_token(_secret(request), _engine(request).clock.now())
    return _html(page.form_page(token))


async def _filed_before(request: Request, nonce: str) -> str | None:
    db: Database = request.app.state.db
    async with db.session() as session:
        return await session.scalar(
            select(t.IdempotencyKeyRow.result_id).where(
                t.IdempotencyKeyRow.key == KEY_PREFIX + nonce
            )
        )


@router.post("/support/case", response_class=HTMLResponse)
async def submit_case(request: Request) -> HTMLResponse:
    """File the case, or show the form again with what needs fixing."""
    queue_id = _queue(request)
    if queue_id is None:
        return _html(page.unavailable_page(), 503)
    try:
        await limit(request, Door.CASE_FORM)
    except RetryLaterError as busy:  # a page for the customer, not the API's JSON
        answer = _html(page.busy_page(busy.retry_after_s), 429)
        answer.headers["Retry-After"] = str(busy.retry_after_s)
        return answer
    raw = await request.body()  # bounded by the public body limit (api/body_limits.py)
    data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    now = _now(request)
    fresh = issue_token(_secret(request), now)
    form = read_form(data)
    nonce = token_nonce(_secret(request), data.get("form_token", ""), now)
    if nonce is None:
        notice = "The form had expired. Check your details and send it again."
        return _html(page.form_page(fresh, form, notice), 400)
    if is_bot(data):
        return _html(page.sent_page(BOT_REFERENCE))
    if not form.valid:
        return _html(page.form_page(data.get("form_token", ""), form), 422)
    async with _filing(request):
        reference = await _filed_before(request, nonce)
        if reference is None:
            try:
                doc = await _engine(request).execute(file_command(form, queue_id, nonce))
            except DomainError as err:
                log.warning("case form: the case could not be filed: %s", err.message)
                return _html(page.unavailable_page(), 503)
            reference = doc.id
    return _html(page.sent_page(await _readable(request, reference)))


async def _readable(request: Request, case_id: str) -> str:
    """The case's reference as the customer quotes it (CS-1042)."""
    db: Database = request.app.state.db
    async with db.session() as session:
        number = await session.scalar(select(t.CaseRow.number).where(t.CaseRow.id == case_id))
    return f"CS-{number}" if number is not None else case_id


def _now(request: Request) -> datetime:
    return _engine(request).clock.now()


@router.get("/widget/demo", response_class=FileResponse)
async def widget_demo() -> FileResponse:
    """A demo shop page with the chat widget's one script tag."""
    return FileResponse(
        WEB_ROOT / "widget" / "demo.html", media_type="text/html", headers=DEMO_SHOP_HEADERS
    )
