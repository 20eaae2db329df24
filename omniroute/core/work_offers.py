"""The Work Offer API's use case: a provider targets one of our agents with a work item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from omniroute.core.documents import active_document
from omniroute.core.routing import OfferTerms, make_offer, new_id
from omniroute.core.rows import IdempotencyKeyRecord
from omniroute.core.state import Tx
from omniroute.domain.bounds import check_instant, check_timeout
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import (
    Agent,
    CaseState,
    DisplayOption,
    Document,
    DocumentType,
    InteractionState,
    Offer,
    Queue,
    WorkItem,
    WorkItemState,
)
from omniroute.domain.outbound import TransferType

# Provider clocks drift; an offered_at this far in the future is still taken as "now".
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class ProviderTransfer:
    """A transfer decided by the provider, carried on its Work Offer call."""

    type: TransferType
    from_agent_id: str | None = None
    from_provider_agent_id: str | None = None
    source_queue_id: str | None = None
    source_provider_queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorkOffer:
    """One Work Offer API request, with provider ids still unresolved."""

    spoke: str | None
    document_id: str | None
    work_item_id: str | None
    queue_id: str | None
    provider_queue_id: str | None
    agent_id: str | None
    provider_agent_id: str | None
    allowed_to_decline: bool
    auto_accept: bool
    timeout_s: float | None
    after_timeout_presence: str | None
    offered_at: datetime | None
    external_segment_id: str | None
    transfer: ProviderTransfer | None
    idempotency_key: str | None
    request_hash: str
    display_option: DisplayOption = DisplayOption.CARD_ONLY


@dataclass(frozen=True, slots=True)
class WorkOfferResult:
    """The offer made, or found again for a repeated request."""

    offer_id: str
    replayed: bool


def offer_work(tx: Tx, req: WorkOffer) -> WorkOfferResult:
    """Validate a provider's routing decision and offer the work to the agent."""
    replay = _replay(tx, req)
    if replay is not None:
        return WorkOfferResult(replay, replayed=True)
    remaining = _remaining_timeout(tx, req)
    if req.display_option is DisplayOption.CARD_AND_TAB and not req.auto_accept:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "display_option card_and_tab applies to auto-accepted work: set auto_accept to true "
            "or use card_only",
            "display_option",
        )
    agent = _agent(tx, req)
    if req.after_timeout_presence is not None and (
        req.after_timeout_presence not in tx.state.config.presence
    ):
        raise NotFoundError("presence state", req.after_timeout_presence, "after_timeout_presence")
    # Every check comes before _target_item, which may create the item.
    channel_id = _target_channel(tx, req)
    if not tx.state.index.is_routable(agent.id, channel_id):
        raise DomainError(
            ErrorCode.AGENT_NOT_AVAILABLE,
            f"agent '{agent.id}' is not available on '{channel_id}' or has no free capacity",
            "agent_id" if req.agent_id is not None else "provider_agent_id",
        )
    item = _target_item(tx, req, agent)
    if agent.id in item.excluded_agents:
        raise DomainError(
            ErrorCode.AGENT_NOT_AVAILABLE,
            f"agent '{agent.id}' declined or let this work item time out and may not get it again",
            "agent_id" if req.agent_id is not None else "provider_agent_id",
        )
    terms = OfferTerms(
        timeout_s=remaining,
        allowed_to_decline=req.allowed_to_decline,
        auto_accept=req.auto_accept,
        presence_after_timeout=req.after_timeout_presence,
        external_segment_id=req.external_segment_id,
        display_option=req.display_option,
    )
    offer = make_offer(tx, item, agent, terms)
    _remember(tx, req, offer)
    return WorkOfferResult(offer.id, replayed=False)


def _target_channel(tx: Tx, req: WorkOffer) -> str:
    if req.work_item_id is not None:
        item = tx.state.work_items.get(req.work_item_id)
        if item is None:
            raise NotFoundError("live work item", req.work_item_id, "work_item_id")
        return item.channel_id
    return active_document(tx, req.document_id or "").channel_id


