"""Call contexts from providers and the call controls agents send back through the spoke."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omniroute.core.rows import CallContextRecord
from omniroute.core.state import Tx
from omniroute.domain.calls import (
    CallAction,
    CallContext,
    checked_params,
    context_event,
    no_context,
)
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.model import Document, DocumentType, WorkItemState
from omniroute.domain.outbound import RoutingEventType

HOLDING_STATES = frozenset({WorkItemState.PENDING_ACCEPT, WorkItemState.ACCEPTED})


@dataclass(frozen=True, slots=True)
class StoredContext:
    """A call context with the spoke that sent it."""

    spoke: str
    context: CallContext


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """An agent asks the provider to act on the call of an interaction."""

    interaction_id: str
    agent_id: str
    action: CallAction
    params: Mapping[str, str] = field(default_factory=dict)
    current: StoredContext | None = None


def _live_interaction(tx: Tx, interaction_id: str) -> Document | None:
    doc = tx.state.documents.get(interaction_id)
    if doc is None or doc.type is not DocumentType.INTERACTION or not doc.active:
        return None
    return doc


def holders(tx: Tx, doc: Document) -> list[str]:
    """Agents who hold the interaction: the assigned one and any with a pending offer."""
    found = dict.fromkeys([doc.agent_id] if doc.agent_id else [])
    for item in tx.state.live_items(doc.id):
        if item.state in HOLDING_STATES and item.agent_id:
            found[item.agent_id] = None
    return list(found)


def apply_context(tx: Tx, spoke: str, event_id: str, context: CallContext) -> dict[str, Any]:
    """Store a provider's call context and push it to the agents holding the interaction."""
    doc = _live_interaction(tx, context.interaction_id)
    if doc is None:
        return {
            "id": event_id,
            "outcome": "ignored",
            "reason": f"interaction '{context.interaction_id}' is not live in Omniroute",
        }
    tx.insert(
        CallContextRecord(
            interaction_id=doc.id,
            spoke=spoke,
            event_id=event_id,
            state=context.state.value,
            kind=context.kind.value,
            muted=context.muted,
            customer_number=context.customer_number,
            available_actions=[a.value for a in context.available_actions],
            provider_call_id=context.provider_call_id,
            connected_at=context.connected_at,
            occurred_at=context.occurred_at,
            received_at=tx.now,
        )
    )
    agents = holders(tx, doc)
    for agent_id in agents:
        tx.emit(agent_id, context_event(context))
    return {"id": event_id, "outcome": "stored", "interaction_id": doc.id, "agents": agents}


def invoke(tx: Tx, request: ControlRequest) -> tuple[str, str]:
    """Queue an interaction_control event for the provider: (event id, spoke)."""
    doc = _live_interaction(tx, request.interaction_id)
    if doc is None:
        raise DomainError(
            ErrorCode.DOCUMENT_NOT_ACTIVE,
            f"interaction '{request.interaction_id}' has ended; its call cannot be controlled",
        )
    if request.agent_id not in holders(tx, doc):
        raise DomainError(
            ErrorCode.INTERACTION_NOT_HELD,
            f"agent '{request.agent_id}' does not hold interaction '{doc.id}'; "
            "only the agent it is assigned or offered to may control its call",
        )
    current = request.current
    if current is None:
        raise no_context(doc.id)
    params = checked_params(current.context, request.action, request.params)
    payload = {
        "interaction_id": doc.id,
        "action": request.action.value,
        "params": params,
        "provider_call_id": current.context.provider_call_id,
        "context_occurred_at": current.context.occurred_at.isoformat(),
        "agent_id": request.agent_id,
        "provider_agent_id": tx.state.provider_agent_id(current.spoke, request.agent_id),
        "requested_at": tx.now.isoformat(),
    }
    tx.send(current.spoke, RoutingEventType.INTERACTION_CONTROL, doc.id, payload)
    return tx.outbox[-1].id, current.spoke
