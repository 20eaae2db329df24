"""Routing use cases: offers, accept, reject, timeout, and the routing pass."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from omniroute.core import outbound
from omniroute.core.door import on_timer, settles
from omniroute.core.state import Tx
from omniroute.core.timers import TimerKind, item_timers
from omniroute.core.transfer_events import transfer_changed
from omniroute.domain.calendar import OutOfHoursAction
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.escalation import moved_skills, step_due
from omniroute.domain.events import OfferCreated, OfferEnded, PresenceChanged, WorkItemClosed
from omniroute.domain.model import (
    CAPACITY_HOLDING_STATES,
    Agent,
    CancelReason,
    CaseState,
    DisplayOption,
    Document,
    DocumentType,
    InteractionState,
    Offer,
    OfferState,
    Queue,
    RoutingMode,
    WorkItem,
    WorkItemState,
)

_ID_PREFIX = uuid.uuid4().hex[:12]
_id_counter = itertools.count(1)


def new_id() -> str:
    """A new identifier, unique across processes: a random per-process prefix and a counter."""
    # uuid4 per id costs a system call; ids are made on the hot path of every offer.
    return f"{_ID_PREFIX}{next(_id_counter):012x}"


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """The terms of one offer."""

    timeout_s: float | None
    allowed_to_decline: bool
    auto_accept: bool
    presence_after_timeout: str | None
    external_segment_id: str | None = None
    display_option: DisplayOption = DisplayOption.CARD_ONLY


def rule_terms(tx: Tx, item: WorkItem) -> OfferTerms:
    """Offer terms from the item's queue rule."""
    config = tx.state.config
    rule = config.rules[config.queues[item.queue_id].rule_id]
    return OfferTerms(
        timeout_s=rule.offer_timeout_s,
        allowed_to_decline=rule.allowed_to_decline,
        auto_accept=rule.auto_accept,
        presence_after_timeout=rule.presence_after_timeout,
    )


# -- queue membership -------------------------------------------------------------------


def retarget(item: WorkItem, target: Queue, now: datetime) -> None:
    """Make an item one of another queue's: its priority, requirements and steps start there.

    It takes the target queue's skill requirements and keeps those its document asked for.
    """
    item.queue_id = target.id
    item.priority = min(item.priority, target.priority)
    item.entered_at = now
    item.escalation_step = 0
    item.extra_groups = frozenset()
    item.skills = moved_skills(item.skills, target.skills)


def enqueue(tx: Tx, item: WorkItem) -> None:
    """Put an item (back) in its queue and ask for routing."""
    item.state = WorkItemState.QUEUED
    item.agent_id = None
    item.offer_id = None
    queue = tx.state.config.queues[item.queue_id]
    closed = queue.id in tx.state.index.closed_queues
    target = tx.state.config.queues.get(queue.out_of_hours_queue_id or "")
    if closed and queue.out_of_hours is OutOfHoursAction.ROUTE_TO_QUEUE and target is not None:
        retarget(item, target, tx.now)
        queue = target
        schedule_item_timers(tx, item)
    tx.save_item(item)
    if queue.max_wait_s is not None and item.age_s(tx.now) >= queue.max_wait_s:
        # Its max-wait timer fired while it was offered: end its wait in the next batch.
        tx.schedule(tx.now, TimerKind.MAX_WAIT, item.id)
    due = step_due(queue.steps, item.escalation_step, item.queued_since())
    if due is not None:
        # A step that fell due while it was offered is taken in the next batch; a later one
        # is armed again, since a reload while the item was offered armed nothing for it.
        tx.schedule(max(due, tx.now), TimerKind.ESCALATE, item.id)
    if queue.routing_mode is RoutingMode.INTERNAL:
        tx.state.index.enqueue(item)
        tx.route_item(item.id)


def schedule_item_timers(tx: Tx, item: WorkItem) -> None:
    """Arm the timers that can change an item's eligibility or end its wait."""
    for due, kind, target in item_timers(tx.state.config, item):
        tx.schedule(due, kind, target)


def exclude(tx: Tx, item: WorkItem, agent_id: str, seconds: int | None) -> None:
    """Keep an agent from being offered the item again, for `seconds` (None: for good)."""
    item.excluded_agents |= {agent_id}
    if seconds is None:
        return
    until = tx.now + timedelta(seconds=seconds)
    item.excluded_until = {**(item.excluded_until or {}), agent_id: until}
    tx.schedule(until, TimerKind.EXCLUSION_EXPIRY, item.id)


def _hold(tx: Tx, agent: Agent, channel_id: str) -> None:
    agent.load[channel_id] = agent.load.get(channel_id, 0) + 1
    tx.state.index.refresh_agent(agent)


