"""The engine's SQLite writer: whole batches; no lock wait or checkpoint on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from omniroute.engine.rowwriter import Statement, sqlite_inserts, sqlite_upserts
from omniroute.engine.sqlite_writer import SqliteWriter
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.conftest import reset_schema
from tests.seed import add_agent, seed_catalog


def _channels(*ids: str) -> list[Statement]:
    return sqlite_inserts(t.ChannelRow, [{"id": i, "name": i, "default_capacity": 1} for i in ids])


async def _stored(db: Database) -> set[str]:
    async with db.session() as s:
        return set(await s.scalars(select(t.ChannelRow.id)))


def _in_database_file(uri: str) -> bool:
    main = sqlite3.connect(uri, uri=True)
    try:
        return main.execute("SELECT 1 FROM channels WHERE id = 'chat'").fetchone() is not None
    except sqlite3.OperationalError:  # not even the schema is there yet
        return False
    finally:
        main.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}")
    await reset_schema(db)
    yield db
    await db.dispose()


async def test_a_batch_is_committed_whole_or_not_at_all(store: Database) -> None:
    assert store.sqlite_file is not None
    writer = SqliteWriter(store.sqlite_file)
    try:
        await writer.write(_channels("chat"))
        with pytest.raises(IntegrityError):
            await writer.write(_channels("email") + _channels("chat"))
        assert await _stored(store) == {"chat"}
        await writer.write(_channels("email"))  # the connection is usable after a refusal
    finally:
        await writer.close()
    assert await _stored(store) == {"chat", "email"}


async def test_a_held_write_lock_moves_the_batch_off_the_loop(store: Database) -> None:
    assert store.sqlite_file is not None
    writer = SqliteWriter(store.sqlite_file)
    holder = sqlite3.connect(store.sqlite_file, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(writer.write(_channels("chat")))
        for _ in range(1000):  # the loop keeps running while the writer waits for the lock
            if writer.deferred:
                break
            await asyncio.sleep(0)
        assert writer.deferred == 1
        assert not task.done()
        holder.execute("COMMIT")
        await asyncio.wait_for(task, 10)
    finally:
        holder.close()
        await writer.close()
    assert await _stored(store) == {"chat"}


async def test_checkpoints_copy_the_log_into_the_database_file(store: Database) -> None:
    assert store.sqlite_file is not None
    writer = SqliteWriter(store.sqlite_file, checkpoint_every_s=0)
    # `immutable` reads the database file alone, not the write-ahead log.
    uri = f"file:{store.sqlite_file}?immutable=1"
    try:
        await writer.write(_channels("chat"))
        deadline = time.monotonic() + 10
        n = 0
        while not _in_database_file(uri) and time.monotonic() < deadline:
            n += 1
            await writer.write(_channels(f"c{n}"))  # each write may start the next checkpoint
            await asyncio.sleep(0.01)  # a poll interval: the checkpoint runs in its own thread
        assert _in_database_file(uri)
    finally:
        await writer.close()


async def test_upsert_gives_a_new_row_its_defaults_and_keeps_what_it_does_not_set(
    store: Database,
) -> None:
    assert store.sqlite_file is not None
    await seed_catalog(store)
    await add_agent(store, "a1")
    writer = SqliteWriter(store.sqlite_file)
    key = ("agent_id", "channel_id")
    try:
        row = {"agent_id": "a1", "channel_id": "email"}
        await writer.write(sqlite_upserts(t.AgentChannelRow, key, [row | {"capacity": 4}]))
        await writer.write(sqlite_upserts(t.AgentChannelRow, key, [row | {"available": False}]))
    finally:
        await writer.close()
    async with store.session() as s:
        stored = await s.get(t.AgentChannelRow, ("a1", "email"))
    assert stored is not None
    assert (stored.capacity, stored.available) == (4, False)
