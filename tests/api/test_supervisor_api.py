"""The supervisor API: who may see the overview, thresholds, and the live feed."""

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

from tests.api.assertions import error
from tests.api.conftest import Api, add_supervisor_token
from tests.api.test_session_api import set_password, sign_in
from tests.seed import NOW

WAIT_S = 5.0
SUPERVISOR = {"Authorization": "Bearer token-sup"}


@pytest.fixture
async def sup_api(api: Api) -> Api:
    """The API fixture with a supervisor token added."""
    await add_supervisor_token(api)
    return api


@pytest.fixture
async def sup_ws_url(sup_api: Api) -> AsyncIterator[str]:
    """A real uvicorn server for the fixture's app, in this event loop."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        sup_api.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    yield f"ws://127.0.0.1:{port}/api/v1/supervisor/feed"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


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


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, or fail after a while."""
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    return frame


async def test_overview_for_supervisor_and_admin(sup_api: Api) -> None:
    await chat(sup_api)
    for headers in (SUPERVISOR, sup_api.auth("admin")):
        r = await sup_api.client.get("/supervisor/overview", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        support = next(q for q in body["queues"] if q["queue_id"] == "support")
        assert support["threshold_s"] == 20
        assert support["figures"]["depth"] == 1
        assert support["figures"]["oldest_queued_at"] == NOW.isoformat().replace("+00:00", "Z")
        assert body["totals"]["items_created"] == 1
        assert body["agents"]["total"] == 3
        assert len(body["minutes"]) == 60
        assert body["generated_at"].endswith("Z")


@pytest.mark.parametrize("who", ["alice", "integration"])
async def test_overview_refuses_other_roles(sup_api: Api, who: str) -> None:
    r = await sup_api.client.get("/supervisor/overview", headers=sup_api.auth(who))
    error(r, 403, "FORBIDDEN")


async def test_overview_needs_a_token(sup_api: Api) -> None:
    error(await sup_api.client.get("/supervisor/overview"), 401, "UNAUTHENTICATED")


async def test_service_level_threshold_is_stored_and_used(sup_api: Api) -> None:
    r = await sup_api.client.put(
        "/supervisor/queues/vip/service-level", json={"threshold_s": 45}, headers=SUPERVISOR
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"queue_id": "vip", "threshold_s": 45}
    r = await sup_api.client.get("/supervisor/overview", headers=SUPERVISOR)
    thresholds = {q["queue_id"]: q["threshold_s"] for q in r.json()["queues"]}
    assert thresholds == {"vip": 45, "support": 20, "cases": 20}


async def test_service_level_threshold_refusals(sup_api: Api) -> None:
    path = "/supervisor/queues/{}/service-level"
    r = await sup_api.client.put(path.format("nope"), json={"threshold_s": 5}, headers=SUPERVISOR)
    error(r, 404, "NOT_FOUND", "queue_id")
    r = await sup_api.client.put(path.format("vip"), json={"threshold_s": 0}, headers=SUPERVISOR)
    error(r, 422, "VALIDATION_ERROR", "threshold_s")
    r = await sup_api.client.put(
        path.format("vip"), json={"threshold_s": 5}, headers=sup_api.auth("alice")
    )
    error(r, 403, "FORBIDDEN")


async def test_feed_sends_overview_then_an_update_after_a_change(
    sup_api: Api, sup_ws_url: str
) -> None:
    async with connect(sup_ws_url, additional_headers=SUPERVISOR) as ws:
        first = await recv(ws)
        assert first["type"] == "overview"
        assert first["data"]["totals"]["depth"] == 0
        await chat(sup_api)
        await chat(sup_api, "vip")
        # Updates are coalesced: wait until one shows both new items.
        while True:
            frame = await recv(ws)
            assert frame["type"] == "overview"
            if frame["data"]["totals"]["items_created"] == 2:
                break
        assert frame["data"]["totals"]["depth"] == 2


async def test_feed_takes_the_token_in_the_query(sup_api: Api, sup_ws_url: str) -> None:
    async with connect(f"{sup_ws_url}?token=token-sup") as ws:
        assert (await recv(ws))["type"] == "overview"


@pytest.mark.parametrize(
    ("token", "reason"), [("token-alice", "FORBIDDEN"), ("nonsense", "UNAUTHENTICATED")]
)
async def test_feed_refuses_agents_and_bad_tokens(
    sup_api: Api, sup_ws_url: str, token: str, reason: str
) -> None:
    async with connect(sup_ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), WAIT_S)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1008
    assert info.value.rcvd.reason == reason


@pytest.mark.parametrize(("supervisor", "status"), [(True, 200), (False, 403)])
async def test_overview_with_a_browser_session(sup_api: Api, supervisor: bool, status: int) -> None:
    await set_password(sup_api, "carol", supervisor=supervisor)
    await sign_in(sup_api, "carol@example.test")
    r = await sup_api.client.get("/supervisor/overview")
    assert r.status_code == status, r.text


async def test_feed_with_a_supervisor_session(sup_api: Api, sup_ws_url: str) -> None:
    await set_password(sup_api, "carol", supervisor=True)
    await sign_in(sup_api, "carol@example.test")
    cookie = "; ".join(f"{k}={v}" for k, v in sup_api.client.cookies.items())
    origin = sup_ws_url.replace("ws://", "http://").split("/api/")[0]
    headers = {"Cookie": cookie, "Origin": origin}
    async with connect(sup_ws_url, additional_headers=headers) as ws:
        assert (await recv(ws))["type"] == "overview"
