"""Pure arithmetic of interval statistics: what happened to work and agents in one interval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omniroute.services.supervisor.metrics import ABANDON_REASONS

INTERVAL = timedelta(minutes=15)
DAY = timedelta(days=1)
COUNTS = (
    "offered",
    "accepted",
    "rejected",
    "timed_out",
    "abandoned",
    "transferred",
    "answered",
    "answered_within",
    "handled",
)
SUMS = ("answer_s", "handle_s", "busy_s")


def floor_interval(at: datetime) -> datetime:
    """The start of the 15-minute interval an instant falls in."""
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Item:
    """What the figures need of a stored work item."""

    queue_id: str
    agent_id: str | None
    created_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    state: str
    cancel_reason: str | None
    transfer_type: str | None
    transfer_from_agent_id: str | None


@dataclass(frozen=True, slots=True)
class OfferRec:
    """What the figures need of a stored offer."""

    queue_id: str
    agent_id: str
    state: str
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """An agent's presence from an instant on."""

    agent_id: str
    at: datetime
    presence_id: str


@dataclass(slots=True)
class Stat:
    """Figures of one queue or agent in one interval; sums, so that intervals add up."""

    offered: int = 0
    accepted: int = 0
    rejected: int = 0
    timed_out: int = 0
    abandoned: int = 0
    transferred: int = 0
    answered: int = 0
    answered_within: int = 0
    answer_s: float = 0.0
    handled: int = 0
    handle_s: float = 0.0
    longest_wait_s: float = 0.0
    busy_s: float = 0.0
    presence_s: dict[str, float] = field(default_factory=dict)

    def add(self, other: Stat) -> None:
        """Add another interval's figures to these."""
        for name in COUNTS + SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_wait_s = max(self.longest_wait_s, other.longest_wait_s)
        for state, seconds in other.presence_s.items():
            self.presence_s[state] = self.presence_s.get(state, 0.0) + seconds

    def empty(self) -> bool:
        """Whether nothing happened."""
        no_counts = all(getattr(self, n) == 0 for n in COUNTS + SUMS)
        return no_counts and not self.presence_s and self.longest_wait_s == 0


Stats = dict[tuple[str, str], Stat]


def _inside(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def interval_stats(  # noqa: PLR0917 - the interval and its three kinds of records
    start: datetime,
    end: datetime,
    items: Iterable[Item],
    offers: Iterable[OfferRec],
    presence: dict[str, list[PresenceChange]],
    thresholds: dict[str, int],
    default_threshold_s: int,
) -> Stats:
    """Figures per ("queue", id) and ("agent", id) for [start, end)."""
    stats: Stats = defaultdict(Stat)
    busy: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for offer in offers:
        q, a = stats["queue", offer.queue_id], stats["agent", offer.agent_id]
        if _inside(offer.created_at, start, end):
            q.offered += 1
            a.offered += 1
        if offer.state in ("accepted", "rejected", "timed_out") and _inside(
            offer.ended_at, start, end
        ):
            setattr(q, offer.state, getattr(q, offer.state) + 1)
            setattr(a, offer.state, getattr(a, offer.state) + 1)
    for item in items:
        threshold = thresholds.get(item.queue_id, default_threshold_s)
        _item_figures(stats, busy, item, start=start, end=end, threshold_s=threshold)
    for agent_id, spans in busy.items():
        stats["agent", agent_id].busy_s = _union(spans)
    for agent_id, changes in presence.items():
        seconds = _presence_seconds(changes, start, end)
        if seconds:
            stats["agent", agent_id].presence_s = seconds
    return {k: v for k, v in stats.items() if not v.empty()}


def _item_figures(
    stats: Stats,
    busy: dict[str, list[tuple[datetime, datetime]]],
    item: Item,
    *,
    start: datetime,
    end: datetime,
    threshold_s: int,
) -> None:
    q = stats["queue", item.queue_id]
    if item.transfer_type is not None and _inside(item.created_at, start, end):
        q.transferred += 1
        if item.transfer_from_agent_id is not None:
            stats["agent", item.transfer_from_agent_id].transferred += 1
    if item.accepted_at is not None:
        if _inside(item.accepted_at, start, end):
            wait = _seconds(item.created_at, item.accepted_at)
            q.answered += 1
            q.answer_s += wait
            q.answered_within += wait <= threshold_s
            q.longest_wait_s = max(q.longest_wait_s, wait)
        if item.agent_id is not None:
            if item.state == "closed" and _inside(item.ended_at, start, end):
                handle = _seconds(item.accepted_at, item.ended_at or end)
                for s in (q, stats["agent", item.agent_id]):
                    s.handled += 1
                    s.handle_s += handle
            finish = item.ended_at or end
            if item.accepted_at < end and finish > start:
                busy[item.agent_id].append((max(item.accepted_at, start), min(finish, end)))
    elif item.cancel_reason in ABANDON_REASONS and _inside(item.ended_at, start, end):
        q.abandoned += 1
        assert item.ended_at is not None
        q.longest_wait_s = max(q.longest_wait_s, _seconds(item.created_at, item.ended_at))


def _union(spans: list[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one span."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for a, b in sorted(spans):
        if current is None or a > current[1]:
            if current is not None:
                total += _seconds(*current)
            current = (a, b)
        else:
            current = (current[0], max(current[1], b))
    if current is not None:
        total += _seconds(*current)
    return total


def _presence_seconds(
    changes: list[PresenceChange], start: datetime, end: datetime
) -> dict[str, float]:
    """Seconds in each presence state over [start, end), from changes sorted by time."""
    seconds: dict[str, float] = {}
    current: PresenceChange | None = None
    for change in changes:
        if change.at <= start:
            current = change
            continue
        if change.at >= end:
            break
        if current is not None:
            begin = max(current.at, start)
            seconds[current.presence_id] = seconds.get(current.presence_id, 0.0) + _seconds(
                begin, change.at
            )
        current = change
    if current is not None:
        begin = max(current.at, start)
        seconds[current.presence_id] = seconds.get(current.presence_id, 0.0) + _seconds(begin, end)
    return seconds
