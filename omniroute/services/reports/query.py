"""Reports over a date range from the interval statistics: per queue or per agent, bucketed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.services.reports.figures import DAY, INTERVAL, Stat
from omniroute.services.reports.rollup import last_mark, stat_of
from omniroute.services.reports.sums import summed
from omniroute.store import tables as t

BUCKETS = {"15m": INTERVAL, "hour": timedelta(hours=1), "day": DAY, "total": None}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One queue's or agent's figures over one bucket (or the whole range)."""

    key: str
    start: datetime
    stat: Stat
    available_s: float

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold over answered plus abandoned."""
        resolved = self.stat.answered + self.stat.abandoned
        return None if resolved == 0 else self.stat.answered_within / resolved

    @property
    def asa_s(self) -> float | None:
        """Average speed of answer: mean wait of answered items."""
        return None if self.stat.answered == 0 else self.stat.answer_s / self.stat.answered

    @property
    def aht_s(self) -> float | None:
        """Average handle time: mean time from accept to close of finished items."""
        return None if self.stat.handled == 0 else self.stat.handle_s / self.stat.handled

    @property
    def occupancy(self) -> float | None:
        """Time holding work over time in an available presence state (capped at 1)."""
        if self.available_s <= 0:
            return None
        return min(self.stat.busy_s / self.available_s, 1.0)


def _day_floor(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_ceil(at: datetime) -> datetime:
    floor = _day_floor(at)
    return floor if floor == at else floor + DAY


def _bucket_start(at: datetime, since: datetime, size: timedelta | None) -> datetime:
    if size is None:
        return since
    if size >= DAY:
        return _day_floor(at)
    return at - timedelta(seconds=(at - _day_floor(at)).total_seconds() % size.total_seconds())


async def report(  # noqa: PLR0917 - the report's parameters
    session: AsyncSession,
    scope: str,
    since: datetime,
    until: datetime,
    bucket: str,
    keys: list[str] | None = None,
) -> list[ReportRow]:
    """Figures per key and bucket over [since, until), from daily rows where whole days allow."""
    mark = await last_mark(session)
    done = (mark + INTERVAL) if mark is not None else since
    size = BUCKETS[bucket]
    use_days = size is None or size >= DAY
    days_from = _day_ceil(since)
    days_to = min(_day_floor(until), _day_floor(done))
    parts: list[tuple[str, datetime, datetime]] = []
    if use_days and days_from < days_to:
        parts = [("15m", since, days_from), ("1d", days_from, days_to), ("15m", days_to, until)]
    else:
        parts = [("15m", since, until)]
    available = await _available_states(session)
    totals: dict[tuple[str, datetime], Stat] = defaultdict(Stat)
    for span, a, b in parts:
        if a < b:
            where = _where(scope, span, a, b, keys)
            for key, start, stat in await _sums(session, where, size is None):
                totals[key, _bucket_start(start or since, since, size)].add(stat)
    return [
        ReportRow(key, start, stat, sum(v for p, v in stat.presence_s.items() if p in available))
        for (key, start), stat in sorted(totals.items())
    ]


def _where(
    scope: str, span: str, a: datetime, b: datetime, keys: list[str] | None
) -> list[ColumnElement[bool]]:
    s = t.IntervalStatRow
    where = [s.span == span, s.scope == scope, s.start >= a, s.start < b]
    if keys:
        where.append(s.key.in_(keys))
    return where


async def _sums(
    session: AsyncSession, where: list[ColumnElement[bool]], whole: bool
) -> list[tuple[str, datetime | None, Stat]]:
    """The rows' figures summed in the database, per key (and per start unless `whole`)."""
    dialect = (await session.connection()).dialect.name
    if dialect == "postgresql":
        # A sum over thousands of rows is estimated costly enough for JIT compilation, which
        # costs more than the sum itself.
        await session.execute(text("SET LOCAL jit = off"))
    group = ["key"] if whole else ["key", "start"]
    out = []
    for row in await session.execute(summed(dialect, where, group)):
        out.append((row.key, None if whole else row.start, stat_of(row)))
    return out


async def _available_states(session: AsyncSession) -> set[str]:
    ps = t.PresenceStateRow
    return set(await session.scalars(select(ps.id).where(ps.is_available.is_(True))))
