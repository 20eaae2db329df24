"""Hot standbys follow the change log, loading whole only in doubt; a takeover keeps its lease."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from sqlalchemy import delete, func, select, text

from omniroute.cluster.lease import LeaderLease
from omniroute.cluster.node import ClusterNode, NodeInfo, Role
from omniroute.core.documents import RouteRequest
from omniroute.core.messages import AcceptOffer, CreateInteraction, SetPresence
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine import standby as standby_module
from omniroute.engine.changes import VERSION
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.engine.loader import load_state, read_snapshot
from omniroute.engine.standby import Standby
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog
from tests.test_engine_properties import assert_same_view, lead, stand_by, view


@pytest.fixture
async def pg(db: Database) -> Database:
    """A configured PostgreSQL store (a standby follows a leader on PostgreSQL only)."""
    if db.dialect != "postgresql":
        pytest.skip("hot standbys follow a leader on PostgreSQL (set OMNIROUTE_TEST_PG_URL)")
    await seed_catalog(db)
    await add_rule(db)
    await add_queue(db, "q")
    await add_agent(db, "ann")
    await add_agent(db, "bob", presence="away")
    return db


async def same_as_store(db: Database, standby: Standby, what: str) -> None:
    """The standby, caught up, holds what a fresh load finds."""
    await standby.follow()
    assert standby.state is not None
    async with db.session() as s:
        fresh = await load_state(s)
    assert_same_view(view(standby.state), view(fresh), what)


async def arrive(engine: Engine) -> str:
    """A chat routed to the queue; its interaction id."""
    made = await engine.execute(CreateInteraction("chat", {}, RouteRequest("q")))
    return made.id


async def test_a_standby_follows_and_reloads_only_in_doubt(pg: Database) -> None:
    clock = ManualClock(NOW)
    engine = await lead(pg, clock)
    standby = await stand_by(pg)
    try:
        await arrive(engine)
        await arrive(engine)
        offer = next(iter(engine.state.offers))
        await engine.execute(AcceptOffer(offer, "ann"))
        await engine.execute(SetPresence("bob", "available"))
        await same_as_store(pg, standby, "after following")
        # Two arrivals, an acceptance, a presence: four commits, four changes applied.
        assert (standby.full_loads, standby.applied) == (1, 4)

        # A configuration change is re-read as the leader re-read it.
        await add_agent(pg, "cy")
        await engine.reload_config()
        await same_as_store(pg, standby, "after a configuration change")
        assert standby.state is not None
        assert "cy" in standby.state.agents
        assert standby.full_loads == 1

        # A gap in the log (rows pruned while the standby was behind): a full load.
        await arrive(engine)
        await arrive(engine)
        async with pg.session() as s, s.begin():
            newest = int(await s.scalar(select(func.max(t.EngineChangeRow.seq))) or 0)
            await s.execute(delete(t.EngineChangeRow).where(t.EngineChangeRow.seq == newest - 1))
        await same_as_store(pg, standby, "after a gap")
        assert standby.full_loads == 2

        # A change of a form this node does not know: a full load.
        await insert_change(pg, {"v": VERSION + 1, "items": []})
        await same_as_store(pg, standby, "after an unknown change")
        assert standby.full_loads == 3

        # A change from an epoch before the last one applied: a full load.
        await insert_change(pg, {"v": VERSION}, epoch=0)
        await same_as_store(pg, standby, "after an epoch going back")
        assert standby.full_loads == 4

        # Committed, not yet applied when the leader goes.
        await arrive(engine)
    finally:
        await engine.stop()

    # Taking over: the standby catches up from its last change instead of loading.
    successor = await lead(pg, clock, standby)
    try:
        assert standby.full_loads == 4
        async with pg.session() as s:
            fresh = await load_state(s)
        assert_same_view(view(successor.state), view(fresh), "after the takeover")
        await arrive(successor)
    finally:
        await successor.stop()


async def insert_change(db: Database, body: dict[str, object], epoch: int | None = None) -> None:
    """A change log row after the last one, as a leader of `epoch` (the last one's) would."""
    async with db.session() as s, s.begin():
        await s.execute(
            text(
                "INSERT INTO engine_changes (seq, epoch, body, created_at) "
                "SELECT max(seq) + 1, coalesce(:epoch, max(epoch)), CAST(:body AS json), now() "
                "FROM engine_changes"
            ),
            {"body": json.dumps(body), "epoch": epoch},
        )


async def test_a_change_naming_more_ids_than_one_statement_takes_is_applied(
    pg: Database,
) -> None:
    clock = ManualClock(NOW)
    engine = await lead(pg, clock)
    try:
        standby = await stand_by(pg)
        doc_id = await arrive(engine)
        item_id = engine.state.documents[doc_id].work_item_id
        assert item_id is not None
        # PostgreSQL takes at most 32,767 parameters in one statement.
        many = [f"gone-{n}" for n in range(40_000)]
        await insert_change(
            pg,
            {"v": VERSION, "documents": [*many, doc_id], "items": [*many, item_id],
             "offers": many, "agents": [*many, "ann"]},
        )  # fmt: skip
        await same_as_store(pg, standby, "after a change naming 40,000 ids")
        assert standby.full_loads == 1
        assert item_id in (standby.state.work_items if standby.state else {})
    finally:
        await engine.stop()


async def test_changes_are_applied_a_page_at_a_time_and_a_standby_behind_is_not_warm(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(NOW)
    engine = await lead(pg, clock)
    try:
        standby = await stand_by(pg)
        assert not standby.warm, "loaded, not yet level with the leader"
        await standby.follow()
        assert standby.warm
        for _ in range(3):
            await arrive(engine)
        # Each change names more ids than a page holds: one change a page, in one follow.
        monkeypatch.setattr(standby_module, "PAGE_IDS", 1)
        await same_as_store(pg, standby, "after three pages")
        assert (standby.full_loads, standby.applied) == (1, 3)
        assert not standby.warm, "it was three pages behind"
        await standby.follow()
        assert standby.warm
    finally:
        await engine.stop()


async def test_a_full_load_may_stay_idle_for_its_own_limit(pg: Database) -> None:
    db = Database(pg.url, idle_tx_timeout_s=5, load_idle_tx_timeout_s=90)
    try:
        async with read_snapshot(db) as session:
            limit = await session.scalar(text("SHOW idle_in_transaction_session_timeout"))
        async with db.session() as session:
            usual = await session.scalar(text("SHOW idle_in_transaction_session_timeout"))
    finally:
        await db.dispose()
    assert (limit, usual) == ("90s", "5s")


LEASE_S = 0.6
# The load is held up this many leases: without renewals the lease would lapse meanwhile.
HELD_LEASES = 4


async def _wait_for_holder(lease: LeaderLease, node_id: str) -> None:
    for _ in range(200):  # bounded: 20 s
        view = await lease.view()
        if view.live and view.node_id == node_id:
            return
        await asyncio.sleep(0.1)
    msg = f"{node_id} never took the lease"
    raise AssertionError(msg)


async def test_a_slow_takeover_keeps_the_lease(pg: Database) -> None:
    db = pg
    clock = ManualClock(NOW)
    nodes = [
        ClusterNode(
            Database(db.url),
            Engine(Database(db.url), clock),
            NodeInfo(name, f"http://{name}.invalid", Role.STANDBY),
            lease_s=LEASE_S,
            renew_s=LEASE_S / 4,
        )
        for name in ("first", "second")
    ]
    first, second = nodes
    lease = LeaderLease(db, "observer", LEASE_S)
    starting: list[asyncio.Task[None]] = []
    try:
        # Another transaction holds up the first node's load of the work items.
        async with db.session() as blocker, blocker.begin():
            await blocker.execute(text("LOCK TABLE work_items IN ACCESS EXCLUSIVE MODE"))
            starting.append(asyncio.create_task(first.start()))
            await _wait_for_holder(lease, "first")
            starting.append(asyncio.create_task(second.start()))
            await asyncio.sleep(LEASE_S * HELD_LEASES)  # the scenario: a load this slow
        await asyncio.wait_for(asyncio.gather(*starting), 30)
        view = await lease.view()
        assert (view.node_id, view.epoch) == ("first", 1)
        assert first.engine.running
        assert second.term is None
        assert not second.engine.running
    finally:
        for task in starting:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        for node in nodes:
            await node.stop()
            await node.engine.db.dispose()
            await node.db.dispose()


async def rows(db: Database) -> dict[str, int]:
    """How many rows the tables a leader commit writes hold."""
    tables = ("interactions", "work_items", "engine_changes", "command_results", "agent_events")
    async with db.session() as s:
        return {
            name: int(await s.scalar(text(f"SELECT count(*) FROM {name}")) or 0) for name in tables
        }


async def test_a_keyed_command_runs_once_and_a_deposed_leader_writes_nothing(
    pg: Database,
) -> None:
    engine = await lead(pg, ManualClock(NOW))
    try:
        command = CreateInteraction("chat", {}, RouteRequest("q"))
        first = await engine.execute(command, key="retry-1")
        before = await rows(pg)
        # A retry under the same key is answered from the outcome kept in the first commit.
        again = await engine.execute(command, key="retry-1")
        assert again.id == first.id
        assert await rows(pg) == before

        # Another node takes the lead: this one's next commit writes nothing and it stops.
        async with pg.session() as s, s.begin():
            await s.execute(text("UPDATE cluster_lease SET node_id = 'other', epoch = epoch + 1"))
        with pytest.raises(DomainError) as refused:
            await engine.execute(command, key="retry-2")
        assert refused.value.code is ErrorCode.STORE_UNAVAILABLE
        assert not engine.running
        assert await rows(pg) == before
    finally:
        await engine.stop()
