"""The outermost ASGI layer: a request id on every answer, and a JSON 500 for any crash."""

from __future__ import annotations

import logging
import re
import uuid
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniroute.domain.errors import ErrorCode

log = logging.getLogger("omniroute.api")
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own request id is kept only when it cannot forge log lines.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CLOSE_INTERNAL_ERROR = 1011
CLOSE_POLICY = 1008


def request_id(scope: Scope) -> str:
    """The id of this request (set by RequestGuard), or a new one."""
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if not isinstance(rid, str):
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        rid = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        state["request_id"] = rid
    return rid


def internal_error_body(rid: str) -> bytes:
    """The JSON error body of an unexpected failure, naming the request id."""
    message = f"an unexpected error occurred; nothing was changed. Quote request id {rid}"
    error = {"code": ErrorCode.INTERNAL_ERROR.value, "message": message, "field": None}
    return orjson.dumps({"error": error | {"request_id": rid}})


def log_crash(scope: Scope, exc: BaseException) -> None:
    """Log the traceback once per request, with its id."""
    state = scope.setdefault("state", {})
    if state.get("crash_logged"):
        return
    state["crash_logged"] = True
    method = scope.get("method", "WS")
    log.error(
        "unhandled error in %s %s (request id %s)",
        method,
        scope.get("path", ""),
        request_id(scope),
        exc_info=exc,
    )


class RequestGuard:
    """Gives each request an id and turns any exception that escapes the app into an answer.

    It sits outside Starlette's own error middleware, which re-raises after answering; letting
    that reach the server would close a keep-alive connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer 500 (HTTP) or close 1011 (WebSocket) if it crashes."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        field = _nul_field(scope)
        if field is not None:
            await _refuse_nul(scope, send, field, rid)
            return
        started = False
        closed = False

        async def tagged(message: Message) -> None:
            nonlocal started, closed
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            elif message["type"] == "websocket.close":
                closed = True
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: answer, log, go on
            log_crash(scope, exc)
            if scope["type"] == "http" and not started:
                await _send_500(send, rid)
            elif scope["type"] == "websocket" and not closed:
                await _close_ws(send)


def _nul_field(scope: Scope) -> str | None:
    """The path or query parameter holding a NUL character, which no store accepts."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and "\x00" not in query:
        return None
    return next((k or "query" for k, v in parse_qsl(query) if "\x00" in k + v), None)


async def _refuse_nul(scope: Scope, send: Send, field: str, rid: str) -> None:
    message = f"{field} must not contain NUL characters (%00)"
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": message})
        return
    error = {"code": ErrorCode.VALIDATION_ERROR.value, "message": message, "field": field}
    await _send_json(send, 422, orjson.dumps({"error": error}), rid)


async def _send_500(send: Send, rid: str) -> None:
    await _send_json(send, 500, internal_error_body(rid), rid)


async def _send_json(send: Send, status: int, body: bytes, rid: str) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (REQUEST_ID_HEADER.lower().encode(), rid.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _close_ws(send: Send) -> None:
    try:
        await send({"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR, "reason": ""})
    except Exception:  # noqa: BLE001 - the peer may be gone already; the crash is logged
        log.debug("could not close the crashed WebSocket")
