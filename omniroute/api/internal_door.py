"""Forwarded messages go straight to the leader's engine, past the HTTP layers and the router.

Each node keeps one WebSocket open on `/internal/v1/door` and sends its groups of forwarded
messages over it as frames, each answered by its id when the group is done: the leader parses no
HTTP request per group. A `POST` to the same path runs one group. The public API's layers
(security headers, gzip, CORS, idempotency keys, FastAPI's routing, dependencies and response
encoding) do nothing for it but cost the busiest node CPU per group. The request guard stays
outside; the node token, the body limit, each node's messages in flight and each message's time
are checked here. Every message is answered on its own: a failure inside is that message's
structured error, never the group's 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from omniroute.api.body_limits import too_large
from omniroute.api.errors import STATUS, error_body, status_of
from omniroute.api.guard import CLOSE_POLICY
from omniroute.cluster.forward import DOOR_PATH, NODE_HEADER, NODE_ID_HEADER, check_node_token
from omniroute.config import Settings
from omniroute.core.door import Message
from omniroute.domain.errors import DomainError, ErrorCode, RetryLaterError
from omniroute.engine import codec
from omniroute.engine.engine import Engine, transient

log = logging.getLogger(__name__)
_JSON = (b"content-type", b"application/json")


class DoorIn(BaseModel):
    """A forwarded command or query in the wire codec's form."""

    message: dict[str, Any]
    key: str | None = None
    # The forwarding node made the key for this trip: no outcome can be stored under it yet.
    fresh: bool = False


class DoorGroupIn(BaseModel):
    """The messages a node forwards together."""

    messages: list[DoorIn]


class DoorFrameIn(DoorGroupIn):
    """A group on a node's stream, with the id its answer carries back."""

    id: int


class InFlight:
    """How many forwarded messages each node has in the engine; refuses a node past the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}

    def admit(self, node: str, count: int) -> None:
        """Count a group in, or refuse it whole (nothing of it runs)."""
        if count > self.limit:
            msg = (
                f"a forwarded group holds at most {self.limit} messages "
                f"(OMNIROUTE_DOOR_MAX_IN_FLIGHT); this one has {count}"
            )
            raise DomainError(ErrorCode.VALIDATION_ERROR, msg, "messages")
        held = self._held.get(node, 0)
        if held + count > self.limit:
            msg = (
                f"node {node!r} has {held} forwarded messages in flight, at most {self.limit} "
                "(OMNIROUTE_DOOR_MAX_IN_FLIGHT); nothing of this group ran, retry it"
            )
            raise RetryLaterError(ErrorCode.RATE_LIMITED, msg, 1)
        self._held[node] = held + count

    def release(self, node: str) -> None:
        """One of the node's messages left the engine."""
        left = self._held[node] - 1
        if left:
            self._held[node] = left
        else:
            del self._held[node]


G = TypeVar("G", bound=DoorGroupIn)


class InternalDoor:
    """ASGI layer serving the leader's door for forwarded commands and queries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._in_flight: InFlight | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the door (its stream and `POST`) here; pass everything else on."""
        kind = scope["type"]
        if scope.get("path") != DOOR_PATH or (
            kind != "websocket" and scope.get("method") != "POST"
        ):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings: Settings = state.settings
        if self._in_flight is None:
            self._in_flight = InFlight(settings.door_max_in_flight)
        headers = Headers(scope=scope)
        client = scope.get("client")
        node = headers.get(NODE_ID_HEADER) or (client[0] if client else "unknown")
        door = _Door(state.engine, self._in_flight, node, settings.door_command_timeout_s)
        if kind == "websocket":
            await _Stream(door, settings, send).serve(headers, receive)
            return
        try:
            group = await _admit(settings, state.engine, headers, receive)
            answers = await door.run(group)
        except DomainError as err:
            await _send_error(send, err)
            return
        await _send(send, 200, {"answers": answers})


class _Door:
    """Runs one node's groups: admitted whole within its limit, each message answered alone."""

    def __init__(self, engine: Engine, in_flight: InFlight, node: str, timeout_s: float) -> None:
        self.engine = engine
        self._in_flight = in_flight
        self._node = node
        self._timeout_s = timeout_s

    async def run(self, group: DoorGroupIn) -> list[dict[str, Any]]:
        """Every message's answer, in order; a refusal of the whole group raises."""
        self._in_flight.admit(self._node, len(group.messages))
        return await _answers(
            self.engine, self._in_flight, self._node, self._timeout_s, group.messages
        )


