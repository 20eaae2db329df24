"""Document use cases: create interactions and cases, route them, end and wrap up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from omniroute.core import outbound
from omniroute.core.door import on_timer
from omniroute.core.routing import (
    close_work_item,
    enqueue,
    give_up,
    new_id,
    refuse_during_consult,
    schedule_item_timers,
    withdraw,
)
from omniroute.core.state import Tx
from omniroute.core.timers import TimerKind
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.escalation import document_skills
from omniroute.domain.events import DocumentChanged
from omniroute.domain.model import (
    LIVE_WORK_ITEM_STATES,
    CancelReason,
    CaseState,
    Document,
    DocumentType,
    InteractionState,
    SkillRequirement,
    WorkItem,
    WorkItemState,
)
from omniroute.domain.outbound import RoutingEventType, TransferType


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """Where and how to route a document."""

    queue_id: str
    priority: int | None = None
    skills: tuple[SkillRequirement, ...] = ()
    preferred_agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewDocument:
    """The fields of a new interaction or case."""

    type: DocumentType
    channel_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    route: RouteRequest | None = None


def active_document(tx: Tx, doc_id: str) -> Document:
    """An active document by id, or a clear error."""
    doc = tx.state.documents.get(doc_id)
    if doc is None:
        raise DomainError(
            ErrorCode.DOCUMENT_NOT_ACTIVE,
            f"document '{doc_id}' does not exist or is already closed",
            "document_id",
        )
    return doc


def _validate_route(tx: Tx, doc: Document, route: RouteRequest) -> None:
    queue = tx.state.config.queues.get(route.queue_id)
    if queue is None:
        raise NotFoundError("queue", route.queue_id, "queue_id")
    if doc.channel_id not in queue.channels:
        raise DomainError(
            ErrorCode.QUEUE_CHANNEL_MISMATCH,
            f"queue '{queue.id}' does not serve channel '{doc.channel_id}'",
            "queue_id",
        )
    for req in route.skills:
        if req.skill_id not in tx.state.skill_ids:
            raise NotFoundError("skill", req.skill_id, "skills")
    if route.preferred_agent_id is not None and route.preferred_agent_id not in tx.state.agents:
        raise NotFoundError("agent", route.preferred_agent_id, "preferred_agent_id")


def create_document(tx: Tx, new: NewDocument) -> tuple[Document, WorkItem | None]:
    """Create an interaction or case, routed to a queue when one is given."""
    if new.channel_id not in tx.state.config.channels:
        raise NotFoundError("channel", new.channel_id, "channel_id")
    if new.type is DocumentType.INTERACTION:
        case_id = new.fields.get("case_id")
        case = tx.state.documents.get(case_id) if case_id is not None else None
        if case_id is not None and (case is None or case.type is not DocumentType.CASE):
            raise DomainError(
                ErrorCode.DOCUMENT_NOT_ACTIVE,
                f"case '{case_id}' does not exist or is closed",
                "case_id",
            )
        state: str = InteractionState.NEW
    else:
        state = CaseState.NEW
    summary = {
        k: str(new.fields.get(k) or "") for k in ("customer_name", "customer_email", "subject")
    }
    doc = Document(
        id=new_id(),
        type=new.type,
        channel_id=new.channel_id,
        state=state,
        summary=summary,
        customer_id=new.fields.get("customer_id"),
        case_id=new.fields.get("case_id"),
    )
    if new.route is not None:
        _validate_route(tx, doc, new.route)
    fields = dict(new.fields)
    if new.type is DocumentType.CASE:
        fields["number"] = tx.state.take_case_number()
    tx.state.documents[doc.id] = doc
    tx.save_document(doc, new=True, channel_id=doc.channel_id, created_at=tx.now, **fields)
    item = route_document(tx, doc.id, new.route) if new.route is not None else None
    return doc, item


def preferred_agent(tx: Tx, doc: Document, route: RouteRequest) -> str | None:
    """Who should get the work first: the agent named on the request, the case's owner, or
    the agent who last handled this customer."""
    if route.preferred_agent_id is not None:
        return route.preferred_agent_id
    case = tx.state.documents.get(doc.case_id or "")
    if case is not None and case.agent_id is not None:
        return case.agent_id
    if doc.type is DocumentType.CASE and doc.agent_id is not None:
        return doc.agent_id
    if doc.customer_id is not None:
        return tx.state.last_agents.get(doc.customer_id)
    return None


def route_document(tx: Tx, doc_id: str, route: RouteRequest) -> WorkItem:
    """Create the document's work item in a queue, re-routing any live one not yet accepted."""
    doc = active_document(tx, doc_id)
    _validate_route(tx, doc, route)
    if doc.type is DocumentType.INTERACTION and doc.state == InteractionState.WRAP_UP:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            "an interaction in wrap-up cannot be routed",
            "document_id",
        )
    refuse_during_consult(tx, doc)
    queue = tx.state.config.queues[route.queue_id]
    previous_id = doc.work_item_id
    current = tx.state.work_items.get(doc.work_item_id or "")
    if current is not None and current.state is not WorkItemState.ACCEPTED:
        withdraw(tx, current, CancelReason.REROUTED)
    accepted = tx.state.work_items.get(doc.accepted_item_id or "")
    item = WorkItem(
        id=new_id(),
        document_type=doc.type,
        document_id=doc.id,
        queue_id=queue.id,
        channel_id=doc.channel_id,
        priority=route.priority if route.priority is not None else queue.priority,
        created_at=tx.now,
        skills=queue.skills + document_skills(route.skills),
        previous_id=previous_id,
        preferred_agent_id=preferred_agent(tx, doc, route),
    )
    if accepted is not None:
        # Routing accepted work again is a blind transfer to the queue.
        item.previous_id = accepted.id
        item.transfer_type = TransferType.BLIND.value
        item.transfer_from_agent_id = accepted.agent_id
        if accepted.agent_id is not None:
            item.excluded_agents |= {accepted.agent_id}
    tx.state.add_item(item)
    tx.save_item(item, new=True)
    doc.work_item_id = item.id
    if doc.type is DocumentType.INTERACTION and doc.state == InteractionState.NEW:
        doc.state = InteractionState.ON_HOLD
    elif doc.type is DocumentType.CASE and doc.state == CaseState.NEW:
        doc.state = CaseState.OPEN
    tx.save_document(doc)
    enqueue(tx, item)
    schedule_item_timers(tx, item)
    spoke = outbound.queue_spoke(tx, queue.id)
    if spoke is not None:
        doc.spoke = spoke
        if accepted is not None:
            outbound.transfer(tx, RoutingEventType.TRANSFER_TO_QUEUE, spoke, item)
        else:
            outbound.new_interaction(tx, item)
    return item


