"""Due-time timers. The due times themselves are stored on the rows they belong to."""

from __future__ import annotations

import heapq
from datetime import datetime
from enum import StrEnum


class TimerKind(StrEnum):
    """What fires when a timer falls due."""

    OFFER_TIMEOUT = "offer_timeout"
    WRAP_UP_DUE = "wrap_up_due"
    RECHECK_ITEM = "recheck_item"
    MAX_WAIT = "max_wait"
    ESCALATE = "escalate"
    EXCLUSION_EXPIRY = "exclusion_expiry"
    HOURS = "hours"


class TimerHeap:
    """A min-heap of (due, kind, id); stale entries are skipped by the handler."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str, str]] = []

    def add(self, due: datetime, kind: TimerKind, target_id: str) -> None:
        """Schedule a timer."""
        heapq.heappush(self._heap, (due, kind.value, target_id))

    def next_due(self) -> datetime | None:
        """When the earliest timer falls due, if any."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: datetime) -> list[tuple[TimerKind, str]]:
        """Remove and return every timer due at or before now."""
        due: list[tuple[TimerKind, str]] = []
        while self._heap and self._heap[0][0] <= now:
            _, kind, target = heapq.heappop(self._heap)
            due.append((TimerKind(kind), target))
        return due

    def clear(self) -> None:
        """Drop every timer."""
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