def release_capacity(tx: Tx, agent_id: str, channel_id: str) -> None:
    """Give back one unit of an agent's capacity on a channel."""
    agent = tx.state.agents.get(agent_id)
    if agent is None:
        return
    agent.load[channel_id] = max(agent.load.get(channel_id, 0) - 1, 0)
    tx.state.index.refresh_agent(agent)
    tx.route_agent(agent.id)


# -- offers -----------------------------------------------------------------------------


def _transfer_fields(tx: Tx, item: WorkItem) -> dict[str, str | None]:
    """Who hands the work over and their note, for the offer of a transfer."""
    if item.transfer_type is None:
        return {}
    sender = tx.state.agents.get(item.transfer_from_agent_id or "")
    return {
        "transfer_type": item.transfer_type,
        "transfer_from_agent_id": item.transfer_from_agent_id,
        "transfer_from_name": sender.name if sender is not None else None,
        "transfer_note": item.transfer_note,
    }


def make_offer(tx: Tx, item: WorkItem, agent: Agent, terms: OfferTerms) -> Offer:
    """Offer a queued item to an agent; the caller has checked eligibility and capacity."""
    now = tx.now
    expires = None if terms.timeout_s is None else now + timedelta(seconds=terms.timeout_s)
    offer = Offer(
        id=new_id(),
        work_item_id=item.id,
        agent_id=agent.id,
        created_at=now,
        expires_at=expires,
        allowed_to_decline=terms.allowed_to_decline,
        auto_accept=terms.auto_accept,
        presence_after_timeout=terms.presence_after_timeout,
        external_segment_id=terms.external_segment_id,
        display_option=terms.display_option,
    )
    tx.state.index.dequeue(item.id)
    item.state = WorkItemState.PENDING_ACCEPT
    item.agent_id = agent.id
    item.offer_id = offer.id
    item.offer_count += 1
    agent.last_assigned_at = now
    _hold(tx, agent, item.channel_id)
    tx.state.offers[offer.id] = offer
    tx.save_offer(offer, new=True)
    tx.save_item(item)
    tx.save_agent(agent)
    transfer_changed(tx, item, "offered", offered_to=agent.id)
    tx.emit(
        agent.id,
        OfferCreated(
            offer_id=offer.id,
            work_item_id=item.id,
            document_type=item.document_type.value,
            document_id=item.document_id,
            channel_id=item.channel_id,
            queue_id=item.queue_id,
            created_at=now,
            expires_at=expires,
            allowed_to_decline=offer.allowed_to_decline,
            auto_accept=offer.auto_accept,
            display_option=offer.display_option.value,
            **_transfer_fields(tx, item),
        ),
    )
    if offer.auto_accept:
        _accept(tx, offer, item)
    elif expires is not None:
        tx.schedule(expires, TimerKind.OFFER_TIMEOUT, offer.id)
    return offer


def _pending_offer(tx: Tx, offer_id: str, agent_id: str | None) -> tuple[Offer, WorkItem]:
    offer = tx.state.offers.get(offer_id)
    if offer is not None:
        if agent_id is not None and offer.agent_id != agent_id:
            raise DomainError(ErrorCode.FORBIDDEN, f"offer '{offer_id}' was made to another agent")
        return offer, tx.state.work_items[offer.work_item_id]
    ended = tx.state.ended_offers.get(offer_id)
    if ended is None:
        raise NotFoundError("offer", offer_id, "offer_id")
    owner, state = ended
    if agent_id is not None and owner != agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, f"offer '{offer_id}' was made to another agent")
    if state is OfferState.ACCEPTED:
        raise DomainError(
            ErrorCode.WORK_ITEM_ALREADY_ACCEPTED, f"offer '{offer_id}' was already accepted"
        )
    raise DomainError(ErrorCode.OFFER_NOT_PENDING, f"offer '{offer_id}' is {state.value}")


def _end_offer(tx: Tx, offer: Offer, state: OfferState) -> None:
    offer.state = state
    offer.ended_at = tx.now
    if state is OfferState.TIMED_OUT and offer.expires_at is not None:
        # A timeout processed late (after a restart) still ended when it fell due.
        offer.ended_at = min(tx.now, offer.expires_at)
    tx.state.offers.pop(offer.id, None)
    tx.state.remember_ended(offer)
    tx.save_offer(offer)
    item = tx.state.work_items.get(offer.work_item_id)
    if item is not None:
        outbound.offer_outcome(tx, offer, item)
        transfer_changed(tx, item, state.value)
    tx.emit(
        offer.agent_id,
        OfferEnded(
            offer_id=offer.id,
            work_item_id=offer.work_item_id,
            state=state.value,
            reject_reason_id=offer.reject_reason_id,
        ),
    )


