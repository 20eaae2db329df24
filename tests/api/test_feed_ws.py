"""The agent feed over a real WebSocket: snapshot, pushed events, replay and refusals."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from omniroute.api.rate_limits import RateLimits
from tests.api.conftest import Api

WAIT_S = 5.0


@pytest.fixture
async def ws_url(api: Api) -> AsyncIterator[str]:
    """A real uvicorn server for the fixture's app (its life cycle already runs), in this loop."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        api.app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    yield f"ws://127.0.0.1:{port}/api/v1"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


def feed(ws_url: str, agent: str, token: str | None = None, query: str = "") -> connect:
    """Open an agent's feed with a bearer token."""
    headers = {"Authorization": f"Bearer {token or f'token-{agent}'}"}
    return connect(f"{ws_url}/agents/{agent}/feed{query}", additional_headers=headers)


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, or fail after a while."""
    raw = await asyncio.wait_for(ws.recv(), WAIT_S)
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def closed_code(ws: ClientConnection) -> int | None:
    """Wait for the server to close the connection and return the close code."""
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), WAIT_S)
    return info.value.rcvd.code if info.value.rcvd else None


async def presence(api: Api, agent: str, state: str = "available") -> None:
    """Set an agent's presence state."""
    r = await api.client.put(
        f"/agents/{agent}/presence", json={"presence_id": state}, headers=api.auth(agent)
    )
    assert r.status_code == 200, r.text


async def chat(api: Api, queue: str = "support") -> dict[str, Any]:
    """Create a chat interaction in a queue."""
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": queue},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def pending(api: Api, agent: str) -> list[dict[str, Any]]:
    """An agent's pending offers."""
    r = await api.client.get(f"/agents/{agent}/offers", headers=api.auth(agent))
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


async def test_hello_snapshot_with_pending_offers(api: Api, ws_url: str) -> None:
    await presence(api, "alice")
    await chat(api)
    [offer] = await pending(api, "alice")
    async with feed(ws_url, "alice") as ws:
        hello = await recv(ws)
    assert hello["type"] == "hello"
    assert isinstance(hello["seq"], int)
    data = hello["data"]
    assert data["agent_id"] == "alice"
    assert data["presence_id"] == "available"
    assert data["load"] == {"chat": 1}
    assert [o["id"] for o in data["offers"]] == [offer["id"]]
    assert data["offers"][0]["state"] == "pending"
    assert data["offers"][0]["work_item_id"] == offer["work_item_id"]


async def test_offer_created_then_ended_after_reject(api: Api, ws_url: str) -> None:
    await presence(api, "alice")
    async with feed(ws_url, "alice") as ws:
        hello = await recv(ws)
        assert hello["data"]["offers"] == []
        doc = await chat(api)
        created = await recv(ws)
        assert created["type"] == "offer.created"
        assert created["seq"] > hello["seq"]
        data = created["data"]
        assert data["work_item_id"] == doc["work_item_id"]
        assert data["document_id"] == doc["id"]
        assert data["document_type"] == "interaction"
        assert data["channel_id"] == "chat"
        assert data["queue_id"] == "support"
        assert data["allowed_to_decline"] is True
        offer_id = data["offer_id"]
        r = await api.client.post(
            f"/offers/{offer_id}/reject", json={"reason_id": "wrong"}, headers=api.auth("alice")
        )
        assert r.status_code == 200, r.text
        ended = await recv(ws)
        assert ended["type"] == "offer.ended"
        assert ended["seq"] > created["seq"]
        assert ended["data"] == {
            "offer_id": offer_id,
            "work_item_id": doc["work_item_id"],
            "state": "rejected",
            "reject_reason_id": "wrong",
        }


async def test_feed_carries_only_the_agents_events(api: Api, ws_url: str) -> None:
    await presence(api, "alice")
    async with feed(ws_url, "bob") as ws:
        await recv(ws)
        await chat(api)  # offered to Alice, not pushed to Bob
        await presence(api, "bob", "away")
        frame = await recv(ws)
        assert frame["type"] == "presence.changed"
        assert frame["data"]["presence_id"] == "away"


