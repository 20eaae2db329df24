"""The Genesys spoke's conversation links outlive the process that made them."""

from __future__ import annotations

from omniroute.spokes.genesys.links import StoredLinks
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.seed import NOW


async def test_links_are_shared_across_instances_and_scoped_by_spoke(db: Database) -> None:
    async with db.session() as s, s.begin():
        for name in ("gc-1", "gc-2"):
            s.add(t.SpokeRow(name=name, kind="genesys", created_at=NOW, updated_at=NOW))
    first = StoredLinks(db.url, "gc-1")
    await first.put("doc-1", "conv-a")
    await first.put("doc-1", "conv-a")  # a retried delivery stores it again
    await first.close()
    again = StoredLinks(db.url, "gc-1")
    other = StoredLinks(db.url, "gc-2")
    try:
        assert await again.get("doc-1") == "conv-a"
        assert await again.get("doc-2") is None
        assert await other.get("doc-1") is None
    finally:
        await again.close()
        await other.close()
