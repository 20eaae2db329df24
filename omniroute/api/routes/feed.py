"""The agent's live feed over WebSocket: a snapshot or a replay, then committed events."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from omniroute.api.auth import Principal, Role, TokenCache
from omniroute.api.bounds import parse_since
from omniroute.api.deps import bearer_token, get_web_session
from omniroute.api.rate_limits import Door, limit
from omniroute.api.schemas import OfferOut
from omniroute.api.sessions import COOKIE_NAME, SessionStore
from omniroute.core.messages import FeedSnapshot
from omniroute.core.views import FeedHello
from omniroute.domain.errors import DomainError, ErrorCode, RetryLaterError
from omniroute.engine.bus import Subscription
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database

router = APIRouter(tags=["feed"])
POLICY_VIOLATION = 1008
SESSION_ENDED = "SESSION_ENDED"
FEED_PATH = re.compile(r"/api/v1/agents/(?P<agent_id>[^/]+)/feed")


def _hello(hello: FeedHello) -> dict[str, Any]:
    return {
        "type": "hello",
        "seq": hello.seq,
        "data": {
            "agent_id": hello.agent_id,
            "presence_id": hello.presence_id,
            "channel_available": hello.channel_available,
            "load": hello.load,
            "offers": [OfferOut.model_validate(o).model_dump(mode="json") for o in hello.offers],
        },
    }


async def authenticate_socket(ws: WebSocket) -> Principal:
    """A WebSocket's caller: a bearer token (header or ?token=), or a same-origin session."""
    header = ws.headers.get("authorization")
    token = bearer_token(header) if header else ws.query_params.get("token", "")
    if not token and ws.cookies.get(COOKIE_NAME):
        # Browsers send cookies on cross-site WebSocket handshakes: only our own pages may.
        origin = ws.headers.get("origin", "")
        if urlsplit(origin).netloc != ws.headers.get("host", ""):
            raise DomainError(ErrorCode.FORBIDDEN, "cross-origin WebSocket refused")
        return (await get_web_session(ws)).principal
    tokens: TokenCache = ws.app.state.tokens
    return await tokens.principal(token)


async def _authenticate(ws: WebSocket, agent_id: str) -> Principal:
    principal = await authenticate_socket(ws)
    principal.require_agent_or(agent_id, Role.ADMIN)
    return principal


async def _replay(db: Database, agent_id: str, since: int) -> list[dict[str, Any]]:
    ev = t.AgentEventRow
    async with db.session() as session:
        rows = await session.scalars(
            select(ev).where(ev.agent_id == agent_id, ev.seq > since).order_by(ev.seq)
        )
        return [
            {"seq": r.seq, "type": r.type, "at": r.created_at.isoformat(), "data": r.payload}
            for r in rows
        ]


async def _pump(ws: WebSocket, sub: Subscription, last: int) -> None:
    """Send the subscription's events newer than `last` until it overflows or ends."""
    while frames := await sub.take():
        for item in frames:
            if item.seq > last:
                await ws.send_json(item.body)
                last = item.seq
    if sub.overflowed:
        await ws.close(code=1013, reason="feed overflow; reconnect with since")
    else:
        await ws.close(code=POLICY_VIOLATION, reason=SESSION_ENDED)


async def until_disconnect(ws: WebSocket) -> None:
    """Return once the client has gone; feeds take no frames, so one that keeps sending is shut."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        try:
            await limit(ws, Door.FEED_FRAMES, f"socket:{id(ws)}")
        except RetryLaterError:
            await ws.close(code=POLICY_VIOLATION, reason="RATE_LIMITED: a feed takes no frames")
            return


async def close_when_ended(ws: WebSocket, ended: asyncio.Event) -> None:
    """Close the socket as soon as the session that opened it ends."""
    await ended.wait()
    await ws.close(code=POLICY_VIOLATION, reason=SESSION_ENDED)


@router.websocket("/agents/{agent_id}/feed")
async def feed(ws: WebSocket, agent_id: str) -> None:
    """Pushes the agent's events; `?since=SEQ` replays what a reconnecting client missed."""
    engine: Engine = ws.app.state.engine
    try:
        principal = await _authenticate(ws, agent_id)
    except DomainError as err:
        # Accept first so that the client sees the close code, not a bare HTTP 403.
        await ws.accept()
        await ws.close(code=POLICY_VIOLATION, reason=err.code.value)
        return
    await ws.accept()
    since_raw = ws.query_params.get("since")
    try:
        since = None if not since_raw else parse_since(since_raw)
    except ValueError as err:
        await ws.close(code=POLICY_VIOLATION, reason=str(err))
        return
    sub = engine.bus.subscribe(agent_id)
    sessions: SessionStore = ws.app.state.sessions
    with sessions.watch(principal, sub):
        await _serve_feed(ws, engine, sub, agent_id, since)


async def _serve_feed(
    ws: WebSocket, engine: Engine, sub: Subscription, agent_id: str, since: int | None
) -> None:
    try:
        if since is not None:
            last = since
            replayed = await _replay(ws.app.state.db, agent_id, last)
            for item in replayed:
                await ws.send_json(item)
                last = item["seq"]
            # Marks the end of the replay, so a client can tell what it missed from what is new.
            await ws.send_json(
                {"type": "resumed", "seq": last, "data": {"replayed": len(replayed)}}
            )
        else:
            try:
                hello = _hello(await engine.query(FeedSnapshot(agent_id)))
            except DomainError as err:
                await ws.close(code=POLICY_VIOLATION, reason=err.code.value)
                return
            await ws.send_json(hello)
            last = hello["seq"]
        # Watch for the client leaving, or a silent feed would hold its subscription forever.
        # One task besides the socket's own: thousands of idle feeds must stay small.
        pump = asyncio.create_task(_pump(ws, sub, last))
        try:
            await until_disconnect(ws)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await pump
    except WebSocketDisconnect:
        pass
    finally:
        engine.bus.unsubscribe(sub)
        with contextlib.suppress(Exception):
            await ws.close()


class FeedSockets:
    """Agent feed sockets go straight to `feed`, past the HTTP layers and the router.

    Every layer an ASGI call passes stays on the stack for as long as the socket is open; for
    thousands of idle feeds on one node those frames and exit stacks were most of their memory.
    The HTTP layers do nothing for WebSockets; the request guard stays outside this one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a feed socket here; pass everything else on."""
        if scope["type"] == "websocket":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            match = FEED_PATH.fullmatch(path.removeprefix(root) if root else path)
            if match is not None:
                await feed(WebSocket(scope, receive, send), match["agent_id"])
                return
        await self.app(scope, receive, send)
