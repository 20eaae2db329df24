"""Pure arithmetic of the supervisor figures: service level, minute buckets, queue depth."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTES = 60
MINUTE = timedelta(minutes=1)
# Items that left their queue unanswered because the customer or the queue gave up.
ABANDON_REASONS = frozenset({"document_closed", "max_wait_exceeded", "abandoned"})
OUTCOMES = ("accepted", "rejected", "timed_out")


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """What the figures need of a stored work item."""

    id: str
    queue_id: str
    created_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    cancel_reason: str | None


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """What the figures need of a stored offer."""

    work_item_id: str
    queue_id: str
    state: str
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Window:
    """The last hour: the 60 whole UTC minutes ending with the current, partial one."""

    start: datetime
    now: datetime

    @classmethod
    def ending(cls, now: datetime) -> Window:
        """The window that ends at `now`."""
        minute = now.replace(second=0, microsecond=0)
        return cls(minute - (MINUTES - 1) * MINUTE, now)

    def contains(self, at: datetime | None) -> bool:
        """Whether an instant falls inside the window."""
        return at is not None and self.start <= at <= self.now

    def minute_starts(self) -> list[datetime]:
        """The start of each of the 60 minutes, oldest first."""
        return [self.start + i * MINUTE for i in range(MINUTES)]

    def minute_of(self, at: datetime) -> int:
        """The index of the minute an instant inside the window falls in."""
        return min(int((at - self.start) // MINUTE), MINUTES - 1)

    def sample_times(self) -> list[datetime]:
        """When each minute's depth is sampled: at its end, or now for the current minute."""
        return [min(s + MINUTE, self.now) for s in self.minute_starts()]


@dataclass(frozen=True, slots=True)
class Answering:
    """How a queue's items were answered in the window."""

    answered: int
    answered_within: int
    abandoned: int

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold over answered plus abandoned; None when both are 0."""
        resolved = self.answered + self.abandoned
        return None if resolved == 0 else self.answered_within / resolved


def answering(items: Iterable[ItemRecord], window: Window, threshold_s: float) -> Answering:
    """Count items answered (accepted) and abandoned inside the window."""
    answered = within = abandoned = 0
    for item in items:
        if item.accepted_at is not None:
            if window.contains(item.accepted_at):
                answered += 1
                if (item.accepted_at - item.created_at).total_seconds() <= threshold_s:
                    within += 1
        elif item.cancel_reason in ABANDON_REASONS and window.contains(item.ended_at):
            abandoned += 1
    return Answering(answered, within, abandoned)


def offer_outcomes(offers: Iterable[OfferRecord], window: Window) -> dict[str, int]:
    """Offers that ended accepted, rejected or timed out inside the window, by outcome."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for offer in offers:
        if offer.state in counts and window.contains(offer.ended_at):
            counts[offer.state] += 1
    return counts


def per_minute_outcomes(offers: Iterable[OfferRecord], window: Window) -> list[dict[str, int]]:
    """Offer outcomes per minute of the window."""
    buckets = [dict.fromkeys(OUTCOMES, 0) for _ in range(MINUTES)]
    for offer in offers:
        ended = offer.ended_at
        if offer.state in OUTCOMES and ended is not None and window.contains(ended):
            buckets[window.minute_of(ended)][offer.state] += 1
    return buckets


def per_minute_created(items: Iterable[ItemRecord], window: Window) -> list[int]:
    """Work items created per minute of the window."""
    buckets = [0] * MINUTES
    for item in items:
        if window.contains(item.created_at):
            buckets[window.minute_of(item.created_at)] += 1
    return buckets


def queued_intervals(
    item: ItemRecord, offers: Sequence[OfferRecord]
) -> list[tuple[datetime, datetime | None]]:
    """The spans [from, to) in which an item sat queued: before, between and after its offers."""
    spans: list[tuple[datetime, datetime | None]] = []
    cursor: datetime | None = item.created_at
    for offer in sorted(offers, key=lambda o: o.created_at):
        if cursor is None:
            break
        if offer.created_at > cursor:
            spans.append((cursor, offer.created_at))
        cursor = offer.ended_at
    ends = [at for at in (item.accepted_at, item.ended_at) if at is not None]
    end = min(ends) if ends else None
    if cursor is not None and (end is None or end > cursor):
        spans.append((cursor, end))
    return spans


def depth_samples(
    items: Iterable[ItemRecord], offers: Iterable[OfferRecord], times: Sequence[datetime]
) -> list[int]:
    """How many items sat queued at each of the given ascending instants."""
    by_item: dict[str, list[OfferRecord]] = {}
    for offer in offers:
        by_item.setdefault(offer.work_item_id, []).append(offer)
    starts: list[datetime] = []
    stops: list[datetime] = []
    for item in items:
        for begin, end in queued_intervals(item, by_item.get(item.id, ())):
            starts.append(begin)
            if end is not None:
                stops.append(end)
    starts.sort()
    stops.sort()
    # An item is queued at t when its span began at or before t and has not ended by t.
    return [bisect.bisect_right(starts, at) - bisect.bisect_right(stops, at) for at in times]
