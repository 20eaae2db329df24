"""Escalation steps, exclusion expiry and business hours: the timers that keep work moving."""

from __future__ import annotations

from datetime import datetime

from omniroute.core import documents
from omniroute.core.chat import CHAT_CHANNEL, system_message
from omniroute.core.door import on_timer, settles
from omniroute.core.routing import (
    enqueue,
    give_up,
    retarget,
    route_pending,
    schedule_item_timers,
    withdraw,
)
from omniroute.core.state import Tx
from omniroute.core.timers import TimerKind
from omniroute.domain.escalation import (
    EscalationStep,
    StepAction,
    added_groups,
    expired_exclusions,
    step_due,
    widened_skills,
)
from omniroute.domain.model import (
    CancelReason,
    DocumentType,
    InteractionState,
    Queue,
    WorkItem,
    WorkItemState,
)


@on_timer(TimerKind.ESCALATE)
def escalate(tx: Tx, item_id: str) -> None:
    """The next escalation step of a queued item fell due: apply it."""
    item = tx.state.work_items.get(item_id)
    if item is None or item.state is not WorkItemState.QUEUED:
        # An offered item escalates when it comes back to the queue (see `enqueue`).
        return
    queue = tx.state.config.queues.get(item.queue_id)
    if queue is None:
        return
    due = step_due(queue.steps, item.escalation_step, item.queued_since())
    if due is None or due > tx.now:
        return
    apply_step(tx, item, queue, queue.steps[item.escalation_step])


def apply_step(tx: Tx, item: WorkItem, queue: Queue, step: EscalationStep) -> None:
    """Widen, raise, move or (the final step only) abandon a queued item."""
    if step.action is StepAction.ABANDON:
        abandon(tx, item, step.reason or "abandoned", step.message)
        return
    tx.state.index.dequeue(item.id)
    if step.action is StepAction.MOVE_QUEUE and step.queue_id in tx.state.config.queues:
        target = tx.state.config.queues[step.queue_id]
        move_to_queue(tx, item, target)
        return
    item.escalation_step += 1
    if step.action is StepAction.WIDEN:
        item.skills = widened_skills(item.skills, [step])
        item.extra_groups = added_groups(queue.steps[: item.escalation_step])
    elif step.action is StepAction.RAISE_PRIORITY:
        item.priority = max(item.priority - step.raise_by, 0)
    # `enqueue` arms the next step. Widening only drops requirements and raising changes no
    # wait: the item's other timers stand as armed (re-arming them would fire those already
    # fired again, a backlog of overdue steps thrice over).
    enqueue(tx, item)


def move_to_queue(tx: Tx, item: WorkItem, target: Queue) -> None:
    """Put a queued (already dequeued) item in another queue, where its steps start over."""
    retarget(item, target, tx.now)
    enqueue(tx, item)
    schedule_item_timers(tx, item)


def abandon(tx: Tx, item: WorkItem, reason: str, message: str | None) -> None:
    """End an item's wait for good: tell the customer, record why, close an unanswered chat."""
    item.cancel_detail = reason
    doc = tx.state.documents.get(item.document_id)
    unanswered = (InteractionState.NEW, InteractionState.ON_HOLD)
    if doc is None or doc.type is not DocumentType.INTERACTION or doc.state not in unanswered:
        give_up(tx, item, CancelReason.ABANDONED)
        return
    withdraw(tx, item, CancelReason.ABANDONED)
    if message and doc.channel_id == CHAT_CHANNEL:
        system_message(tx, doc.id, message)
    documents.end_interaction(tx, doc.id, None, None, None)


def escalation_timer(item: WorkItem, queue: Queue) -> datetime | None:
    """When the item's next escalation step falls due, if it has one left."""
    return step_due(queue.steps, item.escalation_step, item.queued_since())


# -- exclusions ---------------------------------------------------------------------------


@on_timer(TimerKind.EXCLUSION_EXPIRY)
def expire_exclusions(tx: Tx, item_id: str) -> None:
    """Exclusions of an item ran out: the agents are eligible again."""
    item = tx.state.work_items.get(item_id)
    if item is None or not item.excluded_until:
        return
    expired = expired_exclusions(item.excluded_until, tx.now)
    if not expired:
        return
    queued = item.state is WorkItemState.QUEUED
    if queued:
        tx.state.index.dequeue(item.id)
    item.excluded_agents -= expired
    item.excluded_until = {
        a: end for a, end in item.excluded_until.items() if a not in expired
    } or None
    tx.save_item(item)
    if queued:
        tx.state.index.enqueue(item)
        tx.route_item(item.id)


# -- business hours -----------------------------------------------------------------------


@on_timer(TimerKind.HOURS)
def hours_changed(tx: Tx, _target: str) -> None:
    """A calendar opened or closed: `settle_hours` (due now) recomputes which queues are open."""


@settles
def settle_hours(tx: Tx) -> None:
    """Keep the index's closed queues true to the calendars; route the queues that opened."""
    state = tx.state
    config = state.config
    fresh = state.hours_due is None or state.hours_due > tx.now
    changed = state.hours_config is not config.queues
    if not changed and fresh:
        return
    if changed and state.hours_config is not None:
        # Steps, hours or affinity may have changed: re-arm the timers of waiting work.
        for item in list(state.work_items.values()):
            if item.state is WorkItemState.QUEUED and item.queue_id in config.queues:
                schedule_item_timers(tx, item)
    # Queues share calendars: each is asked once (a change can be a year of days ahead).
    open_now: dict[str, bool] = {}
    next_due: datetime | None = None
    for calendar_id in {q.calendar_id for q in config.queues.values() if q.calendar_id}:
        calendar = config.calendars.get(calendar_id)
        if calendar is None:
            continue
        open_now[calendar_id] = calendar.is_open(tx.now)
        change = calendar.next_change(tx.now)
        if change is not None and (next_due is None or change < next_due):
            next_due = change
    closed = {q.id for q in config.queues.values() if not open_now.get(q.calendar_id or "", True)}
    opened = state.index.closed_queues - closed
    state.index.closed_queues = frozenset(closed)
    state.hours_config = config.queues
    if next_due is not None and next_due != state.hours_due:
        tx.schedule(next_due, TimerKind.HOURS, "calendars")
    state.hours_due = next_due
    if opened:
        for item in list(state.index.items.values()):
            if item.queue_id in opened:
                tx.route_item(item.id)
        # The routing pass of this batch ran already (it settles first).
        route_pending(tx)
