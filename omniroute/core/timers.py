"""Due-time timers. The due times themselves are stored on the rows they belong to."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from enum import StrEnum

from omniroute.domain.escalation import step_due
from omniroute.domain.model import WorkItem
from omniroute.domain.routing import RoutingConfig


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
    """A min-heap of (due, kind, id); stale entries are skipped by the handler.

    Each (due, kind, id) is armed at most once: arming it again before it fires changes
    nothing, so re-arming an item's timers adds only those that are new. A disarmed entry stays
    in the heap until it comes up and is then dropped unfired.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str, str]] = []
        self._armed: set[tuple[datetime, str, str]] = set()

    def add(self, due: datetime, kind: TimerKind, target_id: str) -> None:
        """Schedule a timer (once: a timer already armed stays as it is)."""
        entry = (due, kind.value, target_id)
        if entry in self._armed:
            return
        self._armed.add(entry)
        heapq.heappush(self._heap, entry)

    def discard(self, due: datetime, kind: TimerKind, target_id: str) -> None:
        """Disarm a timer, if armed."""
        self._armed.discard((due, kind.value, target_id))

    def next_due(self) -> datetime | None:
        """When the earliest armed timer falls due, if any."""
        heap = self._heap
        while heap and heap[0] not in self._armed:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: datetime, limit: int | None = None) -> list[tuple[TimerKind, str]]:
        """Remove and return the timers due at or before now, earliest first (at most `limit`)."""
        due: list[tuple[TimerKind, str]] = []
        heap, armed = self._heap, self._armed
        while heap and heap[0][0] <= now and (limit is None or len(due) < limit):
            entry = heapq.heappop(heap)
            if entry in armed:
                armed.remove(entry)
                due.append((TimerKind(entry[1]), entry[2]))
        return due

    def compact(self) -> None:
        """Drop disarmed entries once they make up most of the heap."""
        if len(self._heap) > 2 * len(self._armed) + 1000:
            self._heap = list(self._armed)
            heapq.heapify(self._heap)

    def entries(self) -> list[tuple[datetime, str, str]]:
        """The armed timers, in no order."""
        return list(self._armed)

    def clear(self) -> None:
        """Drop every timer."""
        self._heap.clear()
        self._armed.clear()

    def __contains__(self, entry: object) -> bool:
        return entry in self._armed

    def __len__(self) -> int:
        return len(self._armed)


def item_timers(config: RoutingConfig, item: WorkItem) -> list[tuple[datetime, TimerKind, str]]:
    """The timers that may change a queued item's eligibility, escalate it or end its wait."""
    queue = config.queues[item.queue_id]
    rule = config.rules[queue.rule_id]
    delays = [req.widen_after_s for req in item.skills if not req.mandatory and req.widen_after_s]
    if rule.overflow_after_s:
        delays.append(rule.overflow_after_s)
    if queue.affinity_wait_s and item.preferred_agent_id is not None:
        delays.append(queue.affinity_wait_s)
    timers = [
        (item.created_at + timedelta(seconds=d), TimerKind.RECHECK_ITEM, item.id)
        for d in delays
        if d
    ]
    if queue.max_wait_s:
        due = item.created_at + timedelta(seconds=queue.max_wait_s)
        timers.append((due, TimerKind.MAX_WAIT, item.id))
    step = step_due(queue.steps, item.escalation_step, item.queued_since())
    if step is not None:
        timers.append((step, TimerKind.ESCALATE, item.id))
    timers.extend(
        (until, TimerKind.EXCLUSION_EXPIRY, item.id)
        for until in (item.excluded_until or {}).values()
    )
    return timers
