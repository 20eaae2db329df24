"""Two nodes' dispatchers on one PostgreSQL outbox: one key at a time, in order, none twice."""

from __future__ import annotations

import random

import pytest

from omniroute.engine.claims import OutboxClaims
from omniroute.engine.clock import ManualClock
from omniroute.engine.dispatcher import Dispatcher
from omniroute.engine.engine import Engine
from omniroute.spokes.manager import SpokeManager
from omniroute.store.db import Database
from tests.door_commands import SendOutboxEvents
from tests.fake_spoke import FakeProvider, install
from tests.seed import NOW
from tests.test_dispatcher import SPOKE, add_spoke, until

KEYS = [f"doc-{n}" for n in range(8)]


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """The fake spoke kind, installed."""
    return install(monkeypatch)


async def test_two_nodes_share_the_keys_never_one_key(db: Database, provider: FakeProvider) -> None:
    if db.dialect != "postgresql":
        pytest.skip("claims across nodes need PostgreSQL")
    await add_spoke(db)
    clock = ManualClock(NOW)
    engine = Engine(db, clock)
    await engine.start()
    spokes = SpokeManager(db, clock)
    await spokes.start()
    nodes = [
        Dispatcher(
            db, spokes, clock, concurrency=4, rng=random.Random(n), claims=OutboxClaims(db, name)
        )
        for n, name in enumerate(("node-a", "node-b"))
    ]
    try:
        provider.hold()
        for key in KEYS:
            await engine.execute(SendOutboxEvents(SPOKE, key, (0, 1, 2)))
        for dispatcher in nodes:
            await dispatcher.start()
        # Each node holds four keys at once; together they deliver all eight keys' heads.
        await until(lambda: provider.max_active == len(KEYS))
        provider.release()
        await until(lambda: len(provider.delivered) >= len(KEYS) * 3)
        for dispatcher in nodes:
            await dispatcher.stop()
        assert provider.by_key() == {key: [0, 1, 2] for key in KEYS}
        assert provider.max_active_per_key == 1
        assert len(provider.delivered) == len(KEYS) * 3
        assert all(dispatcher.delivered > 0 for dispatcher in nodes)
    finally:
        provider.release()
        for dispatcher in nodes:
            await dispatcher.stop()
        await spokes.stop()
        await engine.stop()