async def test_admin_may_open_any_feed(api: Api, ws_url: str) -> None:
    async with feed(ws_url, "alice", "token-admin") as ws:
        hello = await recv(ws)
    assert hello["data"]["agent_id"] == "alice"


async def test_token_in_query(api: Api, ws_url: str) -> None:
    async with connect(f"{ws_url}/agents/alice/feed?token=token-alice") as ws:
        hello = await recv(ws)
    assert hello["type"] == "hello"


async def test_replay_since_returns_exactly_missed_events(api: Api, ws_url: str) -> None:
    await presence(api, "alice")
    async with feed(ws_url, "alice") as ws:
        hello = await recv(ws)
        await chat(api)
        first = await recv(ws)
    # Disconnected: these are missed.
    doc = await chat(api)
    [_, second] = await pending(api, "alice")
    r = await api.client.post(f"/offers/{second['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    async with feed(ws_url, "alice", query=f"?since={first['seq']}") as ws:
        created = await recv(ws)
        ended = await recv(ws)
        assert created["type"] == "offer.created"
        assert created["data"]["document_id"] == doc["id"]
        assert ended["type"] == "offer.ended"
        assert ended["data"]["state"] == "accepted"
        assert first["seq"] < created["seq"] < ended["seq"]
        resumed = await recv(ws)
        assert resumed == {"type": "resumed", "seq": ended["seq"], "data": {"replayed": 2}}
        # Nothing else was waiting: the next frame is a new live event.
        await presence(api, "alice", "away")
        live = await recv(ws)
        assert live["type"] == "presence.changed"
        assert live["seq"] > ended["seq"]
    # A replay from the hello's sequence gives every event since, in order.
    async with feed(ws_url, "alice", query=f"?since={hello['seq']}") as ws:
        seqs = [(await recv(ws))["seq"] for _ in range(4)]
        assert (await recv(ws))["data"] == {"replayed": 4}
        types = [f["type"] for f in [first, created, ended, live]]
        assert seqs == [first["seq"], created["seq"], ended["seq"], live["seq"]]
        assert types == ["offer.created", "offer.created", "offer.ended", "presence.changed"]


@pytest.mark.parametrize("token", ["nonsense", ""])
async def test_bad_token_closes_with_policy_violation(api: Api, ws_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with connect(f"{ws_url}/agents/alice/feed", additional_headers=headers) as ws:
        assert await closed_code(ws) == 1008


@pytest.mark.parametrize("token", ["token-alice", "token-integration"])
async def test_only_the_agent_or_admin_may_open_a_feed(api: Api, ws_url: str, token: str) -> None:
    async with feed(ws_url, "bob", token) as ws:
        assert await closed_code(ws) == 1008


async def test_unknown_agent_feed_closes(api: Api, ws_url: str) -> None:
    async with feed(ws_url, "nobody", "token-admin") as ws:
        assert await closed_code(ws) == 1008


async def test_closed_client_is_unsubscribed(api: Api, ws_url: str) -> None:
    async with feed(ws_url, "alice") as ws:
        await recv(ws)
    for _ in range(100):
        if "alice" not in api.engine.bus._subs:
            break
        await asyncio.sleep(0.01)
    assert "alice" not in api.engine.bus._subs


@pytest.mark.parametrize("since", ["100000000000000000000", "%D9%A3", "%C2%B2", "-1", "1.5"])
async def test_a_bad_since_closes_with_policy_violation(api: Api, ws_url: str, since: str) -> None:
    async with feed(ws_url, "alice", query=f"?since={since}") as ws:
        assert await closed_code(ws) == 1008
    # The server is unharmed: the next feed gets its hello.
    async with feed(ws_url, "alice") as ws:
        assert (await recv(ws))["type"] == "hello"


async def test_a_feed_that_keeps_sending_frames_is_closed(api: Api, ws_url: str) -> None:
    settings = api.app.state.settings.model_copy(update={"rate_limit_feed_frames": "3/minute"})
    api.app.state.rate_limits = RateLimits(settings)
    async with feed(ws_url, "alice") as ws:
        assert (await recv(ws))["type"] == "hello"
        for _ in range(4):
            await ws.send("{}")
        assert await closed_code(ws) == 1008
