"""Turn stored work items, offers and presence events into interval statistics, once each.

Closed 15-minute intervals are computed in order from a watermark (a `mark` row), a day at a
time; a UTC day whose 96 intervals are done is summed into one daily row. Rows older than the
retention are deleted. Running again after a restart continues where it stopped.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.services.reports.figures import (
    DAY,
    INTERVAL,
    Item,
    OfferRec,
    PresenceChange,
    Stat,
    Stats,
    chunk_stats,
    floor_interval,
)
from omniroute.services.reports.sums import FIGURES, summed
from omniroute.services.supervisor.history import load_thresholds
from omniroute.services.supervisor.overview import DEFAULT_THRESHOLD_S
from omniroute.store import tables as t
from omniroute.store.db import Database

MARK = "mark"
SCOPES = ("queue", "agent")
# Intervals computed per transaction: one day.
CHUNK = 96


async def last_mark(session: AsyncSession) -> datetime | None:
    """The start of the newest computed interval, if any (an index lookup, not a scan)."""
    s = t.IntervalStatRow
    return await session.scalar(select(func.max(s.start)).where(s.span == "15m", s.scope == MARK))


async def _watermark(session: AsyncSession, now: datetime, retention_days: int) -> datetime:
    last = await last_mark(session)
    if last is not None:
        return last + INTERVAL
    first = await session.scalar(select(func.min(t.WorkItemRow.created_at)))
    floor = floor_interval(now - timedelta(days=retention_days))
    if first is None:
        return floor_interval(now)
    return max(floor_interval(first), floor)


Held = dict[str, Item]


async def _items(
    session: AsyncSession, a: datetime, b: datetime, held: Held | None
) -> tuple[list[Item], Held]:
    """Items with an event in [a, b) or held by an agent across it; and those held at `b`.

    Each kind of event is one bounded index range, so a day costs its own rows. Items held
    across the whole of [a, b) are those held at `a`: `held`, carried from the chunk before
    (every item held at `a` was accepted in that chunk or held across it), or, for the first
    chunk of a run, one query (a scan while back-filling, where nearly every item ends after `b`).
    """
    wi = t.WorkItemRow
    columns = (
        wi.id,
        wi.queue_id,
        wi.agent_id,
        wi.created_at,
        wi.accepted_at,
        wi.ended_at,
        wi.state,
        wi.cancel_reason,
        wi.transfer_type,
        wi.transfer_from_agent_id,
    )
    ranges = [
        and_(wi.created_at >= a, wi.created_at < b),
        and_(wi.accepted_at >= a, wi.accepted_at < b),
        and_(wi.ended_at >= a, wi.ended_at < b),
    ]
    if held is None:
        held_at_a = and_(
            wi.accepted_at < a,
            wi.agent_id.is_not(None),
            or_(wi.ended_at.is_(None), wi.ended_at >= a),
        )
        ranges.insert(0, held_at_a)
    # Rows read now replace carried ones: an item may have ended since.
    found: Held = dict(held or {})
    for where in ranges:
        for row in await session.execute(select(*columns).where(where)):
            found[row.id] = Item(
                row.queue_id,
                row.agent_id,
                row.created_at,
                row.accepted_at,
                row.ended_at,
                row.state,
                row.cancel_reason,
                row.transfer_type,
                row.transfer_from_agent_id,
            )
    held_at_b = {
        key: item
        for key, item in found.items()
        if item.agent_id is not None
        and item.accepted_at is not None
        and item.accepted_at < b
        and (item.ended_at is None or item.ended_at >= b)
    }
    return list(found.values()), held_at_b


async def _offers(session: AsyncSession, a: datetime, b: datetime) -> list[OfferRec]:
    """Offers made or ended in [a, b), with their item's queue."""
    of, wi = t.OfferRow, t.WorkItemRow
    found: dict[str, OfferRec] = {}
    for at in (of.created_at, of.ended_at):
        rows = await session.execute(
            select(of.id, wi.queue_id, of.agent_id, of.state, of.created_at, of.ended_at)
            .join(wi, wi.id == of.work_item_id)
            .where(at >= a, at < b)
        )
        for row in rows:
            found[row.id] = OfferRec(
                row.queue_id, row.agent_id, row.state, row.created_at, row.ended_at
            )
    return list(found.values())


