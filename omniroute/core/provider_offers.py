"""Routing decisions that arrive as provider callbacks rather than Work Offer API calls."""

from __future__ import annotations

import hashlib
from typing import Any

from omniroute.core import routing
from omniroute.core.state import Tx
from omniroute.core.work_offers import ProviderTransfer, WorkOffer, offer_work
from omniroute.domain.errors import DomainError
from omniroute.domain.inbound import InboundEvent, InboundOffer, InboundTransfer
from omniroute.domain.outbound import RoutingEventType


def _request(spoke: str, event: InboundEvent, terms: InboundOffer) -> WorkOffer:
    digest = hashlib.sha256(f"{spoke}:{event.id}".encode()).hexdigest()
    return WorkOffer(
        spoke=spoke,
        document_id=terms.document_id,
        work_item_id=terms.work_item_id,
        queue_id=None,
        provider_queue_id=terms.provider_queue_id,
        agent_id=None,
        provider_agent_id=event.provider_agent_id,
        allowed_to_decline=terms.allowed_to_decline,
        auto_accept=terms.auto_accept,
        timeout_s=terms.timeout_s,
        after_timeout_presence=None,
        offered_at=event.occurred_at,
        external_segment_id=terms.external_segment_id,
        transfer=_transfer(terms.transfer),
        idempotency_key=None,
        request_hash=digest,
        display_option=terms.display_option,
    )


def _transfer(given: InboundTransfer | None) -> ProviderTransfer | None:
    if given is None:
        return None
    return ProviderTransfer(
        type=given.type,
        from_provider_agent_id=given.from_provider_agent_id,
        source_provider_queue_id=given.source_provider_queue_id,
    )


def work_offered(tx: Tx, spoke: str, event: InboundEvent) -> dict[str, Any]:
    """Offer the work as the callback says; a refusal goes back to the provider by the outbox."""
    terms = _terms(event)
    try:
        result = offer_work(tx, _request(spoke, event, terms))
    except DomainError as err:
        # offer_work checks everything before it changes anything, so nothing is half-done.
        _refused(tx, spoke, event, terms, err)
        return {
            "id": event.id,
            "outcome": "refused",
            "error": {"code": err.code.value, "message": err.message},
        }
    return {"id": event.id, "outcome": "offered", "offer_id": result.offer_id}


def work_rescinded(tx: Tx, spoke: str, event: InboundEvent) -> dict[str, Any]:
    """Withdraw the pending offer the provider made under this segment id."""
    terms = _terms(event)
    offer_id = tx.state.segment_offers.get((spoke, terms.external_segment_id))
    if offer_id is None or not routing.rescind_offer(tx, offer_id):
        return {"id": event.id, "outcome": "not_pending", "offer_id": offer_id}
    return {"id": event.id, "outcome": "withdrawn", "offer_id": offer_id}


def _terms(event: InboundEvent) -> InboundOffer:
    if event.offer is None:
        msg = f"inbound event '{event.id}' of type {event.type.value} carries no offer"
        raise ValueError(msg)
    return event.offer


def _refused(
    tx: Tx, spoke: str, event: InboundEvent, terms: InboundOffer, err: DomainError
) -> None:
    payload = {
        "external_segment_id": terms.external_segment_id,
        "document_id": terms.document_id,
        "work_item_id": terms.work_item_id,
        "provider_agent_id": event.provider_agent_id,
        "error_code": err.code.value,
        "message": err.message,
        "at": tx.now.isoformat(),
    }
    item = tx.state.work_items.get(terms.work_item_id or "")
    document_id = terms.document_id or (item.document_id if item is not None else None)
    # Keyed like every other event of the interaction, so it is delivered in order with them.
    ordering_key = document_id or terms.external_segment_id
    tx.send(spoke, RoutingEventType.OFFER_REFUSED, ordering_key, payload)
