"""Forwarding: a node that does not lead sends commands and queries to the leader over HTTP.

A message travels in the wire codec's JSON (`omniroute/engine/codec.py`) to the leader's
`POST /internal/v1/door`, signed with a key derived from the shared secret key. Messages sent
while earlier ones are on their way travel together, one request for many (as the engine
commits them together), so the leader parses one HTTP request per group, not per command.
Every forwarded command carries an idempotency key, so when the leader dies mid-request the
node retries on the next leader and the command runs at most once; a key made here for its
first trip is marked `fresh`, telling the leader no outcome can be stored under it yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx

from omniroute.core.door import Message
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine import codec

if TYPE_CHECKING:
    from omniroute.cluster.node import ClusterNode

NODE_HEADER = "X-Omniroute-Node"
DOOR_PATH = "/internal/v1/door"
RELOAD_PATH = "/internal/v1/reload"
RETRY_PAUSE_S = 0.1
# Requests to the leader in flight at once; messages sent meanwhile wait and go together.
POSTS_IN_FLIGHT = 4
# Messages in one request at most.
GROUP_MAX = 256


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

    def __init__(self, node: ClusterNode, secret_key: str, timeout_s: float) -> None:
        self._node = node
        self._headers = {NODE_HEADER: node_token(secret_key)}
        self._timeout_s = timeout_s
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=2.0))
        self._groupers: dict[str, _Grouper] = {}

    async def aclose(self) -> None:
        """Close the connections to the leader."""
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
            try:
                answer = await self._group(url).send(item)
            except _UnreachableError as err:
                last = str(err)
            else:
                if answer.get("ok"):
                    return codec.decode_result(type(message), answer.get("result"))
                error = answer.get("error") or {}
                if error.get("code") != ErrorCode.STORE_UNAVAILABLE:
                    raise codec.decode_error(error)
                # Nothing was changed there (a fenced or failed batch): the same key is safe.
                last = str(error.get("message") or "the leader is not ready")
            # The first trip may have run it after all: the next one asks for the stored outcome.
            item["fresh"] = False
            await self._node.forget_leader(url)
            await asyncio.sleep(RETRY_PAUSE_S)
        raise DomainError(
            ErrorCode.STORE_UNAVAILABLE, f"no leader reachable ({last}); retry the request"
        )

    def _group(self, url: str) -> _Grouper:
        grouper = self._groupers.get(url)
        if grouper is None:
            grouper = self._groupers[url] = _Grouper(self._client, url + DOOR_PATH, self._headers)
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
            data: dict[str, Any] = response.json() if response.content else {}
            error = data.get("error") or {}
            if response.status_code == 503 or error.get("code") == ErrorCode.STORE_UNAVAILABLE:
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


class _UnreachableError(Exception):
    """The leader did not answer a group, or answered that it cannot run it now."""


class _Grouper:
    """Sends the messages for one leader, those waiting while others travel in one request."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self._client = client
        self._url = url
        self._headers = headers
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._posts: set[asyncio.Task[None]] = set()

    async def send(self, item: dict[str, Any]) -> dict[str, Any]:
        """The leader's answer to one message: `{"ok", "result"}` or `{"ok", "error"}`."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._pump()
        return await future

    def _pump(self) -> None:
        while self._waiting and len(self._posts) < POSTS_IN_FLIGHT:
            group, self._waiting = self._waiting[:GROUP_MAX], self._waiting[GROUP_MAX:]
            task = asyncio.create_task(self._post(group))
            self._posts.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._posts.discard(task)
        self._pump()

    async def _post(
        self, group: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]]
    ) -> None:
        try:
            answers = await self._answers([item for item, _ in group])
        except Exception as err:  # noqa: BLE001 - every sender of the group hears of it
            for _, future in group:
                if not future.done():
                    future.set_exception(err)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if not future.done():
                future.set_result(answer)

    async def _answers(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            response = await self._client.post(
                self._url, json={"messages": items}, headers=self._headers
            )
        except httpx.TransportError as err:
            msg = f"the leader did not answer ({type(err).__name__})"
            raise _UnreachableError(msg) from err
        data: dict[str, Any] = response.json() if response.content else {}
        if response.status_code == 503:
            error = data.get("error") or {}
            raise _UnreachableError(str(error.get("message") or "the leader is not ready"))
        answers = data.get("answers")
        if response.status_code != 200 or not isinstance(answers, list):
            raise DomainError(ErrorCode.STORE_UNAVAILABLE, f"the leader refused: {data}")
        if len(answers) != len(items):
            msg = "the leader answered a different number of messages"
            raise DomainError(ErrorCode.STORE_UNAVAILABLE, msg)
        return answers
