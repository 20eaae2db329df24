"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from omniroute.engine.engine import Engine
from omniroute.store.db import Database
from omniroute.store.tables import Base
from tests.procs import Servers

PG_URL = os.environ.get("OMNIROUTE_TEST_PG_URL")
# Every engine under test sends its commands and results through the wire codec, and fails a
# command that raises after it changed state (the isolation guard).
Engine.checks = True
Engine.guard = True
os.environ.setdefault("OMNIROUTE_ENGINE_CHECKS", "1")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
# pytest-xdist names each worker; each one gets a PostgreSQL database of its own.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    """The PostgreSQL database of this test process, if PostgreSQL is under test."""
    if PG_URL is None or XDIST_WORKER is None:
        yield PG_URL
        return
    name = f"{make_url(PG_URL).database}_{XDIST_WORKER}"
    asyncio.run(_admin_sql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin_sql(PG_URL, f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_sql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str | None) -> str:
    """A URL for an empty database on each backend under test."""
    if request.param == "postgresql":
        assert pg_url is not None
        return pg_url
    return f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"


# PostgreSQL databases whose schema this process made: emptying their tables is enough.
_SCHEMA_MADE: set[str] = set()
_TABLES = sorted(table.name for table in Base.metadata.sorted_tables)


async def reset_schema(db: Database) -> None:
    """An empty database with the current schema (recreated, or on PostgreSQL emptied)."""
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            # A connection an earlier test left behind could hold locks DROP SCHEMA waits on.
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            if db.url in _SCHEMA_MADE and await _public_tables(conn) == _TABLES:
                names = ", ".join(f'"{name}"' for name in _TABLES)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                return
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await conn.run_sync(Base.metadata.create_all)
    if db.dialect == "postgresql":
        _SCHEMA_MADE.add(db.url)


async def _public_tables(conn: AsyncConnection) -> list[str]:
    """The tables in PostgreSQL's public schema, by name."""
    rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    return sorted(name for (name,) in rows)


async def _admin_sql(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def server_db_url(db_url: str) -> Iterator[str]:
    """A database of its own per test (on PostgreSQL a new database, dropped afterwards)."""
    if not db_url.startswith("postgresql"):
        yield db_url
        return
    name = f"omniroute_restart_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin_sql(db_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_sql(db_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """Starts servers logging into tmp_path; stops any left running."""
    pool_ = Servers(tmp_path / "logs")
    yield pool_
    pool_.close()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A database with the current schema and no rows."""
    database = Database(db_url)
    await reset_schema(database)
    yield database
    await database.dispose()
