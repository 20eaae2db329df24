"""The agent workspace: its page, and the directory its transfer dialog shows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from omniroute.api.assets import page
from omniroute.api.deps import CurrentPrincipal, EngineDep
from omniroute.api.schemas import Out
from omniroute.core.messages import Directory, QueueDepths

router = APIRouter(tags=["workspace"])
pages = APIRouter(include_in_schema=False)

WORKSPACE_PAGE = Path(__file__).resolve().parents[2] / "web" / "workspace" / "index.html"
# Scripts and styles come only from us; the provider's agent panel may be framed from anywhere
# its spoke allows (the panel itself checks origins on every message).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-src http: https:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class DirectoryAgent(Out):
    """A colleague as the transfer dialog shows them."""

    id: str
    name: str
    presence_id: str
    presence_name: str
    available_on: list[str]
    load: dict[str, int]


@router.get("/directory/agents", response_model=list[DirectoryAgent])
async def agent_directory(_who: CurrentPrincipal, engine: EngineDep) -> list[DirectoryAgent]:
    """Every agent with presence and the channels they can take work on now."""
    rows = await engine.query(Directory())
    return [DirectoryAgent.model_validate(r) for r in rows]


class QueueWaiting(Out):
    """A queue and how many items wait in it now."""

    queue_id: str
    name: str
    waiting: int
    oldest_queued_at: datetime | None


@router.get("/directory/queues", response_model=list[QueueWaiting])
async def queues_waiting(_who: CurrentPrincipal, engine: EngineDep) -> list[QueueWaiting]:
    """Every queue with the number of items waiting in it, as last committed."""
    rows = await engine.query(QueueDepths())
    return [
        QueueWaiting(
            queue_id=q.queue_id, name=q.name, waiting=q.depth, oldest_queued_at=q.oldest_queued_at
        )
        for q in rows
    ]


@pages.get("/")
async def home() -> RedirectResponse:
    """The workspace is the home page."""
    return RedirectResponse("/workspace", status_code=307)


@pages.get("/workspace")
async def workspace_page() -> HTMLResponse:
    """The single-page workspace (it signs in through /api/v1/session)."""
    return page(WORKSPACE_PAGE, PAGE_HEADERS)