def _accept(tx: Tx, offer: Offer, item: WorkItem) -> None:
    _end_offer(tx, offer, OfferState.ACCEPTED)
    item.state = WorkItemState.ACCEPTED
    item.accepted_at = tx.now
    item.offer_id = None
    tx.save_item(item)
    doc = tx.state.documents[item.document_id]
    # A consult transfer keeps the sender on the work until the sender completes it;
    # any other acceptance hands the whole document over, consult senders included.
    if item.transfer_type != "consult":
        for other in tx.state.live_items(doc.id):
            if other.id != item.id and other.state is WorkItemState.ACCEPTED:
                close_work_item(tx, other)
    doc.accepted_item_id = item.id
    doc.agent_id = offer.agent_id
    if doc.customer_id is not None:
        tx.state.last_agents[doc.customer_id] = offer.agent_id
    if doc.type is DocumentType.INTERACTION:
        doc.state = InteractionState.WORK_IN_PROGRESS
    else:
        doc.state = CaseState.IN_PROGRESS
    tx.save_document(doc)


def refuse_during_consult(tx: Tx, doc: Document) -> None:
    """Refuse to move work while a consult sender is still on it: complete the consult first."""
    current = tx.state.work_items.get(doc.accepted_item_id or "")
    if current is None or current.transfer_type != "consult":
        return
    sender = tx.state.work_items.get(current.previous_id or "")
    if sender is not None and sender.state is WorkItemState.ACCEPTED:
        raise DomainError(
            ErrorCode.TRANSFER_PENDING,
            "a consult transfer is still open; its sender must complete it first",
            "document_id",
        )


def accept_offer(tx: Tx, offer_id: str, agent_id: str | None) -> Offer:
    """The agent accepts a pending offer."""
    offer, item = _pending_offer(tx, offer_id, agent_id)
    _accept(tx, offer, item)
    return offer


def reject_offer(
    tx: Tx, offer_id: str, agent_id: str | None, reason_id: str | None, note: str | None
) -> Offer:
    """The agent declines a pending offer; the item goes back to its queue."""
    offer, item = _pending_offer(tx, offer_id, agent_id)
    if not offer.allowed_to_decline:
        raise DomainError(ErrorCode.DECLINE_NOT_ALLOWED, "this offer may not be declined")
    reassignable = False
    if reason_id is not None:
        reason = tx.state.reject_reasons.get(reason_id)
        if reason is None or reason.channel_id not in (None, item.channel_id):
            raise DomainError(
                ErrorCode.INVALID_REJECT_REASON,
                f"reject reason '{reason_id}' does not exist for channel '{item.channel_id}'",
                "reason_id",
            )
        reassignable = reason.reassignable
    offer.reject_reason_id = reason_id
    offer.note = note
    _end_offer(tx, offer, OfferState.REJECTED)
    item.rejected = True
    queue = tx.state.config.queues[item.queue_id]
    if not reassignable:
        exclude(tx, item, offer.agent_id, queue.exclusion_ttl_s)
    elif queue.reject_cooldown_s:
        # "Busy": every other eligible agent first; this one again after the cool-down.
        exclude(tx, item, offer.agent_id, queue.reject_cooldown_s)
    release_capacity(tx, offer.agent_id, item.channel_id)
    if item.transfer_to_agent_id is not None:
        withdraw(tx, item, CancelReason.TRANSFER_REJECTED)
    else:
        enqueue(tx, item)
    return offer


@on_timer(TimerKind.OFFER_TIMEOUT)
def time_out_offer(tx: Tx, offer_id: str) -> None:
    """An offer's timeout fell due: return the item and apply the after-timeout presence."""
    offer = tx.state.offers.get(offer_id)
    if offer is None or offer.expires_at is None or offer.expires_at > tx.now:
        return
    item = tx.state.work_items[offer.work_item_id]
    _end_offer(tx, offer, OfferState.TIMED_OUT)
    item.timed_out = True
    queue = tx.state.config.queues[item.queue_id]
    if not tx.state.config.rules[queue.rule_id].reassign_on_timeout:
        exclude(tx, item, offer.agent_id, queue.exclusion_ttl_s)
    release_capacity(tx, offer.agent_id, item.channel_id)
    agent = tx.state.agents.get(offer.agent_id)
    target = offer.presence_after_timeout
    if agent is not None and target and target in tx.state.config.presence:
        set_presence_state(tx, agent, target, reason="offer_timed_out")
    if item.transfer_to_agent_id is not None:
        withdraw(tx, item, CancelReason.TRANSFER_TIMED_OUT)
    else:
        enqueue(tx, item)