def _replay(tx: Tx, req: WorkOffer) -> str | None:
    if req.idempotency_key is not None:
        seen = tx.state.idempotency.get(req.idempotency_key)
        if seen is not None:
            request_hash, offer_id = seen
            if request_hash != req.request_hash:
                raise DomainError(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used for a different request",
                )
            return offer_id
    if req.external_segment_id is not None:
        return tx.state.segment_offers.get((req.spoke or "", req.external_segment_id))
    return None


def _remember(tx: Tx, req: WorkOffer, offer: Offer) -> None:
    if req.external_segment_id is not None:
        tx.state.segment_offers[(req.spoke or "", req.external_segment_id)] = offer.id
    if req.idempotency_key is not None:
        tx.state.idempotency[req.idempotency_key] = (req.request_hash, offer.id)
        tx.insert(IdempotencyKeyRecord(req.idempotency_key, req.request_hash, offer.id, tx.now))


def _remaining_timeout(tx: Tx, req: WorkOffer) -> float | None:
    check_timeout(req.timeout_s)
    if req.offered_at is None:
        return req.timeout_s
    check_instant(req.offered_at, ErrorCode.INVALID_OFFERED_AT, "offered_at")
    if req.offered_at > tx.now + CLOCK_SKEW:
        raise DomainError(
            ErrorCode.INVALID_OFFERED_AT, "offered_at lies in the future", "offered_at"
        )
    if req.timeout_s is None:
        return None
    elapsed = max((tx.now - req.offered_at).total_seconds(), 0.0)
    remaining = req.timeout_s - elapsed
    if remaining <= 0:
        raise DomainError(
            ErrorCode.OFFER_EXPIRED,
            f"the offer expired {-remaining:.1f}s ago (offered_at plus timeout is past)",
            "offered_at",
        )
    return remaining


def _resolve_agent(
    tx: Tx, spoke: str | None, agent_id: str | None, provider_id: str | None, field: str
) -> Agent:
    if agent_id is not None:
        agent = tx.state.agents.get(agent_id)
        if agent is None:
            raise NotFoundError("agent", agent_id, field)
        return agent
    linked = tx.state.identities.get((spoke or "", provider_id or ""))
    agent = tx.state.agents.get(linked or "")
    if agent is None:
        raise NotFoundError(
            f"agent linked to provider id on spoke '{spoke}'",
            provider_id or "",
            f"provider_{field}",
        )
    return agent


def _agent(tx: Tx, req: WorkOffer) -> Agent:
    agent = _resolve_agent(tx, req.spoke, req.agent_id, req.provider_agent_id, "agent_id")
    if not agent.allow_external:
        raise DomainError(
            ErrorCode.AGENT_NOT_ALLOWED_EXTERNAL,
            f"agent '{agent.id}' does not take externally routed work",
            "agent_id",
        )
    return agent


def _queue(
    tx: Tx, req_spoke: str | None, queue_id: str | None, provider_id: str | None, field: str
) -> Queue | None:
    queues = tx.state.config.queues
    if queue_id is not None:
        queue = queues.get(queue_id)
        if queue is None:
            raise NotFoundError("queue", queue_id, field)
        return queue
    if provider_id is not None:
        for queue in queues.values():
            if queue.spoke == req_spoke and queue.provider_queue_id == provider_id:
                return queue
        raise NotFoundError(
            f"queue of spoke '{req_spoke}' with provider id", provider_id, f"provider_{field}"
        )
    return None


def _check_offerable(item: WorkItem, agent: Agent) -> None:
    if item.state is WorkItemState.ACCEPTED:
        raise DomainError(
            ErrorCode.WORK_ITEM_ALREADY_ACCEPTED, f"work item '{item.id}' is already accepted"
        )
    if item.state is WorkItemState.PENDING_ACCEPT:
        holder = "this agent" if item.agent_id == agent.id else "another agent"
        raise DomainError(
            ErrorCode.WORK_ITEM_ASSIGNED, f"work item '{item.id}' is already offered to {holder}"
        )


