"""The supervisor overview counts exactly what a scripted scenario did, minute by minute."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta

import pytest

from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.messages import (
    AcceptOffer,
    EndInteraction,
    LiveOverview,
    RejectOffer,
    SetPresence,
)
from omniroute.domain.model import DocumentType
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.services.supervisor import settings
from omniroute.services.supervisor.feed import OverviewFeed, Subscription
from omniroute.services.supervisor.overview import Overview, build_overview
from omniroute.store.db import Database
from tests.door_commands import create_document
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    await seed_catalog(db)
    await add_rule(db, presence_after_timeout="away")
    await add_queue(db, "support", ["chat"], priority=10)
    await add_queue(db, "sales", ["chat"], priority=10)
    await add_queue(db, "idle", ["email"])
    await add_agent(db, "alice")
    await add_agent(db, "bob", presence="offline", capacities={"chat": 1})
    await add_agent(db, "carol", presence="offline")
    async with db.session() as s, s.begin():
        await settings.set_threshold(s, "sales", 60, NOW)
    eng = Engine(db, ManualClock(NOW))
    await eng.start()
    yield eng
    await eng.stop()


class Script:
    """Drives the engine along a timeline measured in seconds from NOW."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        self.clock = clock

    async def at(self, second: float) -> None:
        """Move the clock to NOW + second and fire what fell due."""
        self.clock.advance((NOW + timedelta(seconds=second) - self.clock.now()).total_seconds())
        await self.engine.tick()

    async def chat(self, queue: str) -> tuple[str, str]:
        """Create a chat in a queue; returns the interaction and work item ids."""
        new = NewDocument(DocumentType.INTERACTION, "chat", {}, RouteRequest(queue))
        doc, item = await create_document(self.engine, new)
        assert item is not None
        return doc.id, item.id

    def offer_of(self, item_id: str, agent: str) -> str:
        """The pending offer of an item, which must be to this agent."""
        item = self.engine.state.work_items[item_id]
        assert item.agent_id == agent
        assert item.offer_id is not None
        return item.offer_id


async def run_scenario(engine: Engine) -> Script:
    """answered fast, rejected then answered late, timed out, abandoned."""
    s = Script(engine)
    await s.at(0)
    _, a = await s.chat("support")
    await s.at(5)
    offer = s.offer_of(a, "alice")
    await engine.execute(AcceptOffer(offer, "alice"))
    await s.at(10)
    _, b = await s.chat("support")
    await s.at(15)
    offer = s.offer_of(b, "alice")
    await engine.execute(RejectOffer(offer, "alice", "wrong", None))
    await s.at(20)
    _, c = await s.chat("sales")
    s.offer_of(c, "alice")
    await s.at(50)  # the 30 s offer timeout falls due: alice goes away
    await s.at(65)
    await engine.execute(SetPresence("bob", "available", None))
    await s.at(70)
    offer = s.offer_of(b, "bob")
    await engine.execute(AcceptOffer(offer, "bob"))
    await s.at(80)
    d_doc, _ = await s.chat("sales")
    await s.at(90)
    await engine.execute(EndInteraction(d_doc, None, None, None))
    await s.at(100)
    return s


def queue(overview: Overview, queue_id: str) -> dict[str, object]:
    """One queue's figures as a plain dict."""
    row = next(q for q in overview.queues if q.queue_id == queue_id)
    return {"threshold_s": row.threshold_s} | asdict(row.figures)


