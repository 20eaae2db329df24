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
Presence = dict[str, dict[str, float]]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Figures per interval start: work (per scope and key) and presence (per agent)."""

    stats: dict[datetime, Stats]
    presence: dict[datetime, Presence]


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


class _Chunk:
    """Figures of the consecutive intervals of [a, b) (`a` on an interval boundary)."""

    def __init__(self, a: datetime, b: datetime) -> None:
        self.a, self.b = a, b
        slots = -(-(b - a) // INTERVAL)
        self.stats: list[Stats] = [defaultdict(Stat) for _ in range(slots)]
        # Kept apart from `stats`: every agent has it in every interval, so it must stay lean.
        self.presence: list[Presence] = [defaultdict(dict) for _ in range(slots)]
        self.busy: dict[tuple[int, str], list[tuple[datetime, datetime]]] = defaultdict(list)

    def at(self, when: datetime | None, scope: str, key: str) -> Stat | None:
        """The stat of the interval an instant falls in, if inside the chunk."""
        if when is None or not self.a <= when < self.b:
            return None
        return self.stats[(when - self.a) // INTERVAL][scope, key]

    def span(self, x: datetime, y: datetime) -> list[tuple[int, datetime, datetime]]:
        """[x, y) inside the chunk, cut at interval boundaries: (slot, piece start, piece end)."""
        x, y = max(x, self.a), min(y, self.b)
        out = []
        while x < y:
            slot = (x - self.a) // INTERVAL
            end = min(self.a + (slot + 1) * INTERVAL, y)
            out.append((slot, x, end))
            x = end
        return out


def chunk_stats(  # noqa: PLR0917 - the range and its three kinds of records
    a: datetime,
    b: datetime,
    items: Iterable[Item],
    offers: Iterable[OfferRec],
    presence: dict[str, list[PresenceChange]],
    thresholds: dict[str, int],
    default_threshold_s: int,
) -> Chunk:
    """Figures per interval start, then per ("queue", id) and ("agent", id), for [a, b)."""
    chunk = _Chunk(a, b)
    for offer in offers:
        for scope, key in (("queue", offer.queue_id), ("agent", offer.agent_id)):
            made = chunk.at(offer.created_at, scope, key)
            if made is not None:
                made.offered += 1
            if offer.state in ("accepted", "rejected", "timed_out"):
                ended = chunk.at(offer.ended_at, scope, key)
                if ended is not None:
                    setattr(ended, offer.state, getattr(ended, offer.state) + 1)
    for item in items:
        _item_figures(chunk, item, thresholds.get(item.queue_id, default_threshold_s))
    for (slot, agent_id), spans in chunk.busy.items():
        chunk.stats[slot]["agent", agent_id].busy_s = _union(spans)
    for agent_id, changes in presence.items():
        _presence(chunk, agent_id, changes)
    return Chunk(
        {
            a + slot * INTERVAL: {k: v for k, v in stats.items() if not v.empty()}
            for slot, stats in enumerate(chunk.stats)
        },
        {a + slot * INTERVAL: presence for slot, presence in enumerate(chunk.presence)},
    )


def _item_figures(chunk: _Chunk, item: Item, threshold_s: int) -> None:
    if item.transfer_type is not None:
        into = chunk.at(item.created_at, "queue", item.queue_id)
        if into is not None:
            into.transferred += 1
        if item.transfer_from_agent_id is not None:
            sender = chunk.at(item.created_at, "agent", item.transfer_from_agent_id)
            if sender is not None:
                sender.transferred += 1
    if item.accepted_at is None:
        gone = chunk.at(item.ended_at, "queue", item.queue_id)
        if gone is not None and item.ended_at is not None and item.cancel_reason in ABANDON_REASONS:
            gone.abandoned += 1
            gone.longest_wait_s = max(gone.longest_wait_s, _seconds(item.created_at, item.ended_at))
        return
    answered = chunk.at(item.accepted_at, "queue", item.queue_id)
    if answered is not None:
        wait = _seconds(item.created_at, item.accepted_at)
        answered.answered += 1
        answered.answer_s += wait
        answered.answered_within += wait <= threshold_s
        answered.longest_wait_s = max(answered.longest_wait_s, wait)
    if item.agent_id is None:
        return
    if item.state == "closed" and item.ended_at is not None:
        for scope, key in (("queue", item.queue_id), ("agent", item.agent_id)):
            done = chunk.at(item.ended_at, scope, key)
            if done is not None:
                done.handled += 1
                done.handle_s += _seconds(item.accepted_at, item.ended_at)
    for slot, x, y in chunk.span(item.accepted_at, item.ended_at or chunk.b):
        chunk.busy[slot, item.agent_id].append((x, y))


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


def _presence(chunk: _Chunk, agent_id: str, changes: list[PresenceChange]) -> None:
    """Seconds in each presence state per interval, from changes sorted by time."""
    for i, change in enumerate(changes):
        until = changes[i + 1].at if i + 1 < len(changes) else chunk.b
        for slot, x, y in chunk.span(change.at, until):
            seconds = chunk.presence[slot][agent_id]
            seconds[change.presence_id] = seconds.get(change.presence_id, 0.0) + _seconds(x, y)
