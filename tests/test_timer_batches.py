"""Timers due at once fire in bounded batches: small commits, none lost, none fired twice."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from omniroute.core import door
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.state import Tx
from omniroute.core.timers import TimerHeap, TimerKind
from omniroute.domain.model import DocumentType
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.door_commands import create_command
from tests.seed import NOW, add_queue, add_rule, seed_catalog
from tests.test_engine_properties import lead, stand_by

ITEMS = 40
BATCH = 7
STEPS = [
    {"after_s": 60, "action": "raise_priority", "raise_by": 1},
    {"after_s": 86_400, "action": "raise_priority", "raise_by": 1},
]


def test_pop_due_takes_the_earliest_up_to_the_limit() -> None:
    heap = TimerHeap()
    for n in (5, 1, 4, 2, 3):
        heap.add(NOW + timedelta(seconds=n), TimerKind.ESCALATE, f"w{n}")
    heap.add(NOW + timedelta(seconds=60), TimerKind.ESCALATE, "later")
    now = NOW + timedelta(seconds=10)
    assert heap.pop_due(now, 2) == [(TimerKind.ESCALATE, "w1"), (TimerKind.ESCALATE, "w2")]
    assert heap.pop_due(now, 2) == [(TimerKind.ESCALATE, "w3"), (TimerKind.ESCALATE, "w4")]
    assert heap.pop_due(now, 2) == [(TimerKind.ESCALATE, "w5")]
    assert heap.pop_due(now, 2) == []
    assert len(heap) == 1


async def _steps(db: Database) -> dict[str, tuple[int, int]]:
    """Each work item's escalation step and priority, as stored."""
    wi = t.WorkItemRow
    async with db.session() as s:
        rows = await s.execute(select(wi.id, wi.escalation_step, wi.priority))
        return {item_id: (step, priority) for item_id, step, priority in rows}


async def test_due_timers_fire_in_bounded_commits_across_a_restart(db: Database) -> None:
    await seed_catalog(db)
    await add_rule(db)
    await add_queue(db, "support", escalation=STEPS)
    clock = ManualClock(NOW)
    first = Engine(db, clock, timer_batch=BATCH)
    await first.start()
    new = NewDocument(DocumentType.INTERACTION, "chat", {}, RouteRequest("support"))
    await asyncio.gather(*(first.execute(create_command(new)) for _ in range(ITEMS)))
    await first.stop()
    queued = await _steps(db)
    assert len(queued) == ITEMS
    assert {step for step, _ in queued.values()} == {0}

    # Down past every item's first step: all of them fall due at once.
    clock.advance(61)
    second = Engine(Database(db.url), clock, timer_batch=BATCH)
    await second.start()  # its first batch fires the earliest BATCH
    await second.stop()  # lets the batch in flight finish, then stops between batches
    await second.db.dispose()
    part = await _steps(db)
    fired = [item_id for item_id, (step, _) in part.items() if step]
    assert 0 < len(fired) < ITEMS
    assert len(fired) % BATCH == 0, "each commit fires a whole batch, never more"

    third = Engine(Database(db.url), clock, timer_batch=BATCH)
    await third.start()
    try:
        for _ in range(ITEMS):  # bounded: one batch per tick
            due = third.state.timers.next_due()
            if due is None or due > clock.now():
                break
            await third.tick()
    finally:
        await third.stop()  # the last batch may still be in flight: it commits first
        await third.db.dispose()
    live = {i.id: (i.escalation_step, i.priority) for i in third.state.work_items.values()}
    assert third.batches >= math.ceil((ITEMS - len(fired)) / BATCH)
    done = await _steps(db)
    # Every item took its first step exactly once: none lost, none raised twice.
    assert done == {item_id: (1, priority - 1) for item_id, (_, priority) in queued.items()}
    assert live == done


async def test_the_engine_is_ready_once_what_fell_due_while_down_has_fired(db: Database) -> None:
    await seed_catalog(db)
    await add_rule(db)
    await add_queue(db, "support", escalation=STEPS)
    clock = ManualClock(NOW)
    first = Engine(db, clock)
    await first.start()
    new = NewDocument(DocumentType.INTERACTION, "chat", {}, RouteRequest("support"))
    for _ in range(3):
        await first.execute(create_command(new))
    await first.stop()
    clock.advance(61)

    second = Engine(Database(db.url), clock)
    starting = asyncio.create_task(second.start())
    ran_before_ready = False
    try:
        for _ in range(1_000_000):  # bounded; each turn yields to the engine
            if second.ready:
                break
            ran_before_ready |= second.running
            await asyncio.sleep(0)
        # Readiness (GET /readyz) waits for the first batch, not just a running loop.
        assert second.ready
        assert ran_before_ready
        assert {step for step, _ in (await _steps(db)).values()} == {1}
        await starting
    finally:
        await second.stop()
        await second.db.dispose()


THREE_STEPS = [
    {"after_s": 60, "action": "raise_priority", "raise_by": 1},
    {"after_s": 120, "action": "raise_priority", "raise_by": 1},
    {"after_s": 86_400, "action": "raise_priority", "raise_by": 1},
]


async def test_a_takeover_amid_overdue_steps_fires_each_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next leader (a warm standby on PostgreSQL, a restart on SQLite) takes every step the
    old one left, each once and in order; nothing the old one committed is taken again."""
    await seed_catalog(db)
    await add_rule(db)
    await add_queue(db, "support", escalation=THREE_STEPS)
    clock = ManualClock(NOW)
    cluster = db.dialect == "postgresql"
    first = await lead(db, clock, timer_batch=BATCH) if cluster else Engine(db, clock)
    if not cluster:
        first.timer_batch = BATCH
        await first.start()
    # On PostgreSQL the next leader is a warm standby with a database handle of its own.
    other = Database(db.url)
    standby = await stand_by(other) if cluster else None
    new = NewDocument(DocumentType.INTERACTION, "chat", {}, RouteRequest("support"))
    await asyncio.gather(*(first.execute(create_command(new)) for _ in range(ITEMS)))
    queued = await _steps(db)

    # Down long enough for two steps of every item: the leader starts on the backlog and dies.
    clock.advance(121)
    await first.tick()
    first.abandon()  # killed, perhaps mid-commit
    await first.stop()
    if standby is not None:
        await standby.follow()  # what it committed reaches the standby's warm state
    left = await _steps(db)
    assert 0 < sum(step for step, _ in left.values()) < 2 * ITEMS

    fired: list[tuple[TimerKind, str]] = []
    fire = door.fire_timer

    def counted(tx: Tx, kind: TimerKind, target: str) -> None:
        fired.append((kind, target))
        fire(tx, kind, target)

    monkeypatch.setattr(door, "fire_timer", counted)
    if standby is not None:
        second = await lead(other, clock, standby, timer_batch=BATCH)
    else:
        second = Engine(other, clock, timer_batch=BATCH)
        await second.start()
    try:
        for _ in range(2 * ITEMS):  # bounded: one batch per tick
            due = second.state.timers.next_due()
            if due is None or due > clock.now():
                break
            await second.tick()
        live = {i.id: (i.escalation_step, i.priority) for i in second.state.work_items.values()}
    finally:
        await second.stop()
        await second.db.dispose()
    if standby is not None:
        assert standby.full_loads == 1, "the takeover caught up instead of loading"
    escalations = Counter(target for kind, target in fired if kind is TimerKind.ESCALATE)
    assert escalations == {i: 2 - step for i, (step, _) in left.items() if step < 2}
    done = await _steps(db)
    assert done == {i: (2, priority - 2) for i, (_, priority) in queued.items()}
    assert live == done
