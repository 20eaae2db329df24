"""The spoke store: JSON values per spoke instance and key, in the core's database."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from omniroute.config import Settings
from omniroute.spokes.genesys.links import ConversationLinks
from omniroute.spokes.manager import SpokeManager
from omniroute.spokes.store import MAX_VALUE_BYTES, MemorySpokeStore, SpokeStore, SpokeStoreError
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.spoke_data import DatabaseSpokeStore
from tests.seed import NOW


async def _spokes(db: Database, *names: str) -> None:
    async with db.session() as s, s.begin():
        for name in names:
            s.add(t.SpokeRow(name=name, kind="genesys", created_at=NOW, updated_at=NOW))


async def test_values_outlive_the_instance_and_are_scoped_by_spoke(db: Database) -> None:
    await _spokes(db, "gc-1", "gc-2")
    first = ConversationLinks(DatabaseSpokeStore(db, "gc-1"))
    await first.put("doc-1", "conv-a")
    await first.put("doc-1", "conv-a")  # a retried delivery stores it again
    again = ConversationLinks(DatabaseSpokeStore(db, "gc-1"))
    other = ConversationLinks(DatabaseSpokeStore(db, "gc-2"))
    assert await again.get("doc-1") == "conv-a"
    assert await again.get("doc-2") is None
    assert await other.get("doc-1") is None


@pytest.fixture(params=["memory", "database"])
async def store(request: pytest.FixtureRequest, db: Database) -> SpokeStore:
    if request.param == "memory":
        return MemorySpokeStore("acme")
    await _spokes(db, "acme")
    return DatabaseSpokeStore(db, "acme")


async def test_load_save_remove_and_prefix(store: SpokeStore) -> None:
    assert await store.load("cursor") is None
    await store.save("cursor", {"page": 3, "ids": ["a", "b"]})
    await store.save("map/1", "one")
    await store.save("map/2", "two")
    await store.save("map%/3", "not under map/")
    assert await store.load("cursor") == {"page": 3, "ids": ["a", "b"]}
    assert await store.load_prefix("map/") == {"map/1": "one", "map/2": "two"}
    await store.remove("map/1")
    await store.remove("map/1")  # removing twice is harmless
    assert await store.load_prefix("map/") == {"map/2": "two"}


async def test_a_versioned_key_migrates_older_data_once(store: SpokeStore) -> None:
    await store.key("profile", version=1).save({"name": "Ada"})
    calls: list[int] = []

    async def migrate(old: int, data: Any) -> Any:
        calls.append(old)
        return {"names": [data["name"]]}

    v2 = store.key("profile", version=2, migrate=migrate)
    assert await v2.load() == {"names": ["Ada"]}
    assert await v2.load() == {"names": ["Ada"]}
    assert calls == [1]
    with pytest.raises(SpokeStoreError, match="holds version 2"):
        await store.key("profile", version=1).load()
    with pytest.raises(SpokeStoreError, match="no migrate function"):
        await store.key("profile", version=3).load()


async def test_bad_keys_and_values_are_refused_and_nothing_is_written(store: SpokeStore) -> None:
    with pytest.raises(SpokeStoreError, match="1 to 200 characters"):
        await store.save("", 1)
    with pytest.raises(SpokeStoreError, match="1 to 200 characters"):
        await store.save("k" * 201, 1)
    with pytest.raises(SpokeStoreError, match="must be JSON"):
        await store.save("when", object())
    with pytest.raises(SpokeStoreError, match="limited to"):
        await store.save("big", "x" * MAX_VALUE_BYTES)
    assert await store.load_prefix("") == {}


async def test_deleting_the_spoke_deletes_its_data(db: Database) -> None:
    await _spokes(db, "gone")
    await DatabaseSpokeStore(db, "gone").save("k", 1)
    async with db.session() as s, s.begin():
        row = await s.get(t.SpokeRow, "gone")
        assert row is not None
        await s.delete(row)
    assert await DatabaseSpokeStore(db, "gone").load("k") is None


async def test_the_value_limit_is_the_configured_one(db: Database) -> None:
    await _spokes(db, "small")
    small = DatabaseSpokeStore(db, "small", max_value_bytes=2048)
    await small.save("fits", "x" * 2000)
    with pytest.raises(SpokeStoreError, match="limited to 2048 bytes"):
        await small.save("big", "x" * 2100)
    assert await small.load_prefix("") == {"fits": "x" * 2000}
    manager = SpokeManager(db, store_max_value_bytes=2048)
    assert manager.store_max_value_bytes == 2048
    assert Settings(demo=True, spoke_store_max_value_bytes=4096).spoke_store_max_value_bytes == 4096
    with pytest.raises(ValidationError):
        Settings(demo=True, spoke_store_max_value_bytes=10)
