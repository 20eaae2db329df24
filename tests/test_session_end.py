"""Changing an agent's password or role ends its browser sessions and their sockets at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from omniroute.services.admin import hash_password
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import Server, Servers

pytestmark = pytest.mark.timeout(90)
PASSWORD = "correct horse battery staple"
ADMIN = {"Authorization": "Bearer token-admin"}
CLOSED_WITHIN_S = 10.0


@pytest.fixture
async def server(servers: Servers, tmp_path: Path) -> Server:
    """A server whose alice (agent) and carol (supervisor) have passwords."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"
    migrate.upgrade(url)
    db = Database(url)
    await seed_api(db)
    digest = await hash_password(PASSWORD)
    async with db.session() as s, s.begin():
        await s.execute(update(t.AgentRow).values(password_hash=digest))
        await s.execute(update(t.AgentRow).where(t.AgentRow.id == "carol").values(supervisor=True))
    await db.dispose()
    return servers.start(url)


async def signed_in(server: Server, agent: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=server.api_url, timeout=10)
    r = await client.post("/session", json={"email": f"{agent}@example.test", "password": PASSWORD})
    assert r.status_code == 201, r.text
    return client


async def drain(ws: ClientConnection) -> None:
    """Read frames until the connection closes (a silent socket times out instead)."""
    while True:
        await asyncio.wait_for(ws.recv(), CLOSED_WITHIN_S)


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        await drain(ws)
    assert info.value.rcvd is not None, "the server did not close the socket"
    return info.value.rcvd.code, info.value.rcvd.reason


@pytest.mark.parametrize(
    ("agent", "socket_path", "change"),
    [
        ("alice", "/api/v1/agents/alice/feed", {"password": "a brand new password"}),
        ("alice", "/api/v1/agents/alice/feed", {"password": None}),
        ("carol", "/api/v1/supervisor/feed", {"password": "another new password"}),
    ],
    ids=["password-changed", "password-cleared", "supervisor-feed"],
)
async def test_the_change_ends_sessions_and_closes_their_sockets(
    server: Server, agent: str, socket_path: str, change: dict[str, object]
) -> None:
    browser = await signed_in(server, agent)
    other = await signed_in(server, "bob")
    cookie = browser.cookies["omniroute_session"]
    ws_url = f"ws://{server.host}:{server.port}{socket_path}"
    headers = {"Cookie": f"omniroute_session={cookie}", "Origin": server.base_url}
    async with connect(ws_url, additional_headers=headers) as ws:
        await asyncio.wait_for(ws.recv(), CLOSED_WITHIN_S)  # the hello or first overview
        r = await browser.get("/session")
        assert r.status_code == 200
        r = await other.patch(f"/agents/{agent}", json=change, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert await closed_with(ws) == (1008, "SESSION_ENDED")
    assert (await browser.get("/session")).status_code == 401
    assert (await other.get("/session")).status_code == 200  # other agents stay signed in
    await browser.aclose()
    await other.aclose()