async def _admit(
    settings: Settings, engine: Engine, headers: Headers, receive: Receive
) -> DoorGroupIn:
    """The group, once the caller, the size and the engine allow it."""
    assert settings.secret_key is not None  # settings refuse to load without one
    check_node_token(settings.secret_key.get_secret_value(), headers.get(NODE_HEADER))
    limit = settings.door_body_max_bytes
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise DomainError(ErrorCode.PAYLOAD_TOO_LARGE, _too_large(limit))
    return _leading(engine, _parsed(DoorGroupIn, await _read(receive, limit)))


def _parsed(kind: type[G], body: bytes) -> G:
    try:
        return kind.model_validate_json(body)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        msg = f"bad forwarded group at {where or 'the top'}: {first['msg']}"
        raise DomainError(ErrorCode.VALIDATION_ERROR, msg, where) from err


def _leading(engine: Engine, group: G) -> G:
    if not engine.running:
        msg = "this node does not lead the cluster; nothing ran, retry on the leader"
        raise RetryLaterError(ErrorCode.STORE_UNAVAILABLE, msg, 1)
    return group


async def _answers(
    engine: Engine, in_flight: InFlight, node: str, timeout_s: float, items: list[DoorIn]
) -> list[dict[str, Any]]:
    """Each message's answer, in order: `{"ok", "result"}` or `{"ok", "error"}`; never raises.

    The messages start at once and share one time limit (one timer per group, not per message).
    """
    started = [_start(engine, in_flight, node, item) for item in items]
    running = [one[1] for one in started if isinstance(one, tuple)]
    if running:
        # Not cancelled past the limit: a command past its time goes on, so a retry under its
        # key finds it.
        await asyncio.wait(running, timeout=timeout_s)
    return [
        _finished(item, one, timeout_s) if isinstance(one, tuple) else one
        for item, one in zip(items, started, strict=True)
    ]


def _start(
    engine: Engine, in_flight: InFlight, node: str, item: DoorIn
) -> tuple[Message[Any], asyncio.Future[Any]] | dict[str, Any]:
    """The message and its run in the engine, or its refusal."""
    try:
        message = _decode(item)
    except DomainError as err:
        in_flight.release(node)
        return _refusal(err)
    except Exception as err:  # noqa: BLE001 - answered as this message's own failure
        in_flight.release(node)
        return _refusal(_failure(_name(item), err))
    task = asyncio.ensure_future(engine.run_local(message, item.key, fresh=item.fresh))
    task.add_done_callback(functools.partial(_left_engine, in_flight, node))
    return message, task


def _finished(
    item: DoorIn, started: tuple[Message[Any], asyncio.Future[Any]], timeout_s: float
) -> dict[str, Any]:
    message, task = started
    if not task.done():
        msg = (
            f"the leader's engine did not answer {_name(item)} within {timeout_s:g} s "
            "(OMNIROUTE_DOOR_COMMAND_TIMEOUT_S); retry it with the same key"
        )
        return _refusal(DomainError(ErrorCode.STORE_UNAVAILABLE, msg))
    if task.cancelled():  # the engine stopped under it (a step-down): nothing of it committed
        msg = f"the leader's engine stopped before answering {_name(item)}; retry with the same key"
        return _refusal(DomainError(ErrorCode.STORE_UNAVAILABLE, msg))
    try:
        return {"ok": True, "result": codec.encode_result(type(message), task.result())}
    except DomainError as err:
        return _refusal(err)
    except Exception as err:  # noqa: BLE001 - answered as this message's own failure
        return _refusal(_failure(_name(item), err))


def _name(item: DoorIn) -> str:
    return str(item.message.get("name", ""))


def _decode(item: DoorIn) -> Message[Any]:
    """The message, or VALIDATION_ERROR naming what cannot be decoded."""
    try:
        message = codec.decode_message(item.message)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        name = item.message.get("name")
        msg = f"bad forwarded {name}: {where or 'args'}: {first['msg']}"
        raise DomainError(ErrorCode.VALIDATION_ERROR, msg, where) from err
    if message.mutates and item.key is None:
        msg = f"forwarded command {message.name} has no key; a node sends each with its key"
        raise DomainError(ErrorCode.VALIDATION_ERROR, msg, "key")
    return message