def _check_owner(doc: Document, agent_id: str | None) -> None:
    if agent_id is not None and doc.agent_id != agent_id:
        raise DomainError(
            ErrorCode.FORBIDDEN, f"document '{doc.id}' is not assigned to agent '{agent_id}'"
        )


def _withdraw_pending(tx: Tx, doc: Document) -> None:
    current = tx.state.work_items.get(doc.work_item_id or "")
    if current is not None and current.id != doc.accepted_item_id:
        withdraw(tx, current, CancelReason.DOCUMENT_CLOSED)


def _close(tx: Tx, doc: Document, state: str, **fields: Any) -> None:
    for item in tx.state.live_items(doc.id):
        if item.state is WorkItemState.ACCEPTED:
            close_work_item(tx, item)
        else:
            withdraw(tx, item, CancelReason.DOCUMENT_CLOSED)
    doc.state = state
    doc.wrap_up_due_at = None
    tx.state.documents.pop(doc.id, None)
    tx.save_document(doc, closed_at=tx.now, **fields)
    _announce(tx, doc)
    wrap_up = {"wrap_up_code_id": doc.wrap_up_code_id, "wrap_up_notes": doc.wrap_up_notes}
    outbound.end_interaction(tx, doc, wrap_up | fields)


def _announce(tx: Tx, doc: Document) -> None:
    if doc.agent_id is not None:
        event = DocumentChanged(doc.type.value, doc.id, doc.state, doc.wrap_up_due_at)
        tx.emit(doc.agent_id, event)


def _wrap_up_code(tx: Tx, code_id: str) -> int | None:
    code = tx.state.wrap_up_codes.get(code_id)
    if code is None:
        raise DomainError(
            ErrorCode.INVALID_WRAP_UP_CODE,
            f"wrap-up code '{code_id}' does not exist",
            "wrap_up_code_id",
        )
    return code.time_limit_s


