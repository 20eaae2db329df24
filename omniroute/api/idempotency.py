"""Idempotency-Key on every mutating endpoint: a retry gets the first answer, not a second change.

The response to a POST, PUT, PATCH or DELETE sent with an `Idempotency-Key` header is stored
with the key (scoped to the caller, the method and the path) and replayed to a retry with the
same body; a retry with another body is refused. While the request runs, its engine commands
carry keys derived from it (`omniroute/engine/request_keys.py`), so a retry after the node or
the leader died mid-request does not run a command twice even though no answer was stored.
A request reserves its key before it runs (a row with status 0), so a retry that arrives while
the first still runs, on any node, waits for its answer instead of running it a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime

import orjson
from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniroute.api.errors import STATUS, error_body
from omniroute.domain.errors import ErrorCode
from omniroute.engine.request_keys import open_scope
from omniroute.store import tables as t
from omniroute.store.db import Database

HEADER = "idempotency-key"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 200
# These keep their own keys with their own answers (a repeat answers 200 with the first offer).
SELF_KEYED = frozenset({"/api/v1/work-offers"})
REPLAYED_HEADER = (b"idempotent-replayed", b"true")
# The status of a reserved key whose request still runs.
RUNNING = 0
POLL_S = 0.1


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


class IdempotencyKeys:
    """ASGI middleware that stores and replays the answers of keyed mutating requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Replay a stored answer, or serve the request and store its answer."""
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get(HEADER)
        if given is None or scope["path"] in SELF_KEYED:
            await self.app(scope, receive, send)
            return
        if not given or len(given) > MAX_KEY_LENGTH or not given.isprintable():
            await _refuse(
                send,
                ErrorCode.VALIDATION_ERROR,
                "Idempotency-Key must be 1-200 printable characters",
                "Idempotency-Key",
            )
            return
        body, more = await _read_body(receive)
        # Anonymous callers (a customer starting a chat) are told apart by their address.
        client = scope.get("client")
        anonymous = f"address {client[0] if client else ''}"
        caller = (headers.get("authorization") or headers.get("cookie") or anonymous).encode()
        key = _digest(caller, scope["method"].encode(), scope["path"].encode(), given.encode())
        request_hash = _digest(scope.get("query_string", b""), body)
        db: Database = scope["app"].state.db
        settings = scope["app"].state.settings
        stale_s: float = settings.idempotency_stale_s
        stored = await _reserve(db, key, request_hash, settings.idempotency_wait_s, stale_s)
        if stored is not None:
            if stored.request_hash != request_hash:
                await _refuse(
                    send,
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used with another request; use a new key",
                    "Idempotency-Key",
                )
            elif stored.status == RUNNING:
                await _refuse(
                    send,
                    ErrorCode.CONFLICT,
                    "a request with this Idempotency-Key is still running; retry it later",
                    "Idempotency-Key",
                )
            else:
                await _replay(send, stored)
            return
        open_scope(key)
        captured = _Captured(send)
        keeper = asyncio.create_task(_keep_reserved(db, key, stale_s / 5))
        try:
            await self.app(scope, _replaying(body, more, receive), captured.send)
        finally:
            keeper.cancel()
            await asyncio.shield(_finish(db, key, captured))


async def _reserve(
    db: Database, key: str, request_hash: str, wait_s: float, stale_s: float
) -> t.RequestKeyRow | None:
    """None once this request holds the key; else the stored answer, a mismatch, or RUNNING.

    A key whose request runs is waited for up to `wait_s`. A running request refreshes its
    reservation every `stale_s / 5`; one we saw unchanged for `stale_s` (by our own clock, so
    that nodes' clocks do not matter) was left by a node that died, and is taken over.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    make = pg_insert if db.dialect == "postgresql" else sqlite_insert
    seen: tuple[datetime, float] | None = None
    while True:
        async with db.session() as session, session.begin():
            reserved = await session.execute(
                make(t.RequestKeyRow)
                .values(
                    key=key,
                    request_hash=request_hash,
                    status=RUNNING,
                    content_type="",
                    body=b"",
                    created_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )
            if _changed(reserved):
                return None
            stored = await session.get(t.RequestKeyRow, key)
            if stored is None:
                continue  # its request failed and let the key go meanwhile
            if stored.status != RUNNING or stored.request_hash != request_hash:
                return stored
            if seen is None or seen[0] != stored.created_at:
                seen = (stored.created_at, loop.time())
            elif loop.time() - seen[1] >= stale_s:
                taken = await session.execute(
                    update(t.RequestKeyRow)
                    .where(
                        t.RequestKeyRow.key == key,
                        t.RequestKeyRow.status == RUNNING,
                        t.RequestKeyRow.created_at == stored.created_at,
                    )
                    .values(created_at=datetime.now(UTC))
                )
                if _changed(taken):
                    return None
        if loop.time() >= deadline:
            return stored
        await asyncio.sleep(POLL_S)


async def _keep_reserved(db: Database, key: str, every_s: float) -> None:
    """Refresh a running request's reservation, so that no retry takes it as abandoned."""
    while True:
        await asyncio.sleep(every_s)
        # A refresh the store missed is made up by the next one.
        with contextlib.suppress(SQLAlchemyError, OSError):
            async with db.session() as session, session.begin():
                await session.execute(
                    update(t.RequestKeyRow)
                    .where(t.RequestKeyRow.key == key, t.RequestKeyRow.status == RUNNING)
                    .values(created_at=datetime.now(UTC))
                )


def _changed(result: object) -> bool:
    """Whether a statement wrote its row (SQLAlchemy's Result types do not show `rowcount`)."""
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def _finish(db: Database, key: str, captured: _Captured) -> None:
    """Store the answer with its key; a failure (5xx, none) or a "retry later" lets the key go,
    so that the retry the answer asks for runs."""
    async with db.session() as session, session.begin():
        if captured.status is not None and captured.status < 500 and captured.status != 429:
            await session.execute(
                update(t.RequestKeyRow)
                .where(t.RequestKeyRow.key == key)
                .values(
                    status=captured.status,
                    content_type=captured.content_type[:200],
                    body=b"".join(captured.chunks),
                )
            )
        else:
            await session.execute(delete(t.RequestKeyRow).where(t.RequestKeyRow.key == key))


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent and complete:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class _Captured:
    """Passes the response on while keeping a copy of it."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.content_type = "application/json"
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.content_type = Headers(raw=message.get("headers", [])).get(
                "content-type", self.content_type
            )
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self._send(message)


async def _replay(send: Send, stored: t.RequestKeyRow) -> None:
    headers = [(b"content-type", stored.content_type.encode()), REPLAYED_HEADER]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


async def _refuse(send: Send, code: ErrorCode, message: str, field: str) -> None:
    body = orjson.dumps(error_body(code, message, field))
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": STATUS[code], "headers": headers})
    await send({"type": "http.response.body", "body": body})