def _failure(name: str, err: Exception) -> DomainError:
    """What the node hears of a message that failed inside the leader."""
    if transient(err):
        log.warning("the door could not run %s: the store failed (%r)", name, err)
        msg = f"the leader's store failed ({type(err).__name__}); retry with the same key"
        return DomainError(ErrorCode.STORE_UNAVAILABLE, msg)
    log.error("the door failed to run %s", name, exc_info=err)
    msg = f"the leader failed to run {name} ({type(err).__name__}); the failure is in its log"
    return DomainError(ErrorCode.INTERNAL_ERROR, msg)


def _left_engine(in_flight: InFlight, node: str, task: asyncio.Future[Any]) -> None:
    in_flight.release(node)
    if not task.cancelled():
        task.exception()  # retrieved: a message past its time was answered already


def _refusal(err: DomainError) -> dict[str, Any]:
    # The status lets a node of an older version answer a code it does not know (codec).
    return {"ok": False, "error": codec.encode_error(err) | {"status": status_of(err)}}


def _too_large(limit: int) -> str:
    return too_large(limit) + " (OMNIROUTE_DOOR_BODY_MAX_BYTES)"


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
            raise DomainError(ErrorCode.PAYLOAD_TOO_LARGE, _too_large(limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_error(send: Send, err: DomainError) -> None:
    extra = []
    if isinstance(err, RetryLaterError):
        extra.append((b"retry-after", str(err.retry_after_s).encode()))
    body = error_body(err.code, err.message, err.field)
    await _send(send, STATUS[err.code], body, extra)


async def _send(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [_JSON, *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


class _Stream:
    """One node's stream: each frame a group, run at once, answered under its id when done."""

    def __init__(self, door: _Door, settings: Settings, send: Send) -> None:
        self._door = door
        self._settings = settings
        self._send = send
        self._open = True
        # Groups still running: they finish (their commands are in the engine already) even
        # when the node has gone; it asks again under the same keys and gets stored outcomes.
        self._running: set[asyncio.Task[None]] = set()

    async def serve(self, headers: Headers, receive: Receive) -> None:
        """Accept a node of this cluster, then run its groups until it closes the stream."""
        assert self._settings.secret_key is not None  # settings refuse to load without one
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            check_node_token(self._settings.secret_key.get_secret_value(), headers.get(NODE_HEADER))
        except DomainError:
            # Closed before it is accepted: the node sees 403, as for a refused POST.
            await self._send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        await self._send({"type": "websocket.accept"})
        try:
            while (message := await receive())["type"] == "websocket.receive":
                frame = message.get("bytes") or (message.get("text") or "").encode()
                task = asyncio.create_task(self._answer(frame))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        finally:
            self._open = False

    async def _answer(self, frame: bytes) -> None:
        ident: Any = None
        try:
            limit = self._settings.door_body_max_bytes
            if len(frame) > limit:
                ident = _frame_id(frame)
                raise DomainError(ErrorCode.PAYLOAD_TOO_LARGE, _too_large(limit))  # noqa: TRY301
            try:
                group = _parsed(DoorFrameIn, frame)
            except DomainError:
                ident = _frame_id(frame)
                raise
            ident = group.id
            answer: dict[str, Any] = {
                "id": ident,
                "answers": await self._door.run(_leading(self._door.engine, group)),
            }
        except DomainError as err:
            answer = {"id": ident, "error": codec.encode_error(err)}
            if isinstance(err, RetryLaterError):
                answer["retry_after_s"] = err.retry_after_s
        except Exception:  # a bug of ours: answered, so the node need not wait out its time
            log.exception("the door's stream failed to run a group")
            error = DomainError(ErrorCode.INTERNAL_ERROR, "the leader failed to run the group")
            answer = {"id": ident, "error": codec.encode_error(error)}
        if self._open:
            with contextlib.suppress(Exception):  # the node went away meanwhile
                await self._send({"type": "websocket.send", "bytes": orjson.dumps(answer)})


def _frame_id(frame: bytes) -> Any:
    """The id of a frame that is not a valid group, if it has one (else None)."""
    try:
        data = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    return data.get("id") if isinstance(data, dict) else None