async def test_overview_counts_the_scenario(engine: Engine, db: Database) -> None:
    await run_scenario(engine)
    ov = await build_overview(engine, db)
    assert ov.generated_at == NOW + timedelta(seconds=100)
    assert ov.window_start == NOW + timedelta(minutes=1) - timedelta(minutes=59)
    assert [q.queue_id for q in ov.queues] == ["sales", "support", "idle"]
    assert queue(ov, "support") == {
        "threshold_s": 20,
        "depth": 0,
        "oldest_queued_at": None,
        "longest_wait_s": 0.0,
        "offered": 0,
        "in_progress": 2,
        "items_created": 2,
        "answered": 2,
        "answered_within": 1,
        "abandoned": 0,
        "service_level": 0.5,
        "offers_accepted": 2,
        "offers_rejected": 1,
        "offers_timed_out": 0,
    }
    assert queue(ov, "sales") == {
        "threshold_s": 60,
        "depth": 1,
        "oldest_queued_at": NOW + timedelta(seconds=20),
        "longest_wait_s": 80.0,
        "offered": 0,
        "in_progress": 0,
        "items_created": 2,
        "answered": 0,
        "answered_within": 0,
        "abandoned": 1,
        "service_level": 0.0,
        "offers_accepted": 0,
        "offers_rejected": 0,
        "offers_timed_out": 1,
    }
    idle = queue(ov, "idle")
    assert idle["depth"] == 0
    assert idle["items_created"] == 0
    assert idle["service_level"] is None
    totals = ov.totals
    assert (totals.depth, totals.longest_wait_s, totals.items_created) == (1, 80.0, 4)
    assert (totals.answered, totals.answered_within, totals.abandoned) == (2, 1, 1)
    assert totals.service_level == pytest.approx(1 / 3)
    assert (totals.offers_accepted, totals.offers_rejected, totals.offers_timed_out) == (2, 1, 1)


async def test_overview_counts_agents(engine: Engine, db: Database) -> None:
    await run_scenario(engine)
    ov = await build_overview(engine, db)
    a = ov.agents
    assert (a.total, a.busy, a.idle, a.unavailable) == (3, 2, 0, 1)
    assert {p.presence_id: p.agents for p in a.by_presence} == {
        "available": 1,
        "away": 1,
        "offline": 1,
    }
    assert a.by_presence[0].presence_id == "available"


async def test_minutes_show_what_happened_when(engine: Engine, db: Database) -> None:
    await run_scenario(engine)
    ov = await build_overview(engine, db)
    assert len(ov.minutes) == 60
    assert ov.minutes[-1].start == NOW + timedelta(minutes=1)
    assert ov.minutes[-2].start == NOW
    busy = {m.start: m for m in ov.minutes if m.start >= NOW}
    first, second = busy[NOW], busy[NOW + timedelta(minutes=1)]
    assert (first.items_created, first.offers_accepted) == (3, 1)
    assert (first.offers_rejected, first.offers_timed_out) == (1, 1)
    assert first.queue_depth == 2  # B (rejected) and C (timed out) waited at 00:01:00
    assert (second.items_created, second.offers_accepted) == (1, 1)
    assert (second.offers_rejected, second.offers_timed_out) == (0, 0)
    assert second.queue_depth == ov.totals.depth == 1
    quiet = [m for m in ov.minutes if m.start < NOW]
    assert all(
        (m.items_created, m.offers_accepted, m.offers_rejected, m.offers_timed_out, m.queue_depth)
        == (0, 0, 0, 0, 0)
        for m in quiet
    )


async def test_history_leaves_the_window_after_an_hour(engine: Engine, db: Database) -> None:
    s = await run_scenario(engine)
    await s.at(100 + 3600)
    ov = await build_overview(engine, db)
    totals = ov.totals
    assert (totals.items_created, totals.answered, totals.abandoned) == (0, 0, 0)
    assert (totals.offers_accepted, totals.offers_rejected, totals.offers_timed_out) == (0, 0, 0)
    assert totals.service_level is None
    # C still waits: it is live state, so it stays in depth and its wait keeps growing.
    assert totals.depth == 1
    assert totals.longest_wait_s == 80.0 + 3600
    assert [m.queue_depth for m in ov.minutes] == [1] * 60


async def test_feed_wakes_on_changes_not_on_reads(engine: Engine, db: Database) -> None:
    live = OverviewFeed(engine, db, min_interval_s=0.0)
    sub = live.subscribe()
    try:
        await engine.tick()
        await engine.query(LiveOverview())
        assert not live.pending
        await Script(engine).chat("sales")
        overview = await asyncio.wait_for(sub.next(), 5)
        assert overview.totals.items_created == 1
    finally:
        await live.unsubscribe(sub)


async def test_a_slow_subscriber_gets_only_the_newest_overview(
    engine: Engine, db: Database
) -> None:
    older = await build_overview(engine, db)
    await Script(engine).chat("sales")
    newer = await build_overview(engine, db)
    sub = Subscription()
    sub.offer(older)
    sub.offer(newer)
    assert await asyncio.wait_for(sub.next(), 5) is newer
