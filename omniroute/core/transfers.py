"""Transfers of accepted work: to an agent or a queue, blind or consult, cancellable."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.core import outbound
from omniroute.core.documents import active_document
from omniroute.core.routing import (
    close_work_item,
    enqueue,
    make_offer,
    new_id,
    refuse_during_consult,
    rule_terms,
    schedule_item_timers,
    withdraw,
)
from omniroute.core.state import Tx
from omniroute.core.transfer_events import transfer_changed
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import (
    CancelReason,
    CaseState,
    Document,
    DocumentType,
    InteractionState,
    WorkItem,
    WorkItemState,
)
from omniroute.domain.outbound import RoutingEventType, TransferType


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """Who transfers what to whom."""

    document_id: str
    by_agent_id: str | None
    target_agent_id: str | None
    target_queue_id: str | None
    type: TransferType
    note: str | None = None


def _worked(doc: Document) -> bool:
    if doc.type is DocumentType.INTERACTION:
        return doc.state == InteractionState.WORK_IN_PROGRESS
    return doc.state == CaseState.IN_PROGRESS


def pending_transfer(tx: Tx, doc: Document) -> WorkItem | None:
    """The live transfer of a document not yet accepted by its target, if any."""
    item = tx.state.work_items.get(doc.work_item_id or "")
    if item is None or item.id == doc.accepted_item_id or item.transfer_type is None:
        return None
    return item if item.state is not WorkItemState.ACCEPTED else None


def start_transfer(tx: Tx, req: TransferRequest) -> WorkItem:
    """Start a transfer; the sender keeps the work until the target accepts."""
    doc = active_document(tx, req.document_id)
    accepted = tx.state.work_items.get(doc.accepted_item_id or "")
    if accepted is None or not _worked(doc):
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"{doc.type.value} '{doc.id}' is not being worked; only accepted work is transferred",
            "document_id",
        )
    if req.by_agent_id is not None and accepted.agent_id != req.by_agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, "only the agent working on it may transfer it")
    if pending_transfer(tx, doc) is not None:
        raise DomainError(
            ErrorCode.TRANSFER_PENDING, "a transfer is already pending; cancel it first"
        )
    refuse_during_consult(tx, doc)
    queues = tx.state.config.queues
    queue = queues[accepted.queue_id]
    if req.target_queue_id is not None:
        target_queue = queues.get(req.target_queue_id)
        if target_queue is None:
            raise NotFoundError("queue", req.target_queue_id, "target_queue_id")
        if doc.channel_id not in target_queue.channels:
            raise DomainError(
                ErrorCode.QUEUE_CHANNEL_MISMATCH,
                f"queue '{target_queue.id}' does not serve channel '{doc.channel_id}'",
                "target_queue_id",
            )
        queue = target_queue
    spoke = outbound.queue_spoke(tx, queue.id)
    target = None
    if req.target_agent_id is not None:
        target = tx.state.agents.get(req.target_agent_id)
        if target is None:
            raise NotFoundError("agent", req.target_agent_id, "target_agent_id")
        if target.id == accepted.agent_id:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR, "an agent cannot transfer to itself", "target_agent_id"
            )
        if spoke is None and not tx.state.index.is_routable(target.id, doc.channel_id):
            raise DomainError(
                ErrorCode.AGENT_NOT_AVAILABLE,
                f"agent '{target.id}' is not available on '{doc.channel_id}'",
                "target_agent_id",
            )
    item = WorkItem(
        id=new_id(),
        document_type=doc.type,
        document_id=doc.id,
        queue_id=queue.id,
        channel_id=doc.channel_id,
        priority=queue.priority,
        created_at=tx.now,
        skills=queue.skills if req.target_queue_id is not None else (),
        previous_id=accepted.id,
        transfer_type=req.type.value,
        transfer_from_agent_id=accepted.agent_id,
        transfer_to_agent_id=target.id if target is not None else None,
        transfer_note=req.note,
        excluded_agents=frozenset({accepted.agent_id}) if accepted.agent_id else frozenset(),
    )
    tx.state.add_item(item)
    tx.save_item(item, new=True)
    doc.work_item_id = item.id
    tx.save_document(doc)
    if spoke is not None:
        doc.spoke = spoke
        event = (
            RoutingEventType.TRANSFER_TO_AGENT
            if target is not None
            else RoutingEventType.TRANSFER_TO_QUEUE
        )
        tx.save_item(item)
        outbound.transfer(tx, event, spoke, item)
    transfer_changed(tx, item, "pending")
    if spoke is None and target is not None:
        make_offer(tx, item, target, rule_terms(tx, item))
    elif spoke is None:
        enqueue(tx, item)
        schedule_item_timers(tx, item)
    return item


def cancel_transfer(tx: Tx, document_id: str, by_agent_id: str | None) -> WorkItem:
    """Cancel a pending transfer; the work stays with the sender."""
    doc = active_document(tx, document_id)
    item = pending_transfer(tx, doc)
    if item is None:
        raise DomainError(ErrorCode.NO_PENDING_TRANSFER, "there is no pending transfer to cancel")
    if by_agent_id is not None and item.transfer_from_agent_id != by_agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, "only the sender may cancel a transfer")
    spoke = outbound.item_spoke(tx, item)
    if spoke is not None:
        outbound.transfer(tx, RoutingEventType.CANCEL_TRANSFER, spoke, item)
    withdraw(tx, item, CancelReason.TRANSFER_CANCELLED)
    transfer_changed(tx, item, "cancelled")
    return item


def complete_consult(tx: Tx, document_id: str, by_agent_id: str | None) -> WorkItem:
    """The sender of an accepted consult transfer leaves: its work item closes."""
    doc = active_document(tx, document_id)
    current = tx.state.work_items.get(doc.accepted_item_id or "")
    sender = tx.state.work_items.get(current.previous_id or "") if current else None
    if (
        current is None
        or current.transfer_type != TransferType.CONSULT.value
        or sender is None
        or sender.state is not WorkItemState.ACCEPTED
    ):
        raise DomainError(
            ErrorCode.NO_PENDING_TRANSFER, "there is no accepted consult transfer to complete"
        )
    if by_agent_id is not None and sender.agent_id != by_agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, "only the consulting sender may complete it")
    close_work_item(tx, sender)
    return sender