async def _presence(
    session: AsyncSession, a: datetime, b: datetime
) -> dict[str, list[PresenceChange]]:
    ev = t.AgentEventRow
    changes: dict[str, list[PresenceChange]] = defaultdict(list)
    before = (
        select(ev.agent_id, func.max(ev.seq).label("seq"))
        .where(ev.type == "presence.changed", ev.created_at <= a)
        .group_by(ev.agent_id)
        .subquery()
    )
    first = await session.execute(
        select(ev.agent_id, ev.created_at, ev.payload).join(before, before.c.seq == ev.seq)
    )
    for agent_id, at, payload in first:
        changes[agent_id].append(PresenceChange(agent_id, at, str(payload["presence_id"])))
    # Agents that never changed presence before `a` count from their stored state.
    ag = t.AgentRow
    for agent_id, presence_id, since in await session.execute(
        select(ag.id, ag.presence_id, ag.presence_since)
    ):
        if agent_id not in changes and (since is None or since <= a):
            changes[agent_id].append(PresenceChange(agent_id, since or a, presence_id))
    later = await session.execute(
        select(ev.agent_id, ev.created_at, ev.payload)
        .where(ev.type == "presence.changed", ev.created_at > a, ev.created_at < b)
        .order_by(ev.seq)
    )
    for agent_id, at, payload in later:
        changes[agent_id].append(PresenceChange(agent_id, at, str(payload["presence_id"])))
    return changes


def _rows(span: str, start: datetime, stats: Stats) -> list[dict[str, Any]]:
    return [
        {
            "span": span,
            "scope": scope,
            "key": key,
            "start": start,
            "offered": s.offered,
            "accepted": s.accepted,
            "rejected": s.rejected,
            "timed_out": s.timed_out,
            "abandoned": s.abandoned,
            "transferred": s.transferred,
            "answered": s.answered,
            "answered_within": s.answered_within,
            "answer_s": s.answer_s,
            "handled": s.handled,
            "handle_s": s.handle_s,
            "longest_wait_s": s.longest_wait_s,
            "busy_s": s.busy_s,
            "presence_s": s.presence_s,
        }
        for (scope, key), s in stats.items()
    ]


async def _write(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Store rows in bulk: PostgreSQL's COPY (an agent row each interval is ~50,000 a day)."""
    if not rows:
        return
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        columns = list(rows[0])
        records = [
            tuple(json.dumps(r[c]) if c == "presence_s" else r[c] for c in columns) for r in rows
        ]
        await pg.copy_records_to_table("interval_stats", records=records, columns=columns)
        return
    for first in range(0, len(rows), 5_000):
        await session.execute(insert(t.IntervalStatRow), rows[first : first + 5_000])


async def _chunk(session: AsyncSession, a: datetime, b: datetime, held: Held | None) -> Held:
    """Compute and store the intervals of [a, b); the items held at `b`, for the next chunk."""
    thresholds = await load_thresholds(session)
    items, held_at_b = await _items(session, a, b, held)
    offers = await _offers(session, a, b)
    presence = await _presence(session, a, b)
    chunk = chunk_stats(a, b, items, offers, presence, thresholds, DEFAULT_THRESHOLD_S)
    rows = [row for start, stats in chunk.items() for row in _rows("15m", start, stats)]
    rows += _rows("15m", b - INTERVAL, {(MARK, ""): Stat()})
    await _write(session, rows)
    day = b.replace(hour=0, minute=0, second=0, microsecond=0)
    if b == day:
        await _day(session, day - DAY)
    return held_at_b


async def _day(session: AsyncSession, day: datetime) -> None:
    """Sum a finished day's intervals into one daily row per queue and agent, in the database."""
    s = t.IntervalStatRow
    where = [s.span == "15m", s.scope.in_(SCOPES), s.start >= day, s.start < day + DAY]
    dialect = (await session.connection()).dialect.name
    rows = summed(dialect, where, ["scope", "key"], span="1d", start=day)
    names = ["span", "start", "scope", "key", *FIGURES]
    await session.execute(insert(s).from_select(names, rows))


class Rollup:
    """Brings the interval statistics up to a given time; one run at a time per process."""

    def __init__(self, db: Database, retention_days: int) -> None:
        self.db = db
        self.retention_days = retention_days
        self._lock = asyncio.Lock()

    async def catch_up(self, now: datetime, *, max_days: int = 120) -> None:
        """Compute every closed interval up to `now` (at most `max_days` days per call)."""
        async with self._lock:
            stop = floor_interval(now)
            held: Held | None = None
            previous_b: datetime | None = None
            for _ in range(max_days):
                async with self.db.session() as session, session.begin():
                    a = await _watermark(session, now, self.retention_days)
                    if a >= stop:
                        break
                    # Chunks end at a UTC day boundary so that each day is summed once.
                    next_day = a.replace(hour=0, minute=0, second=0, microsecond=0) + DAY
                    b = min(stop, next_day)
                    held = await _chunk(session, a, b, held if a == previous_b else None)
                    previous_b = b
            await self._purge(now)

    async def _purge(self, now: datetime) -> None:
        cutoff = now - timedelta(days=self.retention_days)
        async with self.db.session() as session, session.begin():
            s = t.IntervalStatRow
            # Every key column before `start` named, so the delete is a primary-key range.
            await session.execute(
                delete(s).where(
                    s.span.in_(("15m", "1d")), s.scope.in_((MARK, *SCOPES)), s.start < cutoff
                )
            )
