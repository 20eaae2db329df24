"""Routing events for providers: what each change tells the spoke of its queue or agent."""

from __future__ import annotations

import uuid
from typing import Any

from omniroute.core.rows import SpokeIncidentRecord
from omniroute.core.state import Tx
from omniroute.domain.model import Agent, Document, Offer, RoutingMode, WorkItem
from omniroute.domain.outbound import RoutingEventType


def queue_spoke(tx: Tx, queue_id: str) -> str | None:
    """The spoke of an external queue, None for an internal one."""
    queue = tx.state.config.queues.get(queue_id)
    if queue is None or queue.routing_mode is not RoutingMode.EXTERNAL:
        return None
    return queue.spoke


def item_spoke(tx: Tx, item: WorkItem) -> str | None:
    """The spoke that routes an item, if its queue is external."""
    return queue_spoke(tx, item.queue_id)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _agent_ref(tx: Tx, spoke: str, agent_id: str | None) -> dict[str, Any]:
    return {"agent_id": agent_id, "provider_agent_id": tx.state.provider_agent_id(spoke, agent_id)}


def _customer(doc: Document | None) -> dict[str, str]:
    summary = doc.summary if doc is not None else {}
    return {k: summary.get(k, "") for k in ("customer_name", "customer_email", "subject")}


def item_payload(tx: Tx, item: WorkItem, doc: Document | None) -> dict[str, Any]:
    """The routable facts of a work item, as providers see them."""
    queue = tx.state.config.queues[item.queue_id]
    return {
        "work_item_id": item.id,
        "document_type": item.document_type.value,
        "document_id": item.document_id,
        "channel_id": item.channel_id,
        "queue_id": item.queue_id,
        "provider_queue_id": queue.provider_queue_id,
        "priority": item.priority,
        "skills": [
            {"skill_id": r.skill_id, "min_level": r.min_level, "mandatory": r.mandatory}
            for r in item.skills
        ],
        "previous_work_item_id": item.previous_id,
        "created_at": item.created_at.isoformat(),
        "customer": _customer(doc),
    }


def new_interaction(tx: Tx, item: WorkItem) -> None:
    """A work item entered an external queue: ask its provider to route it."""
    spoke = item_spoke(tx, item)
    if spoke is None:
        return
    doc = tx.state.documents.get(item.document_id)
    tx.send(spoke, RoutingEventType.NEW_INTERACTION, item.document_id, item_payload(tx, item, doc))


def _reassignable(tx: Tx, reason_id: str | None) -> bool | None:
    reason = tx.state.reject_reasons.get(reason_id or "")
    return reason.reassignable if reason is not None else None


def offer_outcome(tx: Tx, offer: Offer, item: WorkItem) -> None:
    """Tell the provider how an offer for one of its items ended."""
    spoke = item_spoke(tx, item)
    if spoke is None:
        return
    payload = {
        "work_item_id": item.id,
        "document_id": item.document_id,
        "provider_queue_id": tx.state.config.queues[item.queue_id].provider_queue_id,
        "offer_id": offer.id,
        "external_segment_id": offer.external_segment_id,
        "outcome": offer.state.value,
        "reject_reason_id": offer.reject_reason_id,
        "reassignable": _reassignable(tx, offer.reject_reason_id),
        "note": offer.note,
        "at": _iso(offer.ended_at),
    } | _agent_ref(tx, spoke, offer.agent_id)
    tx.send(spoke, RoutingEventType.OFFER_OUTCOME, item.document_id, payload)


def end_interaction(tx: Tx, doc: Document, fields: dict[str, Any]) -> None:
    """The document routed by a provider ended: send its final state and wrap-up."""
    if doc.spoke is None:
        return
    code_id = fields.get("wrap_up_code_id")
    code = tx.state.wrap_up_codes.get(code_id or "")
    payload = {
        "document_type": doc.type.value,
        "document_id": doc.id,
        "work_item_id": doc.accepted_item_id or doc.work_item_id,
        "state": str(doc.state),
        "wrap_up_code_id": code_id,
        "wrap_up_code_name": code.name if code is not None else None,
        "notes": fields.get("wrap_up_notes"),
        "at": tx.now.isoformat(),
    } | _agent_ref(tx, doc.spoke, doc.agent_id)
    tx.send(doc.spoke, RoutingEventType.END_INTERACTION, doc.id, payload)


def transfer(tx: Tx, event: RoutingEventType, spoke: str, item: WorkItem) -> None:
    """A transfer was started or cancelled on work the provider routes."""
    doc = tx.state.documents.get(item.document_id)
    payload = item_payload(tx, item, doc) | {
        "transfer_id": item.id,
        "transfer_type": item.transfer_type,
        "from": _agent_ref(tx, spoke, item.transfer_from_agent_id),
        "to": _agent_ref(tx, spoke, item.transfer_to_agent_id),
    }
    tx.send(spoke, event, item.document_id, payload)


def agent_presence(tx: Tx, agent: Agent, skip_spoke: str | None = None) -> None:
    """Carry an agent's presence to every provider the agent is linked with."""
    for spoke, provider_agent_id in tx.state.agent_identities.get(agent.id, {}).items():
        if spoke == skip_spoke:
            continue
        config = tx.state.spokes.get(spoke)
        if config is None or not config.enabled:
            continue
        provider_state = config.provider_state(agent.presence_id)
        if provider_state is None:
            incident(
                tx,
                spoke,
                "unmapped_presence",
                f"presence '{agent.presence_id}' has no mapping for spoke '{spoke}'",
                {"agent_id": agent.id, "presence_id": agent.presence_id},
            )
            continue
        payload = {
            "agent_id": agent.id,
            "provider_agent_id": provider_agent_id,
            "presence_id": agent.presence_id,
            "provider_state": provider_state,
            "channel_available": dict(agent.channel_available),
            "at": tx.now.isoformat(),
        }
        tx.send(spoke, RoutingEventType.AGENT_PRESENCE, f"agent:{agent.id}@{spoke}", payload)


def incident(tx: Tx, spoke: str, kind: str, message: str, details: dict[str, Any]) -> None:
    """Record something an operator must see; it is never dropped silently."""
    tx.insert(SpokeIncidentRecord(uuid.uuid4().hex, spoke, kind, message, details, tx.now))
