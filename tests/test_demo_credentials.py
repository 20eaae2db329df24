"""Outside demo mode every demo credential is refused; the server says so and they can go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from omniroute.api.app import create_app
from omniroute.cli import app as cli
from omniroute.config import Settings
from omniroute.demo import (
    DEMO_PASSWORD,
    SIM_SECRET,
    SIM_SPOKE,
    demo_credentials,
    load_demo_data,
)
from omniroute.spokes import signing
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.procs import Servers

KEY = "a-production-secret-key-of-forty-characters"
DAVE = {"email": "dave@demo.omniroute.local", "password": DEMO_PASSWORD}
CHAT = {"widget": "demo", "name": "Eve", "email": "eve@example.test", "question": "hi"}
FIXTURES = Path(__file__).parent / "fixtures" / "webhook" / "inbound"


@pytest.fixture
async def demo_db(server_db_url: str) -> str:
    """A migrated database holding the demo data."""
    migrate.upgrade(server_db_url)
    db = Database(server_db_url)
    await load_demo_data(db)
    await db.dispose()
    return server_db_url


@asynccontextmanager
async def client(url: str, *, demo: bool) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=url, demo=demo, secret_key=None if demo else KEY)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            yield c


async def identities(url: str) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            count = await session.scalar(select(func.count()).select_from(t.AgentIdentityRow))
            return int(count or 0)
    finally:
        await db.dispose()


async def test_demo_password_and_widget_work_only_in_demo_mode(demo_db: str) -> None:
    async with client(demo_db, demo=False) as c:
        r = await c.post("/session", json=DAVE)
        assert r.status_code == 401, r.text
        assert "demo mode" in r.json()["error"]["message"]
        assert (await c.get("/supervisor/overview")).status_code == 401
        r = await c.post("/chat/sessions", json=CHAT)
        assert r.status_code == 404, r.text
        assert (await c.get("/chat/widgets/demo")).status_code == 404
        r = await c.get("/agents", headers={"Authorization": "Bearer demo-admin-token"})
        assert r.status_code == 401
    async with client(demo_db, demo=True) as c:
        assert (await c.post("/session", json=DAVE)).status_code == 201
        assert (await c.post("/chat/sessions", json=CHAT)).status_code == 201


async def test_an_event_signed_with_the_demo_secret_is_refused(demo_db: str) -> None:
    body = (FIXTURES / "agent_signed_in.json").read_bytes()
    before = await identities(demo_db)
    async with client(demo_db, demo=False) as c:
        headers = signing.sign(SIM_SECRET, body) | {"content-type": "application/json"}
        r = await c.post(f"/spokes/{SIM_SPOKE}/events", content=body, headers=headers)
    assert r.status_code >= 400, r.text
    assert "demo secret" in r.json()["error"]["message"]
    assert await identities(demo_db) == before


def test_demo_data_remove_takes_every_demo_credential(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(asyncio.run(credentials(demo_db))) == 4
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", demo_db)
    monkeypatch.delenv("OMNIROUTE_CONFIG_FILE", raising=False)
    result = CliRunner().invoke(cli, ["demo-data", "--remove"])
    assert result.exit_code == 0, result.output
    assert "removed 6 demo API tokens" in result.output
    assert asyncio.run(credentials(demo_db)) == []
    spoke, agents = asyncio.run(sim_spoke_and_agents(demo_db))
    assert not spoke.enabled
    assert SIM_SECRET not in spoke.settings.values()
    assert agents == 4  # the demo's configuration and agents stay
    again = CliRunner().invoke(cli, ["demo-data", "--remove"])
    assert "nothing removed" in again.output


async def credentials(url: str) -> list[str]:
    db = Database(url)
    try:
        return await demo_credentials(db)
    finally:
        await db.dispose()


async def sim_spoke_and_agents(url: str) -> tuple[t.SpokeRow, int]:
    db = Database(url)
    try:
        async with db.session() as session:
            spoke = await session.get(t.SpokeRow, SIM_SPOKE)
            assert spoke is not None
            agents = await session.scalar(select(func.count()).select_from(t.AgentRow))
            return spoke, int(agents or 0)
    finally:
        await db.dispose()


def test_the_server_says_at_start_that_demo_data_is_present(
    servers: Servers, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(cli, ["demo-data"], env={"OMNIROUTE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    server = servers.start(url)
    log = server.log()
    assert "the database holds demo data" in log
    assert "omniroute demo-data --remove" in log
