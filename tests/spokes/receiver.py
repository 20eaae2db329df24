"""A real HTTP endpoint on 127.0.0.1 that records requests and answers as a test scripts it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer; `hang` holds the request until the receiver stops."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False

    def content(self) -> bytes:
        """The body as bytes; dicts and lists become JSON."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An ASGI app: replies are scripted per `METHOD /path` or `METHOD /path?query`."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Seen] = []
        self.release = asyncio.Event()
        self._script: dict[str, list[Reply]] = {}

    def on(self, method: str, target: str, *replies: Reply) -> None:
        """Answer the next requests with these replies in turn; the last one repeats."""
        self._script[f"{method} {target}"] = list(replies)

    def _next_reply(self, method: str, path: str, query: str) -> Reply:
        for key in (f"{method} {path}?{query}", f"{method} {path}"):
            replies = self._script.get(key)
            if replies:
                return replies.pop(0) if len(replies) > 1 else replies[0]
        return Reply(404, {"error": f"nothing scripted for {method} {path}"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Record the request, then answer it."""
        request = Request(scope, receive)
        body = await request.body()
        query = request.url.query
        self.requests.append(
            Seen(request.method, request.url.path, query, dict(request.headers), body)
        )
        reply = self._next_reply(request.method, request.url.path, query)
        if reply.hang:
            await self.release.wait()
        response = Response(reply.content(), reply.status, reply.headers, "application/json")
        await response(scope, receive, send)


@asynccontextmanager
async def running(receiver: Receiver) -> AsyncIterator[Receiver]:
    """Serve the receiver with uvicorn in this event loop on a socket that already listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # Listening before uvicorn starts means early connections wait in the backlog: no polling.
    sock.listen(64)
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        receiver, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
