"""Genesys call notifications (v2.users.{id}.conversations.calls) as call contexts."""

# Each action is a change to the agent's own call participant; callbacks (dial, retry) are
# not carried yet, so they are never offered.

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState
from omniroute.spokes.base import InboundEvent, InboundEventType, SpokeRejectedError

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


def available(state: CallState, held: bool, muted: bool) -> tuple[CallAction, ...]:
    """What the agent's call participant can be asked to do in this state."""
    if state in (CallState.CONNECTED, CallState.HELD):
        hold = CallAction.RESUME if held else CallAction.HOLD
        mute = CallAction.UNMUTE if muted else CallAction.MUTE
        return (hold, mute, CallAction.TRANSFER, CallAction.END)
    if state is CallState.DIALING:
        return (CallAction.END,)
    return ()


def request(action: CallAction, params: Mapping[str, str]) -> tuple[str, str, dict[str, Any]]:
    """(method, path suffix after the participant, body) of one control on the agent's call."""
    match action:
        case CallAction.HOLD | CallAction.RESUME:
            return "PATCH", "", {"held": action is CallAction.HOLD}
        case CallAction.MUTE | CallAction.UNMUTE:
            return "PATCH", "", {"muted": action is CallAction.MUTE}
        case CallAction.END:
            return "PATCH", "", {"state": "disconnected"}
        case CallAction.TRANSFER:
            return "POST", "/replace", {"address": params["target"]}
        case _:
            msg = f"'{action.value}' is not carried to Genesys by this spoke"
            raise SpokeRejectedError(msg)


def agent_participant(conversation: Mapping[str, Any], user_id: str | None) -> str:
    """The id of the user's live agent participant in a call conversation."""
    for p in reversed(conversation.get("participants") or []):
        live = isinstance(p, dict) and p.get("state") not in ("disconnected", "terminated")
        if live and p.get("purpose") == "agent" and _user(p) == user_id:
            return str(p.get("id"))
    msg = f"user {user_id} has no live participant in call {conversation.get('id')}"
    raise SpokeRejectedError(msg)


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
    muted = bool(agent.get("muted"))
    if state is CallState.CONNECTED and held:
        state = CallState.HELD
    inbound = customer is None or customer.get("direction") != "outbound"
    number = (customer.get("ani") if inbound else customer.get("dnis")) if customer else None
    at = datetime.now(UTC)
    call = CallContext(
        interaction_id=document_id,
        state=state,
        kind=CallKind.INBOUND if inbound else CallKind.OUTBOUND,
        muted=muted,
        customer_number=number if isinstance(number, str) else None,
        available_actions=available(state, held, muted),
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