def _target_item(tx: Tx, req: WorkOffer, agent: Agent) -> WorkItem:
    if req.work_item_id is not None:
        item = tx.state.work_items.get(req.work_item_id)
        if item is None:
            raise NotFoundError("live work item", req.work_item_id, "work_item_id")
        _check_offerable(item, agent)
        return item
    doc = active_document(tx, req.document_id or "")
    if req.transfer is not None:
        return _transfer_item(tx, req, doc, agent)
    current = tx.state.work_items.get(doc.work_item_id or "")
    if current is not None and current.state is not WorkItemState.CANCELLED:
        _check_offerable(current, agent)
        return current
    queue = _queue(tx, req.spoke, req.queue_id, req.provider_queue_id, "queue_id")
    if queue is None:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "the document has no live work item: give queue_id or provider_queue_id",
            "queue_id",
        )
    return _new_item(tx, doc, queue)


def _new_item(tx: Tx, doc: Document, queue: Queue) -> WorkItem:
    if doc.channel_id not in queue.channels:
        raise DomainError(
            ErrorCode.QUEUE_CHANNEL_MISMATCH,
            f"queue '{queue.id}' does not serve channel '{doc.channel_id}'",
            "queue_id",
        )
    item = WorkItem(
        id=new_id(),
        document_type=doc.type,
        document_id=doc.id,
        queue_id=queue.id,
        channel_id=doc.channel_id,
        priority=queue.priority,
        created_at=tx.now,
        skills=queue.skills,
        previous_id=doc.work_item_id,
    )
    tx.state.add_item(item)
    tx.save_item(item, new=True)
    doc.work_item_id = item.id
    doc.spoke = queue.spoke or doc.spoke
    if doc.type is DocumentType.INTERACTION and doc.state == InteractionState.NEW:
        doc.state = InteractionState.ON_HOLD
    elif doc.type is DocumentType.CASE and doc.state == CaseState.NEW:
        doc.state = CaseState.OPEN
    tx.save_document(doc)
    return item


def _transfer_item(tx: Tx, req: WorkOffer, doc: Document, agent: Agent) -> WorkItem:
    assert req.transfer is not None
    spec = req.transfer
    pending = tx.state.work_items.get(doc.work_item_id or "")
    if pending is not None and pending.id != doc.accepted_item_id:
        # The transfer the agent started is the one the provider now completes.
        _check_offerable(pending, agent)
        return pending
    accepted = tx.state.work_items.get(doc.accepted_item_id or "")
    queue = _queue(tx, req.spoke, req.queue_id, req.provider_queue_id, "queue_id")
    if accepted is None:
        source = _queue(
            tx,
            req.spoke,
            spec.source_queue_id,
            spec.source_provider_queue_id,
            "transfer.source_queue_id",
        )
        queue = queue or source
        if queue is None:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                "work with no work item yet needs transfer.source_queue_id",
                "transfer.source_queue_id",
            )
        return _new_item(tx, doc, queue)
    if spec.from_agent_id is not None or spec.from_provider_agent_id is not None:
        sender = _resolve_agent(
            tx, req.spoke, spec.from_agent_id, spec.from_provider_agent_id, "transfer.from_agent_id"
        )
        if sender.id != accepted.agent_id:
            raise DomainError(
                ErrorCode.WORK_ITEM_ASSIGNED,
                f"the work is with agent '{accepted.agent_id}', not '{sender.id}'",
                "transfer.from_agent_id",
            )
    item = _new_item(tx, doc, queue or tx.state.config.queues[accepted.queue_id])
    item.previous_id = accepted.id
    item.transfer_type = spec.type.value
    item.transfer_from_agent_id = accepted.agent_id
    item.transfer_to_agent_id = agent.id
    return item
