"""The migrations build exactly the schema that tables.py describes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from omniroute.store.migrate import alembic_config, current, head, upgrade
from omniroute.store.search_ddl import include_name
from omniroute.store.tables import Base

PG_URL = os.environ.get("OMNIROUTE_TEST_PG_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database (on PostgreSQL, a database created for the test)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'omniroute.db'}"
        return
    assert PG_URL is not None
    base = PG_URL
    name = f"omniroute_mig_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _diff_and_tables(connection: Connection) -> tuple[list[Any], set[str]]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    return compare_metadata(context, Base.metadata), set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff_and_tables)
    finally:
        await engine.dispose()


def test_upgrade_to_head_matches_tables(empty_db_url: str) -> None:
    assert current(empty_db_url) is None
    upgrade(empty_db_url)
    assert current(empty_db_url) == head()
    diff, tables = asyncio.run(_inspect(empty_db_url))
    assert diff == [], "migrations differ from tables.py; rerun scripts/regen_migration.sh"
    assert set(Base.metadata.tables) <= tables


def test_upgrade_twice_is_a_no_op(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)
    assert current(empty_db_url) == head()


def test_downgrade_to_base_removes_every_table(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    command.downgrade(alembic_config(empty_db_url), "base")
    assert current(empty_db_url) is None
    _, tables = asyncio.run(_inspect(empty_db_url))
    assert tables.isdisjoint(Base.metadata.tables)


def test_current_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    assert current(f"sqlite+aiosqlite:///{path}") is None
    assert not path.exists()


async def test_upgrade_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}"
    upgrade(url)
    assert current(url) == head()


async def _run(url: str, *statements: str) -> list[Any]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            rows: list[Any] = []
            for statement in statements:
                result = await connection.execute(text(statement))
                rows = list(result.all()) if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def test_the_genesys_and_connect_id_maps_move_into_the_spoke_store_and_back(
    empty_db_url: str,
) -> None:
    upgrade(empty_db_url, "0010_agent_preferences")
    at = "'2026-11-25 10:00:00+00:00'"
    asyncio.run(
        _run(
            empty_db_url,
            "INSERT INTO spokes (name, kind, settings, presence_map, allow_provisioning, enabled,"
            f" created_at, updated_at) VALUES ('gc', 'genesys', '{{}}', '{{}}', false, true, {at},"
            f" {at}), ('ac', 'amazon_connect', '{{}}', '{{}}', false, true, {at}, {at})",
            "INSERT INTO genesys_conversations (spoke, document_id, conversation_id, created_at)"
            f" VALUES ('gc', 'doc-1', 'conv-1', {at})",
            "INSERT INTO connect_contacts (spoke, document_id, contact_id, work_item_id,"
            f" provider_queue_id, created_at, updated_at) VALUES ('ac', 'doc-2', 'c-2', 'wi-2',"
            f" 'PQ', {at}, {at}), ('deleted', 'doc-3', 'c-3', 'wi-3', NULL, {at}, {at})",
        )
    )
    upgrade(empty_db_url)
    rows = asyncio.run(
        _run(empty_db_url, "SELECT spoke, key, version, data FROM spoke_data ORDER BY spoke")
    )
    assert [(r[0], r[1], r[2], json.loads(r[3])) for r in rows] == [
        (
            "ac",
            "contact/doc-2",
            1,
            {
                "contact_id": "c-2",
                "document_id": "doc-2",
                "work_item_id": "wi-2",
                "provider_queue_id": "PQ",
            },
        ),
        ("gc", "conversation/doc-1", 1, {"conversation_id": "conv-1"}),
    ]
    _, tables = asyncio.run(_inspect(empty_db_url))
    assert {"genesys_conversations", "connect_contacts"}.isdisjoint(tables)
    command.downgrade(alembic_config(empty_db_url), "0010_agent_preferences")
    back = asyncio.run(
        _run(
            empty_db_url,
            "SELECT g.conversation_id, c.contact_id, c.work_item_id FROM genesys_conversations g,"
            " connect_contacts c",
        )
    )
    assert [tuple(r) for r in back] == [("conv-1", "c-2", "wi-2")]


def test_migrated_store_keeps_search_current(empty_db_url: str) -> None:
    """The search triggers survive every migration (a batch rebuild on SQLite would drop them)."""
    upgrade(empty_db_url)
    at = "'2026-11-25 10:00:00+00:00'"
    asyncio.run(
        _run(
            empty_db_url,
            "INSERT INTO channels (id, name, default_capacity) VALUES ('chat', 'Chat', 1)",
            "INSERT INTO interactions (id, channel_id, state, customer_name, customer_email,"
            f" subject, created_at, updated_at) VALUES ('i-1', 'chat', 'new', 'Ann', 'a@x.com',"
            f" 'Lost parcel', {at}, {at})",
            "INSERT INTO chat_messages (id, interaction_id, sender, author_name, body, created_at)"
            f" VALUES (1, 'i-1', 'customer', 'Ann', 'tracking please', {at})",
            "INSERT INTO cases (id, channel_id, state, subject, description, customer_name,"
            f" customer_email, number, created_at, updated_at) VALUES ('c-1', 'chat', 'new',"
            f" 'Broken kettle', '', '', '', 1001, {at}, {at})",
        )
    )
    rows = asyncio.run(
        _run(empty_db_url, "SELECT kind, ref_id, body FROM search_entries ORDER BY kind, source")
    )
    found: dict[tuple[str, str], str] = {}
    for kind, ref_id, body in rows:
        found[kind, ref_id] = f"{found.get((kind, ref_id), '')} {body}"
    assert "Lost parcel" in found["interaction", "i-1"]
    assert "tracking please" in found["interaction", "i-1"]
    assert "1001" in found["case", "c-1"]
