"""The supervisor view: the overview, its live feed, service-level settings and the page."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, TypeAdapter
from starlette.datastructures import State

from omniroute.api.assets import page
from omniroute.api.auth import Principal, Role
from omniroute.api.deps import CurrentPrincipal, DbDep, EngineDep
from omniroute.api.routes.feed import authenticate_socket, close_when_ended, until_disconnect
from omniroute.api.schemas import Body
from omniroute.api.sessions import SessionStore
from omniroute.api.socket_tasks import until_first
from omniroute.cluster.node import ClusterNode
from omniroute.domain.errors import DomainError
from omniroute.engine.engine import Engine
from omniroute.services.supervisor import settings
from omniroute.services.supervisor.feed import OverviewFeed, Subscription
from omniroute.services.supervisor.overview import Overview, build_overview

router = APIRouter(tags=["supervisor"])
page_router = APIRouter(tags=["supervisor"])
POLICY_VIOLATION = 1008
SUPERVISING = (Role.ADMIN, Role.SUPERVISOR)
_OVERVIEW = TypeAdapter(Overview)
PAGE = Path(__file__).resolve().parents[2] / "web" / "supervisor" / "index.html"


async def get_supervisor(principal: CurrentPrincipal) -> Principal:
    """An authenticated administrator or supervisor."""
    principal.require(*SUPERVISING)
    return principal


SupervisorPrincipal = Annotated[Principal, Depends(get_supervisor)]


class ServiceLevelIn(Body):
    """A queue's service-level threshold."""

    threshold_s: int = Field(ge=1, le=86_400, description="Seconds within which to accept")


class ServiceLevelOut(BaseModel):
    """A queue's stored service-level threshold."""

    queue_id: str
    threshold_s: int


@router.get("/supervisor/overview", response_model=Overview)
async def overview(_who: SupervisorPrincipal, engine: EngineDep, db: DbDep) -> Overview:
    """Queues, agents and the last hour, per minute; all times UTC."""
    return await build_overview(engine, db)


@router.put("/supervisor/queues/{queue_id}/service-level", response_model=ServiceLevelOut)
async def put_service_level(
    queue_id: str, body: ServiceLevelIn, _who: SupervisorPrincipal, engine: EngineDep, db: DbDep
) -> ServiceLevelOut:
    """Set the seconds within which a queue's items must be accepted to meet service level."""
    async with db.session() as session, session.begin():
        await settings.set_threshold(session, queue_id, body.threshold_s, engine.clock.now())
    return ServiceLevelOut(queue_id=queue_id, threshold_s=body.threshold_s)


def overview_frame(value: Overview) -> dict[str, Any]:
    """The JSON frame that carries one overview."""
    return {"type": "overview", "data": _OVERVIEW.dump_python(value, mode="json")}


def _feed(state: State, engine: Engine) -> OverviewFeed:
    feed: OverviewFeed | None = getattr(state, "supervisor_feed", None)
    if feed is None:
        feed = OverviewFeed(engine, state.db)
        node: ClusterNode | None = state.cluster
        if node is not None:
            # The leader's commits, followed here: the view is as live on every node.
            node.follower.routing_listeners.append(feed.changed)
        state.supervisor_feed = feed
    return feed


async def _authenticate(ws: WebSocket) -> Principal:
    principal = await authenticate_socket(ws)
    principal.require(*SUPERVISING)
    return principal


async def _pump(ws: WebSocket, sub: Subscription) -> None:
    while True:
        await ws.send_json(overview_frame(await sub.next()))


@router.websocket("/supervisor/feed")
async def feed(ws: WebSocket) -> None:
    """Sends the overview on connect, then a fresh one after changes (at most ~1 per second)."""
    try:
        principal = await _authenticate(ws)
    except DomainError as err:
        await ws.accept()
        await ws.close(code=POLICY_VIOLATION, reason=err.code.value)
        return
    await ws.accept()
    engine: Engine = ws.app.state.engine
    live = _feed(ws.app.state, engine)
    sub = live.subscribe()
    sessions: SessionStore = ws.app.state.sessions
    try:
        await ws.send_json(overview_frame(await build_overview(engine, ws.app.state.db)))
        with sessions.watching(principal) as ended:
            await _serve(ws, sub, ended)
    except (WebSocketDisconnect, DomainError):
        pass
    finally:
        await live.unsubscribe(sub)
        with contextlib.suppress(Exception):
            await ws.close()


async def _serve(ws: WebSocket, sub: Subscription, ended: asyncio.Event) -> None:
    """Push overviews until the client leaves or its session ends."""
    await until_first(_pump(ws, sub), until_disconnect(ws), close_when_ended(ws, ended))


@page_router.get("/supervisor", include_in_schema=False)
async def supervisor_page() -> HTMLResponse:
    """The supervisor view's page."""
    return page(PAGE)
