"""An app per test on a fresh database, with seeded catalog, agents and tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omniroute.api.app import create_app
from omniroute.auth_tokens import hash_token
from omniroute.config import Settings
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.conftest import reset_schema
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog

TOKENS = {
    "admin": ("admin", None),
    "integration": ("integration", None),
    "alice": ("agent", "alice"),
    "bob": ("agent", "bob"),
    "carol": ("agent", "carol"),
}


@dataclass
class Api:
    """A test client with one header set per seeded token."""

    client: httpx.AsyncClient
    app: FastAPI
    clock: ManualClock

    @property
    def engine(self) -> Engine:
        """The app's engine."""
        engine: Engine = self.app.state.engine
        return engine

    def auth(self, who: str) -> dict[str, str]:
        """Authorization headers for a seeded token."""
        return {"Authorization": f"Bearer token-{who}"}


async def seed_api(db: Database) -> None:
    """Catalog, a rule, two queues, three agents (offline) and tokens."""
    await seed_catalog(db)
    await add_rule(db, presence_after_timeout="away")
    await add_rule(db, "strict", allowed_to_decline=False, offer_timeout_s=None)
    await add_queue(db, "support", ["chat", "email"], priority=10)
    await add_queue(db, "vip", ["chat"], rule_id="strict", priority=1)
    await add_queue(db, "cases", ["case"])
    for name in ("alice", "bob", "carol"):
        await add_agent(db, name, presence="offline", skills={"english": 3})
    async with db.session() as s, s.begin():
        for name, (role, agent_id) in TOKENS.items():
            s.add(
                t.ApiTokenRow(
                    id=f"tok-{name}",
                    name=name,
                    token_hash=hash_token(f"token-{name}"),
                    role=role,
                    agent_id=agent_id,
                    created_at=NOW,
                )
            )


async def reseed(db_url: str) -> None:
    """Empty the database at `db_url` and seed it as every api test expects."""
    db = Database(db_url)
    await reset_schema(db)
    await seed_api(db)
    await db.dispose()


@asynccontextmanager
async def running(db_url: str, clock: ManualClock, **settings: Any) -> AsyncIterator[Api]:
    """The app started on an existing database (with these settings changed); stopped on exit."""
    app = create_app(Settings(database_url=db_url, demo=True, **settings), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            yield Api(c, app, clock)


async def add_supervisor_token(api: Api) -> dict[str, str]:
    """Add a `supervisor` role token; its Authorization header."""
    return await seed_supervisor_token(api.app.state.db)


async def seed_supervisor_token(db: Database) -> dict[str, str]:
    """Add a `supervisor` role token to the database; its Authorization header."""
    async with db.session() as s, s.begin():
        s.add(
            t.ApiTokenRow(
                id="tok-sup",
                name="sup",
                token_hash=hash_token("token-sup"),
                role="supervisor",
                created_at=NOW,
            )
        )
    return {"Authorization": "Bearer token-sup"}


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Api]:
    """A running app with seeded data and a manual clock."""
    db = Database(db_url)
    await reset_schema(db)
    await seed_api(db)
    await db.dispose()
    clock = ManualClock(NOW)
    # One node: a command that finds no running engine gives up after 3 s, not 15.
    settings = Settings(database_url=db_url, demo=True, forward_timeout_s=3)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            yield Api(c, app, clock)
