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
    COUNTS,
    DAY,
    INTERVAL,
    SUMS,
    Chunk,
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
    """Items with an event in [a, b) or held by an agent across it; and those held at `b`."""
    # Each kind of event is a bounded index range, so a day costs its own rows. Items held
    # across the whole of [a, b) are those held at `a`: `held`, carried from the chunk before
    # (every item held at `a` was accepted in that chunk or held across it), or, for the first
    # chunk of a run, one query (a scan while back-filling, where most items end after `b`).
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
    # One query (an OR of bounded index ranges) reads each item once.
    where = or_(
        and_(wi.created_at >= a, wi.created_at < b),
        and_(wi.accepted_at >= a, wi.accepted_at < b),
        and_(wi.ended_at >= a, wi.ended_at < b),
    )
    if held is None:
        held_at_a = and_(
            wi.accepted_at < a,
            wi.agent_id.is_not(None),
            or_(wi.ended_at.is_(None), wi.ended_at >= a),
        )
        where = or_(where, held_at_a)
    # Rows read now replace carried ones: an item may have ended since.
    found: Held = dict(held or {})
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
    rows = await session.execute(
        select(wi.queue_id, of.agent_id, of.state, of.created_at, of.ended_at)
        .join(wi, wi.id == of.work_item_id)
        .where(
            or_(
                and_(of.created_at >= a, of.created_at < b),
                and_(of.ended_at >= a, of.ended_at < b),
            )
        )
    )
    return [OfferRec(*row) for row in rows]


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


COLUMNS = ("span", "scope", "key", "start", *FIGURES)
NOTHING = (0,) * len(COUNTS) + (0.0,) * len(SUMS) + (0.0,)


def stat_of(row: Any) -> Stat:
    """A `Stat` from a row carrying every name of `FIGURES`."""
    figures = {name: getattr(row, name) for name in FIGURES}
    figures["presence_s"] = {k: float(v) for k, v in (row.presence_s or {}).items()}
    return Stat(**figures)


def _figures(stat: Stat) -> tuple[Any, ...]:
    """A stat's figures in `FIGURES` order, without its presence."""
    counts = (getattr(stat, name) for name in COUNTS)
    return (*counts, *(getattr(stat, name) for name in SUMS), stat.longest_wait_s)


def _rows(chunk: Chunk) -> list[tuple[Any, ...]]:
    """Rows of `COLUMNS` for the chunk's intervals, with an agent row wherever it has presence."""
    rows = []
    for start, stats in chunk.stats.items():
        presence = chunk.presence[start]
        for (scope, key), stat in stats.items():
            seconds = presence.get(key, {}) if scope == "agent" else {}
            rows.append(("15m", scope, key, start, *_figures(stat), seconds))
        for key, seconds in presence.items():
            if ("agent", key) not in stats:
                rows.append(("15m", "agent", key, start, *NOTHING, seconds))
    return rows


async def _write(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """Store rows of `COLUMNS` in bulk: COPY on PostgreSQL (an agent row each interval)."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        # Most intervals hold the same few presence objects: encode each once.
        texts: dict[tuple[tuple[str, float], ...], str] = {}
        records = []
        for row in rows:
            seconds = tuple(row[-1].items())
            text = texts.get(seconds)
            if text is None:
                text = texts[seconds] = json.dumps(row[-1])
            records.append((*row[:-1], text))
        await pg.copy_records_to_table("interval_stats", records=records, columns=COLUMNS)
        return
    for first in range(0, len(rows), 5_000):
        batch = [dict(zip(COLUMNS, row, strict=True)) for row in rows[first : first + 5_000]]
        await session.execute(insert(t.IntervalStatRow), batch)


async def _chunk(session: AsyncSession, a: datetime, b: datetime, held: Held | None) -> Held:
    """Compute and store the intervals of [a, b); the items held at `b`, for the next chunk."""
    thresholds = await load_thresholds(session)
    items, held_at_b = await _items(session, a, b, held)
    offers = await _offers(session, a, b)
    presence = await _presence(session, a, b)
    chunk = chunk_stats(a, b, items, offers, presence, thresholds, DEFAULT_THRESHOLD_S)
    rows = _rows(chunk)
    rows.append(("15m", MARK, "", b - INTERVAL, *NOTHING, {}))
    await _write(session, rows)
    day = b.replace(hour=0, minute=0, second=0, microsecond=0)
    if b == day:
        await _day(session, day - DAY, a, chunk)
    return held_at_b


async def _day(session: AsyncSession, day: datetime, a: datetime, chunk: Chunk) -> None:
    """Sum a finished day per queue and agent: stored intervals before `a`, then `chunk`."""
    s = t.IntervalStatRow
    totals: Stats = defaultdict(Stat)
    if day < a:
        where = [s.span == "15m", s.scope.in_(SCOPES), s.start >= day, s.start < a]
        dialect = (await session.connection()).dialect.name
        for row in await session.execute(summed(dialect, where, ["scope", "key"])):
            totals[row.scope, row.key] = stat_of(row)
    for stats in chunk.stats.values():
        for key, stat in stats.items():
            totals[key].add(stat)
    for presence in chunk.presence.values():
        for agent_id, seconds in presence.items():
            into = totals["agent", agent_id].presence_s
            for state, value in seconds.items():
                into[state] = into.get(state, 0.0) + value
    rows = [
        ("1d", scope, key, day, *_figures(stat), stat.presence_s)
        for (scope, key), stat in totals.items()
    ]
    await _write(session, rows)


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
