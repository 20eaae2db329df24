"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from omniroute.store.db import Database
from omniroute.store.tables import Base

PG_URL = os.environ.get("OMNIROUTE_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty database on each backend under test."""
    if request.param == "postgresql":
        assert PG_URL is not None
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"


async def reset_schema(db: Database) -> None:
    """Drop and recreate every table."""
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await conn.run_sync(Base.metadata.create_all)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A database with the current schema and no rows."""
    database = Database(db_url)
    await reset_schema(database)
    yield database
    await database.dispose()
