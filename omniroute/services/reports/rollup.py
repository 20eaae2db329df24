"""Turn stored work items, offers and presence events into interval statistics, once each.

Closed 15-minute intervals are computed in order from a watermark (a `mark` row), a day at a
time; a UTC day whose 96 intervals are done is summed into one daily row. Rows older than the
retention are deleted. Running again after a restart continues where it stopped.
"""

from __future__ import annotations

import asyncio
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
from omniroute.services.supervisor.history import load_thresholds
from omniroute.services.supervisor.overview import DEFAULT_THRESHOLD_S
from omniroute.store import tables as t
from omniroute.store.db import Database

MARK = "mark"
# Intervals computed per transaction: one day.
CHUNK = 96


async def _watermark(session: AsyncSession, now: datetime, retention_days: int) -> datetime:
    s = t.IntervalStatRow
    last = await session.scalar(select(func.max(s.start)).where(s.scope == MARK))
    if last is not None:
        return last + INTERVAL
    first = await session.scalar(select(func.min(t.WorkItemRow.created_at)))
    floor = floor_interval(now - timedelta(days=retention_days))
    if first is None:
        return floor_interval(now)
    return max(floor_interval(first), floor)


async def _items(session: AsyncSession, a: datetime, b: datetime) -> list[Item]:
    wi = t.WorkItemRow
    rows = await session.execute(
        select(
            wi.queue_id,
            wi.agent_id,
            wi.created_at,
            wi.accepted_at,
            wi.ended_at,
            wi.state,
            wi.cancel_reason,
            wi.transfer_type,
            wi.transfer_from_agent_id,
        ).where(
            wi.created_at < b,
            or_(wi.ended_at.is_(None), wi.ended_at >= a),
            or_(wi.accepted_at.is_not(None), wi.ended_at.is_not(None), wi.created_at >= a),
        )
    )
    return [Item(*r) for r in rows]


async def _offers(session: AsyncSession, a: datetime, b: datetime) -> list[OfferRec]:
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
    return [OfferRec(*r) for r in rows]


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
    # Many rows a day (an agent each interval): one multi-row insert per batch, not the ORM.
    for first in range(0, len(rows), 5_000):
        await session.execute(insert(t.IntervalStatRow), rows[first : first + 5_000])


def stat_of(row: Any) -> Stat:
    """The figures of a stored row (an `IntervalStatRow` or a row of its table)."""
    return Stat(
        offered=row.offered,
        accepted=row.accepted,
        rejected=row.rejected,
        timed_out=row.timed_out,
        abandoned=row.abandoned,
        transferred=row.transferred,
        answered=row.answered,
        answered_within=row.answered_within,
        answer_s=row.answer_s,
        handled=row.handled,
        handle_s=row.handle_s,
        longest_wait_s=row.longest_wait_s,
        busy_s=row.busy_s,
        presence_s=dict(row.presence_s or {}),
    )


async def _chunk(session: AsyncSession, a: datetime, b: datetime) -> None:
    thresholds = await load_thresholds(session)
    items = await _items(session, a, b)
    offers = await _offers(session, a, b)
    presence = await _presence(session, a, b)
    chunk = chunk_stats(a, b, items, offers, presence, thresholds, DEFAULT_THRESHOLD_S)
    rows = [row for start, stats in chunk.items() for row in _rows("15m", start, stats)]
    rows += _rows("15m", b - INTERVAL, {(MARK, ""): Stat()})
    await _write(session, rows)
    day = b.replace(hour=0, minute=0, second=0, microsecond=0)
    if b == day:
        await _day(session, day - DAY)


async def _day(session: AsyncSession, day: datetime) -> None:
    s = t.IntervalStatRow
    rows = await session.execute(
        select(s.__table__).where(
            s.span == "15m", s.scope != MARK, s.start >= day, s.start < day + DAY
        )
    )
    totals: Stats = defaultdict(Stat)
    for row in rows:
        totals[row.scope, row.key].add(stat_of(row))
    await _write(session, _rows("1d", day, totals))


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
            for _ in range(max_days):
                async with self.db.session() as session, session.begin():
                    a = await _watermark(session, now, self.retention_days)
                    if a >= stop:
                        break
                    # Chunks end at a UTC day boundary so that each day is summed once.
                    next_day = a.replace(hour=0, minute=0, second=0, microsecond=0) + DAY
                    b = min(stop, next_day)
                    await _chunk(session, a, b)
            await self._purge(now)

    async def _purge(self, now: datetime) -> None:
        cutoff = now - timedelta(days=self.retention_days)
        async with self.db.session() as session, session.begin():
            await session.execute(delete(t.IntervalStatRow).where(t.IntervalStatRow.start < cutoff))
