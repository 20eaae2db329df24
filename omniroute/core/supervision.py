"""Supervisor actions and operational queries: assign, withdraw, move, presence, hours, stuck."""

from __future__ import annotations

from typing import Any

from omniroute.core import ops_messages as m
from omniroute.core.door import handles
from omniroute.core.escalation import move_to_queue
from omniroute.core.routing import (
    enqueue,
    exclude,
    make_offer,
    new_id,
    rule_terms,
    set_presence_state,
    take_back_offer,
    withdraw,
)
from omniroute.core.rows import AuditEntry
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import (
    CancelReason,
    OfferState,
    Queue,
    RoutingMode,
    WorkItem,
    WorkItemState,
)

WAITING = (WorkItemState.QUEUED, WorkItemState.PENDING_ACCEPT)


def _audit(tx: Tx, actor: m.Actor, action: str, target: tuple[str, str], **details: Any) -> None:
    tx.insert(AuditEntry(tx.now, actor.id, actor.role, action, target[0], target[1], dict(details)))


def _waiting_item(tx: Tx, item_id: str) -> WorkItem:
    item = tx.state.work_items.get(item_id)
    if item is None:
        raise NotFoundError("live work item", item_id, "work_item_id")
    if item.state not in WAITING:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"work item '{item_id}' is {item.state.value}; only queued or offered work can move",
            "work_item_id",
        )
    if item.transfer_to_agent_id is not None:
        raise DomainError(
            ErrorCode.TRANSFER_PENDING,
            f"work item '{item_id}' is a pending transfer; cancel the transfer instead",
            "work_item_id",
        )
    return item


def _internal_queue(tx: Tx, queue_id: str, field: str) -> Queue:
    queue = tx.state.config.queues.get(queue_id)
    if queue is None:
        raise NotFoundError("queue", queue_id, field)
    if queue.routing_mode is not RoutingMode.INTERNAL:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"queue '{queue_id}' is routed by its provider; supervisors act on internal queues",
            field,
        )
    return queue


def _moved(item: WorkItem) -> m.ItemMoved:
    return m.ItemMoved(item.id, item.queue_id, item.state.value, item.agent_id, item.offer_id)


def _lift(tx: Tx, item: WorkItem) -> None:
    """Take an item out of its queue or its pending offer."""
    if item.state is WorkItemState.QUEUED:
        tx.state.index.dequeue(item.id)
    else:
        take_back_offer(tx, item)


@handles(m.AssignItem)
def assign_item(tx: Tx, cmd: m.AssignItem) -> m.ItemMoved:
    """End the item as `manually_assigned` and offer a new one to the named agent."""
    item = _waiting_item(tx, cmd.work_item_id)
    _internal_queue(tx, item.queue_id, "work_item_id")
    agent = tx.state.agents.get(cmd.agent_id)
    if agent is None:
        raise NotFoundError("agent", cmd.agent_id, "agent_id")
    if item.channel_id not in tx.state.config.channels:
        raise NotFoundError("channel", item.channel_id, "work_item_id")
    withdraw(tx, item, CancelReason.MANUALLY_ASSIGNED)
    new = WorkItem(
        id=new_id(),
        document_type=item.document_type,
        document_id=item.document_id,
        queue_id=item.queue_id,
        channel_id=item.channel_id,
        priority=item.priority,
        created_at=tx.now,
        skills=item.skills,
        previous_id=item.id,
    )
    tx.state.add_item(new)
    tx.save_item(new, new=True)
    doc = tx.state.documents[item.document_id]
    doc.work_item_id = new.id
    tx.save_document(doc)
    make_offer(tx, new, agent, rule_terms(tx, new))
    _audit(
        tx,
        cmd.actor,
        "supervisor.assign",
        ("work_item", item.id),
        agent_id=agent.id,
        new_work_item_id=new.id,
    )
    return _moved(new)


