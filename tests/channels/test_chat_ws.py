"""The customer's chat WebSocket against a real server process, with the agent's feed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.channels.chat_helpers import accept, auth, available, seed_chat_server, start
from tests.procs import Server, Servers

DEADLINE_S = 10.0
# Short, so that a silent socket's close is seen well before the 10 s default.
AUTH_TIMEOUT_S = 2.0
SHOP = "https://shop.example.com"
Frame = dict[str, Any]


@dataclass
class Live:
    """A server process and an API client for it."""

    server: Server
    api: httpx.AsyncClient

    @property
    def ws_url(self) -> str:
        """The WebSocket root of the API."""
        return self.server.api_url.replace("http://", "ws://")

    def customer(self, chat: Frame, query: str = "") -> connect:
        """The customer's WebSocket, opened from the shop's page."""
        return connect(
            f"{self.ws_url}/chat/sessions/{chat['session_id']}/ws{query}",
            additional_headers={"Origin": SHOP},
        )

    def feed(self, agent: str) -> connect:
        """An agent's feed."""
        return connect(f"{self.ws_url}/agents/{agent}/feed", additional_headers=auth(agent))


@pytest.fixture(scope="module")
def chat_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One seeded server process for this module; each test starts chats of its own.

    SQLite only: these tests are about the protocol, not the store.
    """
    root = tmp_path_factory.mktemp("chat-ws")
    url = f"sqlite+aiosqlite:///{root / 'chat.db'}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed_chat_server(url)).result()
    servers = Servers(root / "logs")
    try:
        yield servers.start(url, env={"OMNIROUTE_CHAT_AUTH_TIMEOUT_S": str(AUTH_TIMEOUT_S)})
    finally:
        servers.close()


@pytest.fixture
async def live(chat_process: Server) -> AsyncIterator[Live]:
    """The module's server and an API client for it."""
    async with httpx.AsyncClient(base_url=chat_process.api_url, timeout=15.0) as api:
        yield Live(chat_process, api)


