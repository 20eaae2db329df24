"""Forwarded messages go straight to the leader's engine, past the HTTP layers and the router.

Under load the leader serves one `POST /internal/v1/door` per group of forwarded messages. The
public API's layers (security headers, gzip, CORS, idempotency keys, FastAPI's routing,
dependencies and response encoding) do nothing for it but cost the busiest node CPU per group.
The request guard stays outside; the node token and the body limit are checked here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from omniroute.api.body_limits import too_large
from omniroute.api.errors import STATUS, error_body
from omniroute.cluster.forward import DOOR_PATH, NODE_HEADER, check_node_token
from omniroute.config import Settings
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine import codec
from omniroute.engine.engine import Engine

log = logging.getLogger(__name__)
_JSON = [(b"content-type", b"application/json")]


class DoorIn(BaseModel):
    """A forwarded command or query in the wire codec's form."""

    message: dict[str, Any]
    key: str | None = None
    # The forwarding node made the key for this trip: no outcome can be stored under it yet.
    fresh: bool = False


class DoorGroupIn(BaseModel):
    """The messages a node forwards together."""

    messages: list[DoorIn]


class InternalDoor:
    """ASGI layer serving the leader's door for forwarded commands and queries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve `POST /internal/v1/door` here; pass everything else on."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != DOOR_PATH:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        try:
            answers = await _serve(state.settings, state.engine, scope, receive)
        except DomainError as err:
            await _send(send, STATUS[err.code], error_body(err.code, err.message, err.field))
            return
        except Exception:
            log.exception("the door failed to run forwarded messages")
            body = error_body(ErrorCode.INTERNAL_ERROR, "the leader failed to run the messages")
            await _send(send, 500, body)
            return
        await _send(send, 200, {"answers": answers})


async def _serve(
    settings: Settings, engine: Engine, scope: Scope, receive: Receive
) -> list[dict[str, Any]]:
    assert settings.secret_key is not None  # settings refuse to load without one
    check_node_token(settings.secret_key.get_secret_value(), Headers(scope=scope).get(NODE_HEADER))
    body = await _read(receive, settings.body_max_bytes)
    try:
        group = DoorGroupIn.model_validate_json(body)
    except ValidationError as err:
        first = err.errors()[0]
        msg = f"bad forwarded group at {first['loc']}: {first['msg']}"
        raise DomainError(ErrorCode.VALIDATION_ERROR, msg) from err
    if not engine.running:
        raise DomainError(ErrorCode.STORE_UNAVAILABLE, "this node does not lead the cluster")
    return await asyncio.gather(*(_run(engine, item) for item in group.messages))


async def _run(engine: Engine, item: DoorIn) -> dict[str, Any]:
    try:
        message = codec.decode_message(item.message)
    except ValidationError as err:
        error = DomainError(ErrorCode.VALIDATION_ERROR, f"bad forwarded message: {err}")
        return {"ok": False, "error": codec.encode_error(error)}
    except DomainError as err:
        return {"ok": False, "error": codec.encode_error(err)}
    try:
        result = await engine.run_local(message, item.key, fresh=item.fresh)
    except DomainError as err:
        return {"ok": False, "error": codec.encode_error(err)}
    return {"ok": True, "result": codec.encode_result(type(message), result)}


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise DomainError(ErrorCode.VALIDATION_ERROR, "the request ended before its body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise DomainError(ErrorCode.PAYLOAD_TOO_LARGE, too_large(limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, status: int, body: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})