def rescind_offer(tx: Tx, offer_id: str) -> bool:
    """The provider took its pending offer back: the item waits for its next decision."""
    offer = tx.state.offers.get(offer_id)
    if offer is None:
        return False
    item = tx.state.work_items[offer.work_item_id]
    _end_offer(tx, offer, OfferState.WITHDRAWN)
    release_capacity(tx, offer.agent_id, item.channel_id)
    if item.transfer_to_agent_id is not None:
        withdraw(tx, item, CancelReason.TRANSFER_CANCELLED)
    else:
        enqueue(tx, item)
    return True


def take_back_offer(tx: Tx, item: WorkItem) -> str | None:
    """End an item's pending offer as withdrawn and free the agent's capacity; the item is
    left neither queued nor offered, for the caller to place."""
    offer = tx.state.offers.get(item.offer_id or "")
    if offer is None:
        return None
    _end_offer(tx, offer, OfferState.WITHDRAWN)
    release_capacity(tx, offer.agent_id, item.channel_id)
    item.offer_id = None
    item.agent_id = None
    return offer.agent_id


def withdraw(tx: Tx, item: WorkItem, reason: CancelReason) -> None:
    """Take a live item out of routing: withdraw its offer, free capacity, cancel it."""
    if item.state is WorkItemState.QUEUED:
        tx.state.index.dequeue(item.id)
    if item.offer_id is not None:
        offer = tx.state.offers.get(item.offer_id)
        if offer is not None:
            _end_offer(tx, offer, OfferState.WITHDRAWN)
    if item.state in CAPACITY_HOLDING_STATES and item.agent_id is not None:
        release_capacity(tx, item.agent_id, item.channel_id)
    item.state = WorkItemState.CANCELLED
    item.cancel_reason = reason
    item.offer_id = None
    item.ended_at = tx.now
    tx.state.drop_item(item)
    tx.save_item(item)
    doc = tx.state.documents.get(item.document_id)
    if doc is not None and doc.work_item_id == item.id and doc.accepted_item_id is not None:
        doc.work_item_id = doc.accepted_item_id
        tx.save_document(doc)


def give_up(tx: Tx, item: WorkItem, reason: CancelReason) -> None:
    """Stop routing an item for good; a document that stays open keeps no current item."""
    withdraw(tx, item, reason)
    doc = tx.state.documents.get(item.document_id)
    if doc is not None and doc.work_item_id == item.id:
        doc.work_item_id = None
        tx.save_document(doc)


def close_work_item(tx: Tx, item: WorkItem) -> None:
    """Accepted work is finished: free the agent's capacity."""
    if item.state is not WorkItemState.ACCEPTED:
        withdraw(tx, item, CancelReason.DOCUMENT_CLOSED)
        return
    item.state = WorkItemState.CLOSED
    item.ended_at = tx.now
    tx.state.drop_item(item)
    tx.save_item(item)
    if item.agent_id is not None:
        release_capacity(tx, item.agent_id, item.channel_id)
        tx.emit(
            item.agent_id,
            WorkItemClosed(item.id, item.document_type.value, item.document_id),
        )


# -- presence ---------------------------------------------------------------------------


def set_presence_state(
    tx: Tx,
    agent: Agent,
    presence_id: str,
    reason: str,
    origin_spoke: str | None = None,
    *,
    message: str = "",
) -> None:
    """Change an agent's presence state, tell linked providers, route if now available."""
    if presence_id not in tx.state.config.presence:
        raise NotFoundError("presence state", presence_id, "presence_id")
    if agent.presence_id == presence_id:
        return
    agent.presence_id = presence_id
    agent.presence_since = tx.now
    tx.state.index.refresh_agent(agent)
    tx.save_agent(agent)
    tx.route_agent(agent.id)
    tx.emit(agent.id, PresenceChanged(presence_id, dict(agent.channel_available), reason, message))
    outbound.agent_presence(tx, agent, skip_spoke=origin_spoke)


# -- the routing pass -------------------------------------------------------------------


@on_timer(TimerKind.RECHECK_ITEM)
def recheck_item(tx: Tx, item_id: str) -> None:
    """A queued item became eligible for more agents (skills widened, overflow): re-try it."""
    tx.route_item(item_id)


@settles
def route_pending(tx: Tx) -> None:
    """Route until no queued item and routable agent form an eligible pair."""
    state = tx.state
    index = state.index
    while tx.route_agents or tx.route_items:
        agent_ids = list(tx.route_agents)
        tx.route_agents.clear()
        for agent_id in agent_ids:
            agent = state.agents.get(agent_id)
            while agent is not None:
                item = index.best_item_for(agent, tx.now)
                if item is None:
                    break
                make_offer(tx, item, agent, rule_terms(tx, item))
        item_ids = list(tx.route_items)
        tx.route_items.clear()
        for item_id in item_ids:
            queued = index.items.get(item_id)
            if queued is None:
                continue
            best = index.best_agent_for(queued, tx.now)
            if best is not None:
                make_offer(tx, queued, best, rule_terms(tx, queued))
