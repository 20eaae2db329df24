"""Genesys call notifications (v2.users.{id}.conversations.calls) as call contexts."""

# Controls are not carried to Genesys yet, so these contexts offer no action: the workspace
# shows the call's state without buttons the spoke could not honour.

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from omniroute.domain.calls import CallContext, CallKind, CallState
from omniroute.spokes.base import InboundEvent, InboundEventType

CALLS_TOPIC = re.compile(r"^v2\.users\.([^.]+)\.conversations\.calls$")
STATES = {
    "alerting": CallState.ALERTING,
    "dialing": CallState.DIALING,
    "contacting": CallState.DIALING,
    "connected": CallState.CONNECTED,
    "disconnected": CallState.ENDED,
    "terminated": CallState.ENDED,
}


def iso_time(value: object) -> datetime | None:
    """An ISO 8601 time with its offset, else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _user(participant: Mapping[str, Any]) -> str | None:
    user = participant.get("user")
    found = user.get("id") if isinstance(user, dict) else None
    return found if isinstance(found, str) else None


def context(
    event_id: str, conversation: Mapping[str, Any], user_id: str, document_id: str
) -> InboundEvent | None:
    """The call context one agent sees in a call conversation notification, if any."""
    parts = [p for p in conversation.get("participants") or [] if isinstance(p, dict)]
    agent = next(
        (p for p in reversed(parts) if p.get("purpose") == "agent" and _user(p) == user_id), None
    )
    customer = next((p for p in parts if p.get("purpose") in ("customer", "external")), None)
    state = STATES.get(str(agent.get("state"))) if agent else None
    if agent is None or state is None:
        return None
    held = bool(customer and customer.get("held")) or bool(agent.get("held"))
    if state is CallState.CONNECTED and held:
        state = CallState.HELD
    inbound = customer is None or customer.get("direction") != "outbound"
    number = (customer.get("ani") if inbound else customer.get("dnis")) if customer else None
    at = datetime.now(UTC)
    call = CallContext(
        interaction_id=document_id,
        state=state,
        kind=CallKind.INBOUND if inbound else CallKind.OUTBOUND,
        muted=bool(agent.get("muted")),
        customer_number=number if isinstance(number, str) else None,
        available_actions=(),
        occurred_at=at,
        connected_at=iso_time(customer.get("connectedTime")) if customer else None,
        provider_call_id=str(conversation.get("id") or "") or None,
    )
    return InboundEvent(
        id=event_id,
        type=InboundEventType.CALL_CONTEXT,
        provider_agent_id=user_id,
        occurred_at=at,
        call=call,
    )