async def until(ws: ClientConnection, wanted: Callable[[Frame], bool], what: str) -> Frame:
    """Read frames until one matches; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"timed out waiting for {what}")
        try:
            frame: Frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            pytest.fail(f"timed out waiting for {what}")
        if wanted(frame):
            return frame


def of(kind: str, **fields: Any) -> Callable[[Frame], bool]:
    """A predicate: a frame of this type whose fields (or data fields) match."""

    def match(frame: Frame) -> bool:
        data = frame.get("data", frame)
        return frame.get("type") == kind and all(data.get(k) == v for k, v in fields.items())

    return match


async def close_code(ws: ClientConnection) -> int | None:
    """The code the server closed the connection with."""
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), DEADLINE_S)
    return info.value.rcvd.code if info.value.rcvd else None


async def authed(ws: ClientConnection, chat: Frame, since: int | None = None) -> Frame:
    """Send the auth frame and return the hello."""
    frame: Frame = {"type": "auth", "token": chat["token"]}
    if since is not None:
        frame["since"] = since
    await ws.send(json.dumps(frame))
    return await until(ws, of("hello"), "hello")


async def test_a_whole_chat(live: Live) -> None:
    api = live.api
    await available(api, "alice")
    chat = await start(api, question="Where is my order?")
    async with live.customer(chat) as customer, live.feed("alice") as feed:
        hello = await authed(customer, chat)
        assert hello["state"] == "waiting"
        assert hello["agent"] is None
        first = (await until(customer, of("message"), "the question"))["message"]
        assert (first["sender"], first["body"]) == ("customer", "Where is my order?")
        await until(feed, of("hello"), "the feed's hello")

        await accept(api, "alice")
        joined = await until(customer, of("agent_joined"), "agent joined")
        assert joined["agent"] == {"name": "Alice"}
        delivered = await until(customer, of("delivered"), "the question delivered")
        assert delivered["message_id"] == first["id"]

        await customer.send(json.dumps({"type": "message", "body": "Order 42", "client_id": "c1"}))
        mine = (await until(customer, of("message"), "own message echoed"))["message"]
        assert (mine["body"], mine["client_id"]) == ("Order 42", "c1")
        assert mine["delivered_at"] is not None
        pushed = await until(feed, of("chat.message"), "customer message on the feed")
        assert pushed["data"]["message"]["id"] == mine["id"]

        await customer.send(json.dumps({"type": "typing"}))
        typing = await until(feed, of("chat.typing"), "customer typing on the feed")
        assert typing["data"] == {"interaction_id": chat["interaction_id"], "sender": "customer"}

        path = f"/interactions/{chat['interaction_id']}"
        assert (await api.post(f"{path}/typing", headers=auth("alice"))).status_code == 204
        await until(customer, of("typing", sender="agent"), "agent typing")

        r = await api.post(
            f"{path}/messages", json={"body": "Shipped today"}, headers=auth("alice")
        )
        assert r.status_code == 201, r.text
        reply = r.json()
        got = (await until(customer, of("message"), "agent reply"))["message"]
        assert (got["id"], got["author_name"], got["body"]) == (
            reply["id"],
            "Alice",
            "Shipped today",
        )
        receipt = await until(feed, of("chat.delivered"), "delivery receipt on the feed")
        assert receipt["data"]["message_id"] == reply["id"]
        r = await api.get(f"{path}/messages", headers=auth("alice"))
        stored = {m["id"]: m for m in r.json()["items"]}
        assert stored[reply["id"]]["delivered_at"] is not None

    # Offline, the customer misses a message; back with since, it gets exactly that one.
    r = await api.post(f"{path}/messages", json={"body": "Tracking: ZX9"}, headers=auth("alice"))
    missed = r.json()
    async with live.customer(chat) as customer, live.feed("alice") as feed:
        hello = await authed(customer, chat, since=reply["id"])
        assert hello["state"] == "active"
        assert hello["agent"] == {"name": "Alice"}
        replayed = (await until(customer, of("message"), "missed message"))["message"]
        assert (replayed["id"], replayed["body"]) == (missed["id"], "Tracking: ZX9")
        await until(feed, of("hello"), "the feed's hello")

        # A message re-sent after the drop is stored once.
        await customer.send(json.dumps({"type": "message", "body": "Order 42", "client_id": "c1"}))
        again = (await until(customer, of("message"), "re-sent message"))["message"]
        assert again["id"] == mine["id"]

        await customer.send(json.dumps({"type": "end"}))
        ended = await until(customer, of("ended"), "chat ended")
        assert ended["state"] == "wrap_up"
        await until(feed, of("document.changed", state="wrap_up"), "wrap-up on the feed")
    r = await api.get(f"{path}/messages", headers=auth("alice"))
    items = r.json()["items"]
    assert [m["sender"] for m in items] == ["customer", "customer", "agent", "agent", "system"]
    assert len({m["id"] for m in items}) == len(items)


async def test_an_unanswered_chat_ends_abandoned(live: Live) -> None:
    chat = await start(live.api)
    async with live.customer(chat) as customer:
        await authed(customer, chat)
        await customer.send(json.dumps({"type": "end"}))
        ended = await until(customer, of("ended"), "chat ended")
    assert ended["state"] == "closed_abandoned"
    async with live.customer(chat) as customer:
        hello = await authed(customer, chat)
    assert hello["state"] == "ended"


async def test_refused_connections_get_clear_close_codes(live: Live) -> None:
    chat = await start(live.api)
    async with live.customer(chat) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "wrong"}))
        assert await close_code(ws) == 4401
    async with live.customer(chat | {"session_id": "cs-nope"}) as ws:
        assert await close_code(ws) == 4404
    url = f"{live.ws_url}/chat/sessions/{chat['session_id']}/ws"
    async with connect(url, additional_headers={"Origin": "https://evil.example.net"}) as ws:
        assert await close_code(ws) == 4403
    async with live.customer(chat, f"?token={chat['token']}") as ws:
        assert (await until(ws, of("hello"), "hello with a query token"))["state"] == "waiting"
        # Leave nothing queued for the other tests that share the server.
        await ws.send(json.dumps({"type": "end"}))
        await until(ws, of("ended"), "chat ended")


async def test_receipts_that_came_while_away_are_replayed(live: Live) -> None:
    await available(live.api, "bob")
    chat = await start(live.api, question="Anyone there?")
    async with live.customer(chat) as customer:
        await authed(customer, chat)
        first = (await until(customer, of("message"), "the question"))["message"]
        assert first["delivered_at"] is None
    await accept(live.api, "bob")  # the agent gets the question while the widget is away
    path = f"/interactions/{chat['interaction_id']}/messages"
    deadline = time.monotonic() + DEADLINE_S
    while not (await live.api.get(path, headers=auth("bob"))).json()["items"][0]["delivered_at"]:
        assert time.monotonic() < deadline, "the question was never marked delivered"
        await asyncio.sleep(0.05)
    async with live.customer(chat) as customer:
        await authed(customer, chat, since=first["id"])
        receipt = await until(customer, of("delivered"), "the missed delivery receipt")
        assert receipt["message_id"] == first["id"]
        assert receipt["delivered_at"] is not None
        await customer.send(json.dumps({"type": "end"}))
        await until(customer, of("ended"), "chat ended")
    r = await live.api.put(
        "/agents/bob/presence", json={"presence_id": "offline"}, headers=auth("bob")
    )
    assert r.status_code == 200, r.text


async def test_a_socket_that_sends_no_auth_frame_is_closed_4401_after_the_setting(
    live: Live,
) -> None:
    chat = await start(live.api, question="silent?")
    async with live.customer(chat) as ws:
        opened = time.monotonic()
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), DEADLINE_S)
        waited = time.monotonic() - opened
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (
        4401,
        "send {'type': 'auth', 'token': ...} first",
    )
    # Not before the configured time, and (being 2 s, not the 10 s default) long before 10 s.
    assert AUTH_TIMEOUT_S <= waited < DEADLINE_S - 1


@pytest.mark.parametrize("since", [10**20, "100000000000000000000", "٣", "²", -1, True])
async def test_a_bad_since_in_the_auth_frame_closes_1008(live: Live, since: object) -> None:
    chat = await start(live.api, question="since?")
    async with live.customer(chat) as ws:
        await ws.send(json.dumps({"type": "auth", "token": chat["token"], "since": since}))
        assert await close_code(ws) == 1008


@pytest.mark.parametrize("since", ["100000000000000000000", "%D9%A3"])
async def test_a_bad_since_in_the_query_closes_1008(live: Live, since: str) -> None:
    chat = await start(live.api, question="since?")
    async with live.customer(chat, f"?since={since}") as ws:
        await ws.send(json.dumps({"type": "auth", "token": chat["token"]}))
        assert await close_code(ws) == 1008


async def test_a_binary_auth_frame_closes_1008(live: Live) -> None:
    chat = await start(live.api, question="binary?")
    async with live.customer(chat) as ws:
        await ws.send(json.dumps({"type": "auth", "token": chat["token"]}).encode())
        assert await close_code(ws) == 1008
    # The chat itself still works.
    async with live.customer(chat) as ws:
        assert (await authed(ws, chat))["type"] == "hello"


async def test_binary_and_deep_frames_after_auth_get_an_error_frame(live: Live) -> None:
    chat = await start(live.api, question="frames?")
    async with live.customer(chat) as ws:
        await authed(ws, chat)
        await ws.send(b'{"type": "typing"}')
        error = await until(ws, of("error"), "the binary frame refused")
        assert error["code"] == "VALIDATION_ERROR"
        await ws.send("[" * 30_000 + "]" * 30_000)  # deep, yet under the 64 KiB frame limit
        error = await until(ws, of("error"), "the deep frame refused")
        assert error["code"] == "VALIDATION_ERROR"
        await ws.send(json.dumps({"type": "message", "body": "still here", "client_id": "c9"}))
        mine = await until(
            ws, lambda f: of("message")(f) and f["message"].get("client_id") == "c9", "own message"
        )
        assert mine["message"]["body"] == "still here"