@handles(m.WithdrawOffer)
def withdraw_offer(tx: Tx, cmd: m.WithdrawOffer) -> m.ItemMoved:
    """Take a pending offer back; the agent is excluded as after a non-reassignable reject."""
    offer = tx.state.offers.get(cmd.offer_id)
    if offer is None:
        ended = tx.state.ended_offers.get(cmd.offer_id)
        if ended is None:
            raise NotFoundError("offer", cmd.offer_id, "offer_id")
        state: OfferState = ended[1]
        raise DomainError(
            ErrorCode.OFFER_NOT_PENDING, f"offer '{cmd.offer_id}' is {state.value}", "offer_id"
        )
    item = _waiting_item(tx, offer.work_item_id)
    queue = tx.state.config.queues[item.queue_id]
    take_back_offer(tx, item)
    exclude(tx, item, offer.agent_id, queue.exclusion_ttl_s)
    enqueue(tx, item)
    _audit(
        tx,
        cmd.actor,
        "supervisor.withdraw_offer",
        ("offer", offer.id),
        agent_id=offer.agent_id,
        work_item_id=item.id,
    )
    return _moved(item)


@handles(m.MoveItem)
def move_item(tx: Tx, cmd: m.MoveItem) -> m.ItemMoved:
    """Move a queued or offered item to another queue serving its channel."""
    item = _waiting_item(tx, cmd.work_item_id)
    target = _internal_queue(tx, cmd.queue_id, "queue_id")
    if item.channel_id not in target.channels:
        raise DomainError(
            ErrorCode.QUEUE_CHANNEL_MISMATCH,
            f"queue '{target.id}' does not serve channel '{item.channel_id}'",
            "queue_id",
        )
    source = item.queue_id
    _lift(tx, item)
    move_to_queue(tx, item, target)
    _audit(
        tx,
        cmd.actor,
        "supervisor.move",
        ("work_item", item.id),
        from_queue_id=source,
        queue_id=target.id,
    )
    return _moved(item)


@handles(m.ForcePresence)
def force_presence(tx: Tx, cmd: m.ForcePresence) -> str:
    """Set an agent's presence; the agent's feed carries the supervisor's reason."""
    agent = tx.state.agents.get(cmd.agent_id)
    if agent is None:
        raise NotFoundError("agent", cmd.agent_id, "agent_id")
    before = agent.presence_id
    set_presence_state(tx, agent, cmd.presence_id, "supervisor", message=cmd.reason)
    _audit(
        tx,
        cmd.actor,
        "supervisor.presence",
        ("agent", agent.id),
        presence_id=cmd.presence_id,
        previous_presence_id=before,
        reason=cmd.reason,
    )
    return agent.presence_id


@handles(m.QueueHours)
def queue_hours(tx: Tx, query: m.QueueHours) -> m.HoursView:
    """Whether a queue is open by its calendar now."""
    queue = tx.state.config.queues.get(query.queue_id)
    if queue is None:
        raise NotFoundError("queue", query.queue_id, "queue_id")
    calendar = tx.state.config.calendars.get(queue.calendar_id or "")
    action, message = queue.out_of_hours.value, queue.out_of_hours_message
    if calendar is None:
        return m.HoursView(queue.id, open=True, next_change=None, out_of_hours_action=action)
    return m.HoursView(
        queue.id, calendar.is_open(tx.now), calendar.next_change(tx.now), action, message
    )


@handles(m.StuckItems)
def stuck_items(tx: Tx, query: m.StuckItems) -> list[m.StuckItem]:
    """Queued items that waited at least `min_wait_s`, oldest first, with the reason."""
    index = tx.state.index
    waiting = [
        item
        for item in tx.state.work_items.values()
        if item.state is WorkItemState.QUEUED and item.age_s(tx.now) >= query.min_wait_s
    ]
    waiting.sort(key=lambda i: (i.created_at, i.id))
    return [
        m.StuckItem(
            work_item_id=item.id,
            document_id=item.document_id,
            queue_id=item.queue_id,
            channel_id=item.channel_id,
            waited_s=int(item.age_s(tx.now)),
            reason=index.why_waiting(item, tx.now),
            excluded_agents=sorted(item.excluded_agents),
            escalation_step=item.escalation_step,
        )
        for item in waiting[: query.limit]
    ]


@handles(m.AgentBoard)
def agent_board(tx: Tx, _query: m.AgentBoard) -> list[m.AgentLine]:
    """Every agent's presence and load, by name."""
    offers: dict[str, int] = {}
    for offer in tx.state.offers.values():
        offers[offer.agent_id] = offers.get(offer.agent_id, 0) + 1
    agents = sorted(tx.state.agents.values(), key=lambda a: (a.name.casefold(), a.id))
    return [
        m.AgentLine(
            a.id,
            a.name,
            a.presence_id,
            a.presence_since,
            {ch: n for ch, n in a.load.items() if n},
            offers.get(a.id, 0),
        )
        for a in agents
    ]
