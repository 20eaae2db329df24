"""Forwarding: a node that does not lead sends commands and queries to the leader over HTTP.

A message travels in the wire codec's JSON (`omniroute/engine/codec.py`) to the leader's
`POST /internal/v1/door`, signed with a key derived from the shared secret key. Every
forwarded command carries an idempotency key, so when the leader dies mid-request the node
retries on the next leader and the command runs at most once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
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


def node_token(secret_key: str) -> str:
    """The token nodes show each other: derived from the secret key, never the key itself."""
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

    async def aclose(self) -> None:
        """Close the connections to the leader."""
        await self._client.aclose()

    async def send(self, message: Message[Any], key: str | None) -> Any:
        """The message's result from whichever node leads."""
        if message.mutates and key is None:
            key = f"fwd:{uuid.uuid4().hex}"
        body = {"message": codec.encode_message(message), "key": key}
        answer = await self._post(DOOR_PATH, body, lambda: self._local(message, key))
        if isinstance(answer, _Local):
            return answer.value
        if answer.get("ok"):
            return codec.decode_result(type(message), answer.get("result"))
        raise codec.decode_error(answer["error"])

    async def reload(self) -> None:
        """Have the leader re-read its configuration."""
        await self._post(RELOAD_PATH, {}, self._node.engine.reload_config)

    async def _local(self, message: Message[Any], key: str | None) -> Any:
        return await self._node.engine.run_local(message, key)

    async def _post(self, path: str, body: dict[str, Any], local: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        last = "no node leads"
        while loop.time() < deadline:
            if self._node.engine.running:
                return _Local(await local())
            url = await self._node.leader_url()
            if url is None or url == self._node.url:
                await self._node.wait_for_leader(RETRY_PAUSE_S)
                continue
            try:
                response = await self._client.post(url + path, json=body, headers=self._headers)
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
            return data
        raise DomainError(
            ErrorCode.STORE_UNAVAILABLE, f"no leader reachable ({last}); retry the request"
        )


class _Local:
    """This node became the leader while waiting: the message ran here."""

    def __init__(self, value: Any) -> None:
        self.value = value