def end_interaction(
    tx: Tx, doc_id: str, agent_id: str | None, code_id: str | None, notes: str | None
) -> Document:
    """End an interaction: abandon it if never accepted, else enter or skip wrap-up."""
    doc = active_document(tx, doc_id)
    if doc.type is not DocumentType.INTERACTION:
        raise NotFoundError("interaction", doc_id, "interaction_id")
    if doc.state in (InteractionState.NEW, InteractionState.ON_HOLD):
        if agent_id is not None:
            _check_owner(doc, agent_id)
        _close(tx, doc, InteractionState.CLOSED_ABANDONED, ended_at=tx.now)
        return doc
    if doc.state != InteractionState.WORK_IN_PROGRESS:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"interaction is in '{doc.state}'; submit its wrap-up instead",
        )
    _check_owner(doc, agent_id)
    limit = _wrap_up_code(tx, code_id) if code_id is not None else None
    fields: dict[str, Any] = {"ended_at": tx.now, "wrap_up_code_id": code_id}
    if notes is not None:
        fields["wrap_up_notes"] = notes
    if code_id is not None and limit is None:
        _close(tx, doc, InteractionState.CLOSED_COMPLETE, **fields)
        return doc
    _withdraw_pending(tx, doc)
    doc.state = InteractionState.WRAP_UP
    doc.wrap_up_code_id = code_id
    doc.wrap_up_notes = notes
    if limit is not None:
        doc.wrap_up_due_at = tx.now + timedelta(seconds=limit)
        tx.schedule(doc.wrap_up_due_at, TimerKind.WRAP_UP_DUE, doc.id)
    tx.save_document(doc, wrap_up_due_at=doc.wrap_up_due_at, **fields)
    _announce(tx, doc)
    return doc


def submit_wrap_up(
    tx: Tx, doc_id: str, agent_id: str | None, code_id: str, notes: str | None
) -> Document:
    """Record the wrap-up of an interaction and close it."""
    doc = active_document(tx, doc_id)
    if doc.type is not DocumentType.INTERACTION or doc.state != InteractionState.WRAP_UP:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"interaction is in '{doc.state}', not in wrap-up",
            "interaction_id",
        )
    _check_owner(doc, agent_id)
    _wrap_up_code(tx, code_id)
    _close(
        tx,
        doc,
        InteractionState.CLOSED_COMPLETE,
        wrap_up_code_id=code_id,
        wrap_up_notes=notes,
        wrap_up_due_at=None,
    )
    return doc


@on_timer(TimerKind.WRAP_UP_DUE)
def wrap_up_due(tx: Tx, doc_id: str) -> None:
    """The wrap-up time limit ran out: close the interaction with what was recorded."""
    doc = tx.state.documents.get(doc_id)
    if doc is None or doc.state != InteractionState.WRAP_UP or doc.wrap_up_due_at is None:
        return
    if doc.wrap_up_due_at > tx.now:
        return
    _close(tx, doc, InteractionState.CLOSED_COMPLETE, wrap_up_due_at=None)


def close_case(
    tx: Tx,
    doc_id: str,
    agent_id: str | None,
    resolution: str | None,
    code_id: str | None = None,
) -> Document:
    """Close a case, freeing the agent working on it; a provider gets the wrap-up code."""
    doc = active_document(tx, doc_id)
    if doc.type is not DocumentType.CASE:
        raise NotFoundError("case", doc_id, "case_id")
    if agent_id is not None:
        _check_owner(doc, agent_id)
    if code_id is not None:
        _wrap_up_code(tx, code_id)
    fields: dict[str, Any] = {}
    if resolution is not None:
        fields["resolution"] = resolution
    if code_id is not None:
        fields["wrap_up_code_id"] = code_id
    # The resolution is what the provider gets as the wrap-up notes.
    doc.wrap_up_code_id, doc.wrap_up_notes = code_id, resolution
    _close(tx, doc, CaseState.CLOSED, **fields)
    return doc


@on_timer(TimerKind.MAX_WAIT)
def max_wait_exceeded(tx: Tx, item_id: str) -> None:
    """A queued item waited longer than its queue allows: cancel it."""
    item = tx.state.work_items.get(item_id)
    if item is None or item.state is not WorkItemState.QUEUED:
        return
    queue = tx.state.config.queues.get(item.queue_id)
    if queue is None or queue.max_wait_s is None:
        return
    if item.age_s(tx.now) < queue.max_wait_s:
        return
    give_up(tx, item, CancelReason.MAX_WAIT_EXCEEDED)


def is_live(item: WorkItem) -> bool:
    """Whether an item is still in routing or being worked."""
    return item.state in LIVE_WORK_ITEM_STATES
