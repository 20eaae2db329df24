"""The HTTP server's doors: read deadlines, a connection cap and the open-file limit."""

from __future__ import annotations

import asyncio
import logging
import resource
from enum import Enum
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from omniroute.config import Settings

log = logging.getLogger("uvicorn.error")
# Descriptors kept free for the database, the engine lock, spokes and log files.
RESERVED_FILES = 64


def _answer(status: bytes, code: str, message: str) -> bytes:
    """A whole JSON error answer that closes the connection, for a client not yet in the app."""
    body = b'{"error":{"code":"%s","message":"%s","field":null}}' % (
        code.encode("ascii"),
        message.encode("ascii"),
    )
    head = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\nconnection: close\r\n" % status
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


REQUEST_TIMEOUT = _answer(b"408 Request Timeout", "REQUEST_TIMEOUT", "send the request faster")
HEAD_TOO_LARGE = _answer(
    b"431 Request Header Fields Too Large", "HEADERS_TOO_LARGE", "send smaller headers"
)


class Stage(Enum):
    """What a connection waits for."""

    HEAD = "head"  # a request's head (idle keep-alive included)
    BODY = "body"  # the rest of a request's body
    APP = "app"  # the application's answer: no read deadline


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with deadlines for a request's head and body and a connection cap.

    A connection that has not sent a whole request head within the header timeout (from the
    moment it connected, or its previous answer was sent), or a whole body within the body
    timeout, is closed; so is one whose head grows past the header size limit. When more
    connections are open than the cap, the one waiting longest for a request head is closed,
    so slow or idle clients give way to working ones.
    """

    header_timeout_s: ClassVar[float] = 10.0
    body_timeout_s: ClassVar[float] = 60.0
    max_header_bytes: ClassVar[int] = 64 * 1024
    max_connections: ClassVar[int] = 1000

    _stage: Stage
    _stage_key: tuple[Stage, int]
    _stage_since: float
    _head_bytes: int
    _deadline: asyncio.TimerHandle | None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the head deadline; make room if the cap is reached."""
        super().connection_made(transport)
        self._deadline = None
        self._head_bytes = 0
        self._enter(Stage.HEAD)
        self._enforce_cap()

    def data_received(self, data: bytes) -> None:
        """Parse, then move the deadline if the request reached a new stage."""
        if self._stage is Stage.HEAD:
            self._head_bytes += len(data)
        super().data_received(data)
        if self.transport.get_protocol() is not self:  # upgraded to a WebSocket
            self._cancel()
            return
        self._follow()
        if self._stage is Stage.HEAD and self._head_bytes > self.max_header_bytes:
            self._drop("request head larger than the limit", HEAD_TOO_LARGE)

    def on_response_complete(self) -> None:
        """After an answer the connection waits for the next head."""
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline."""
        self._cancel()
        super().connection_lost(exc)

    def _current(self) -> tuple[Stage, int]:
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return Stage.HEAD, id(cycle)
        return (Stage.BODY if cycle.more_body else Stage.APP), id(cycle)

    def _follow(self) -> None:
        stage, key = self._current()
        if (stage, key) != self._stage_key:
            if stage is Stage.HEAD:
                self._head_bytes = 0
            self._enter(stage, key)

    def _enter(self, stage: Stage, key: int | None = None) -> None:
        self._cancel()
        self._stage = stage
        self._stage_key = (stage, key if key is not None else id(self.cycle))
        self._stage_since = self.loop.time()
        timeout = {Stage.HEAD: self.header_timeout_s, Stage.BODY: self.body_timeout_s}.get(stage)
        if timeout is not None:
            self._deadline = self.loop.call_later(timeout, self._expired)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        # A client that began a request hears why; an idle one is just closed.
        partial = self._stage is Stage.HEAD and self._head_bytes > 0
        why = f"no whole request {self._stage.value} in time"
        self._drop(why, REQUEST_TIMEOUT if partial else b"")

    def _drop(self, why: str, answer: bytes = b"") -> None:
        if self.transport.is_closing():
            return
        log.debug("closing connection from %s: %s", self.client, why)
        if answer:
            self.transport.write(answer)
        self.transport.close()

    def _enforce_cap(self) -> None:
        if len(self.connections) <= self.max_connections:
            return
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttpProtocol) and c._stage is Stage.HEAD and c is not self
        ]
        victim = min(waiting, key=lambda c: c._stage_since, default=self)
        victim._drop("too many connections")


def configure(settings: Settings) -> type[GuardedHttpProtocol]:
    """The protocol class with the settings' limits, the cap fitted to the open-file limit."""
    GuardedHttpProtocol.header_timeout_s = settings.http_header_timeout_s
    GuardedHttpProtocol.body_timeout_s = settings.http_body_timeout_s
    GuardedHttpProtocol.max_header_bytes = settings.http_max_header_bytes
    files = raise_open_file_limit()
    cap = settings.http_max_connections
    if files is not None and cap > files - RESERVED_FILES:
        cap = max(16, files - RESERVED_FILES)
        log.warning(
            "http_max_connections lowered from %d to %d to fit the open-file limit of %d",
            settings.http_max_connections,
            cap,
            files,
        )
    GuardedHttpProtocol.max_connections = cap
    return GuardedHttpProtocol


def raise_open_file_limit() -> int | None:
    """Raise the soft open-file limit to the hard one where allowed; returns the soft limit."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    except (ValueError, OSError):
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft
