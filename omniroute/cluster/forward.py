"""Forwarding: a node that does not lead sends commands and queries to the leader.

A message travels in the wire codec's JSON (`omniroute/engine/codec.py`) over the one WebSocket
the node keeps open to the leader's `/internal/v1/door`, opened with a token derived from the
shared secret key. Messages sent while earlier ones are on their way travel together, one frame
for many (as the engine commits them together), answered under the frame's id: the leader reads
one frame per group, and parses no HTTP request for it.
Every forwarded command carries an idempotency key, so when the leader dies mid-request the
node retries on the next leader and the command runs at most once; a key made here for its
first trip is marked `fresh`, telling the leader no outcome can be stored under it yet. So a
group the leader refused for now (429, 503), failed (5xx) or left unanswered is sent again after
a pause, within `OMNIROUTE_FORWARD_TIMEOUT_S`; a refusal that cannot lift by itself (403, 413,
422: the nodes' settings differ) fails the request at once with 503 and a logged reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from omniroute.core.door import Message
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine import codec

if TYPE_CHECKING:
    from omniroute.cluster.node import ClusterNode

log = logging.getLogger(__name__)
NODE_HEADER = "X-Omniroute-Node"
# Which node sends: the leader counts each node's messages in flight under it.
NODE_ID_HEADER = "X-Omniroute-Node-Id"
DOOR_PATH = "/internal/v1/door"
RELOAD_PATH = "/internal/v1/reload"
RETRY_PAUSE_S = 0.1
# Groups on their way to the leader at once; messages sent meanwhile wait and go together.
POSTS_IN_FLIGHT = 4
# While a group travels, the next one gathers messages this long (or until the group is back
# or full) before it goes too: fewer, larger frames cost the leader less CPU per message.
GATHER_S = 0.005
# Messages in one group at most (fewer if the leader's in-flight limit is lower).
GROUP_MAX = 256
# The longest pause a leader's Retry-After may ask for; the deadline bounds the whole wait.
RETRY_AFTER_MAX_S = 5.0
# A frame's head (its id at its longest) and tail around the messages, for the body limit.
_HEAD, _TAIL = b'{"id":%d,"messages":[', b"]}"
_HEAD_MAX = len(_HEAD % (2**63))


@lru_cache(maxsize=4)
def node_token(secret_key: str) -> str:
    """The token nodes show each other: derived from the secret key, never the key itself."""
    # Cached: the leader checks it on every forwarded group, and the key does not change.
    return hmac.new(secret_key.encode(), b"omniroute-cluster-v1", hashlib.sha256).hexdigest()


def check_node_token(secret_key: str, given: str | None) -> None:
    """Refuse a call that is not from a node of this cluster."""
    if given is None or not hmac.compare_digest(node_token(secret_key), given):
        raise DomainError(ErrorCode.FORBIDDEN, "only the cluster's nodes may call this endpoint")


class HttpForwarder:
    """Sends messages to the leader; waits for a leader through a failover, within a bound."""

    def __init__(
        self,
        node: ClusterNode,
        secret_key: str,
        timeout_s: float,
        *,
        door_max_in_flight: int = 1024,
        door_body_max_bytes: int = 32 * 1024 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._node = node
        self._headers = {
            NODE_HEADER: node_token(secret_key),
            NODE_ID_HEADER: node.node_id,
            "content-type": "application/json",
        }
        self._timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=2.0), transport=transport
        )
        # Every request in flight full never passes the leader's limit for this node.
        self._group_max = max(1, min(GROUP_MAX, door_max_in_flight // POSTS_IN_FLIGHT))
        self._body_max = door_body_max_bytes
        self._groupers: dict[str, _Grouper] = {}

    async def aclose(self) -> None:
        """Close the connections to the leader."""
        for grouper in self._groupers.values():
            await grouper.aclose()
        await self._client.aclose()

    async def send(self, message: Message[Any], key: str | None) -> Any:
        """The message's result from whichever node leads."""
        fresh = False
        if message.mutates and key is None:
            key, fresh = f"fwd:{uuid.uuid4().hex}", True
        item = {"message": codec.encode_message(message), "key": key, "fresh": fresh}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        last = "no node leads"
        while loop.time() < deadline:
            if self._node.engine.running:
                return await self._node.engine.run_local(message, key)
            url = await self._node.leader_url()
            if url is None or url == self._node.url:
                await self._node.wait_for_leader(RETRY_PAUSE_S)
                continue
            pause, moved = RETRY_PAUSE_S, True
            try:
                answer = await self._group(url).send(item)
            except _RetryError as err:
                last, pause, moved = str(err), err.after_s, err.moved
            else:
                if answer.get("ok"):
                    return codec.decode_result(type(message), answer.get("result"))
                error = answer.get("error") or {}
                if error.get("code") != ErrorCode.STORE_UNAVAILABLE:
                    raise codec.decode_error(error)
                # Nothing was changed there, or it is still running: the same key is safe.
                last = str(error.get("message") or "the leader is not ready")
            # The first trip may have run it after all: the next one asks for the stored outcome.
            item["fresh"] = False
            if moved:
                await self._node.forget_leader(url)
            await asyncio.sleep(max(0.0, min(pause, deadline - loop.time())))
        raise DomainError(
            ErrorCode.STORE_UNAVAILABLE, f"no leader reachable ({last}); retry the request"
        )

    def _group(self, url: str) -> _Grouper:
        grouper = self._groupers.get(url)
        if grouper is None:
            link = _Link(url + DOOR_PATH, self._headers, self._timeout_s)
            grouper = self._groupers[url] = _Grouper(link, self._group_max, self._body_max)
        return grouper

    async def reload(self) -> None:
        """Have the leader re-read its configuration."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        last = "no node leads"
        while loop.time() < deadline:
            if self._node.engine.running:
                await self._node.engine.reload_config()
                return
            url = await self._node.leader_url()
            if url is None or url == self._node.url:
                await self._node.wait_for_leader(RETRY_PAUSE_S)
                continue
            try:
                response = await self._client.post(
                    url + RELOAD_PATH, json={}, headers=self._headers
                )
            except httpx.TransportError as err:
                last = f"the leader did not answer ({type(err).__name__})"
                await self._node.forget_leader(url)
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            data = _json(response)
            error = data.get("error") or {}
            if response.status_code >= 500 or error.get("code") == ErrorCode.STORE_UNAVAILABLE:
                # Nothing was changed there (a fenced or failed batch): the same key is safe.
                last = str(error.get("message") or "the leader is not ready")
                await self._node.forget_leader(url)
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            if response.status_code != 200:
                raise DomainError(ErrorCode.STORE_UNAVAILABLE, f"the leader refused: {data}")
            return
        raise DomainError(
            ErrorCode.STORE_UNAVAILABLE, f"no leader reachable ({last}); retry the request"
        )


class _RetryError(Exception):
    """The leader did not run a group, or may have: send it again (same keys) after a pause."""

    def __init__(self, reason: str, after_s: float = RETRY_PAUSE_S, *, moved: bool = True):
        super().__init__(reason)
        self.after_s = after_s
        # The lead may have moved: look it up again before the next trip.
        self.moved = moved


_Waiting = tuple[bytes, asyncio.Future[dict[str, Any]]]


class _Grouper:
    """Sends the messages for one leader, those waiting while others travel in one group."""

    def __init__(self, link: _Link, group_max: int, body_max: int) -> None:
        self.link = link
        self._group_max = group_max
        self._body_max = body_max
        self._waiting: list[_Waiting] = []
        self._posts: set[asyncio.Task[None]] = set()
        self._gather: asyncio.TimerHandle | None = None

    async def aclose(self) -> None:
        """Stop gathering and close the socket."""
        if self._gather is not None:
            self._gather.cancel()
            self._gather = None
        await self.link.aclose()

    async def send(self, item: dict[str, Any]) -> dict[str, Any]:
        """The leader's answer to one message: `{"ok", "result"}` or `{"ok", "error"}`."""
        data = orjson.dumps(item)
        if _HEAD_MAX + len(data) + len(_TAIL) > self._body_max:
            msg = (
                f"this request's command is {len(data)} bytes, more than the cluster's door "
                f"takes ({self._body_max}, OMNIROUTE_DOOR_BODY_MAX_BYTES); send less"
            )
            raise DomainError(ErrorCode.PAYLOAD_TOO_LARGE, msg)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((data, future))
        self._pump()
        return await future

    def _pump(self, *, gathered: bool = False) -> None:
        while self._waiting and len(self._posts) < POSTS_IN_FLIGHT:
            count, size = 0, _HEAD_MAX + len(_TAIL)
            for data, _ in self._waiting:
                if count == self._group_max or (count and size + len(data) + 1 > self._body_max):
                    break
                count, size = count + 1, size + len(data) + 1
            if self._posts and not gathered and count == len(self._waiting) < self._group_max:
                # Not full, and a group travels: gather more, for a bounded time.
                if self._gather is None:
                    loop = asyncio.get_running_loop()
                    self._gather = loop.call_later(GATHER_S, self._gathered)
                return
            gathered = False
            if self._gather is not None:
                self._gather.cancel()
                self._gather = None
            group, self._waiting = self._waiting[:count], self._waiting[count:]
            task = asyncio.create_task(self._post(group))
            self._posts.add(task)
            task.add_done_callback(self._done)

    def _gathered(self) -> None:
        self._gather = None
        self._pump(gathered=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._posts.discard(task)
        self._pump()

    async def _post(self, group: list[_Waiting]) -> None:
        try:
            answers = await self.link.answers([data for data, _ in group])
        except Exception as err:  # noqa: BLE001 - every sender of the group hears of it
            for _, future in group:
                if not future.done():
                    future.set_exception(err)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if not future.done():
                future.set_result(answer)


class _Link:
    """The WebSocket to one leader's door: groups go out as frames, answers come back by id."""

    def __init__(self, url: str, headers: dict[str, str], timeout_s: float) -> None:
        self._url = "ws" + url.removeprefix("http")
        self._headers = headers
        self._timeout_s = timeout_s
        self._ids = itertools.count()
        self._opening = asyncio.Lock()
        self._ws: ClientConnection | None = None
        # The groups sent on the open socket and not yet answered, by id.
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        """Close the socket."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def answers(self, items: list[bytes]) -> list[dict[str, Any]]:
        """The leader's answers to a group, in order; `_RetryError` when it may answer later."""
        ws, pending = await self._open()
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        pending[ident] = future
        try:
            await ws.send(_HEAD % ident + b",".join(items) + _TAIL)
            data = await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError as err:
            # A leader frozen mid-answer: drop the socket, the next group opens a new one.
            await ws.close()
            raise _RetryError("the leader did not answer in time") from err
        except WebSocketException as err:
            raise _RetryError(f"the leader did not answer ({type(err).__name__})") from err
        finally:
            pending.pop(ident, None)
        answers = data.get("answers")
        if isinstance(answers, list) and len(answers) == len(items):
            return answers
        return _refused(data)

    async def _open(self) -> tuple[ClientConnection, dict[int, asyncio.Future[dict[str, Any]]]]:
        async with self._opening:
            if self._ws is None:
                try:
                    ws = await connect(
                        self._url,
                        additional_headers=self._headers,
                        compression=None,
                        proxy=None,
                        open_timeout=2.0,
                        max_size=None,
                    )
                except InvalidStatus as err:
                    status = err.response.status_code
                    if status == 403:
                        _refused({"error": {"message": "this node's token was refused"}}, 403)
                    raise _RetryError(f"the leader answered {status}") from err
                except (OSError, TimeoutError, WebSocketException) as err:
                    raise _RetryError(f"the leader did not answer ({type(err).__name__})") from err
                self._ws, self._pending = ws, {}
                self._reader = asyncio.create_task(self._read(ws, self._pending))
            return self._ws, self._pending

    async def _read(
        self, ws: ClientConnection, pending: dict[int, asyncio.Future[dict[str, Any]]]
    ) -> None:
        """Hand each answer to its group until the socket closes; then fail the rest."""
        try:
            async for frame in ws:
                data = _loads(frame)
                ident = data.get("id")
                future = pending.get(ident) if isinstance(ident, int) else None
                if future is not None and not future.done():
                    future.set_result(data)
        except WebSocketException:
            pass
        finally:
            if self._ws is ws:
                self._ws = None
            gone = _RetryError("the leader closed the stream")
            for future in pending.values():
                if not future.done():
                    future.set_exception(gone)
            await ws.close()


def _refused(data: dict[str, Any], status: int | None = None) -> NoReturn:
    """Raise what an answer that is not the group's answers means for its senders."""
    given = data.get("error")
    error: dict[str, Any] = given if isinstance(given, dict) else {}
    code = error.get("code")
    reason = str(error.get("message") or "the leader gave no answers")
    after = data.get("retry_after_s")
    pause = min(float(after), RETRY_AFTER_MAX_S) if isinstance(after, int) else RETRY_PAUSE_S
    if code == ErrorCode.RATE_LIMITED:  # this node has too much in flight there
        raise _RetryError(reason, pause, moved=False)
    if status is None and code not in _REFUSALS:
        # Not run, or perhaps run: every command carries its key, so a retry runs it once.
        raise _RetryError(reason, pause)
    # Refused whole (403, 413, 422): the nodes' settings or versions differ; a retry would fare
    # no better.
    log.error("the leader refused a forwarded group: %s %s", code or status, reason)
    msg = (
        f"the leader refused this node's forwarded commands ({code or status}: {reason}); "
        "every node needs the same OMNIROUTE_SECRET_KEY, door settings and version"
    )
    raise DomainError(ErrorCode.STORE_UNAVAILABLE, msg)


# Refusals of a whole group that a retry would not lift.
_REFUSALS = frozenset(
    {ErrorCode.FORBIDDEN, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.VALIDATION_ERROR}
)


def _loads(frame: str | bytes) -> dict[str, Any]:
    """The JSON object in `frame`, or an empty one."""
    try:
        data = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty one (a proxy's HTML page, a cut-off answer)."""
    return _loads(response.content) if response.content else {}
