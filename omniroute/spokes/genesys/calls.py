"""Genesys call and callback notifications as call contexts, and the controls they allow."""

# Each action is a change to the agent's own call participant, or (dial, retry) a call placed
# in a callback conversation with POST /api/v2/conversations/calls/{id}.

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState
from omniroute.spokes.base import InboundEvent, InboundEventType, SpokeRejectedError

CALLS_TOPIC = re.compile(r"^v2\.users\.([^.]+)\.conversations\.calls$")
CALLBACKS_TOPIC = re.compile(r"^v2\.users\.([^.]+)\.conversations\.callbacks$")
KIND_KEY = "omnirouteCallKind"
STATES = {
    "alerting": CallState.ALERTING,
    "dialing": CallState.DIALING,
    "contacting": CallState.DIALING,
    "connected": CallState.CONNECTED,
    "disconnected": CallState.ENDED,
    "terminated": CallState.ENDED,
}
# A callback participant: alerting or accepted, it waits to be dialled.
CALLBACK_STATES = {
    "alerting": CallState.SCHEDULED,
    "connected": CallState.SCHEDULED,
    "disconnected": CallState.ENDED,
    "terminated": CallState.ENDED,
}
ENDED = ("disconnected", "terminated")
RINGING = ("alerting", "contacting", "dialing")


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
    if state is CallState.NO_ANSWER:
        return (CallAction.RETRY_CALLBACK,)
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


def user_of(participant: Mapping[str, Any]) -> str | None:
    """The Genesys user id of a participant, if it is a user's."""
    user = participant.get("user")
    found = user.get("id") if isinstance(user, dict) else None
    return found if isinstance(found, str) else None


def agent_participant(
    conversation: Mapping[str, Any], user_id: str | None, *, live: bool = True
) -> str:
    """The id of the user's latest (live, unless told otherwise) agent participant."""
    for p in reversed(conversation.get("participants") or []):
        if not isinstance(p, dict) or p.get("purpose") != "agent" or user_of(p) != user_id:
            continue
        if not live or p.get("state") not in ENDED:
            return str(p.get("id"))
    msg = f"user {user_id} has no live participant in conversation {conversation.get('id')}"
    raise SpokeRejectedError(msg)


def callback_number(conversation: Mapping[str, Any]) -> str:
    """The first number of a callback conversation's customer."""
    for p in conversation.get("participants") or []:
        numbers = p.get("callbackNumbers") if isinstance(p, dict) else None
        if isinstance(numbers, list) and numbers and isinstance(numbers[0], str):
            return numbers[0]
    msg = f"callback {conversation.get('id')} has no callback number"
    raise SpokeRejectedError(msg)


def _kind(parts: list[dict[str, Any]]) -> CallKind | None:
    for p in parts:
        attributes = p.get("attributes")
        if isinstance(attributes, dict) and attributes.get(KIND_KEY) == CallKind.CALLBACK.value:
            return CallKind.CALLBACK
    return None


def _event(event_id: str, user_id: str, call: CallContext) -> InboundEvent:
    return InboundEvent(
        id=event_id,
        type=InboundEventType.CALL_CONTEXT,
        provider_agent_id=user_id,
        occurred_at=call.occurred_at,
        call=call,
    )


def _agent(parts: list[dict[str, Any]], user_id: str) -> dict[str, Any] | None:
    """The user's participant, if the call is theirs now.

    That is the latest agent to have answered it or, before anyone did, the latest one it rings
    for: another user's view (a declined alert, a leg transferred away) is stale or early.
    """
    agents = [p for p in parts if p.get("purpose") == "agent"]
    answered = [p for p in agents if p.get("connectedTime")]
    latest = answered or agents
    return latest[-1] if latest and user_of(latest[-1]) == user_id else None


def context(
    event_id: str, conversation: Mapping[str, Any], user_id: str, document_id: str
) -> InboundEvent | None:
    """The call context one agent sees in a call conversation notification, if any."""
    parts = [p for p in conversation.get("participants") or [] if isinstance(p, dict)]
    agent = _agent(parts, user_id)
    # The latest customer leg: a callback dialled again has one per attempt.
    customers = [p for p in parts if p.get("purpose") == "customer"]
    customers = customers or [p for p in parts if p.get("purpose") == "external"]
    customer = customers[-1] if customers else None
    state = STATES.get(str(agent.get("state"))) if agent else None
    if agent is None or state is None:
        return None
    held = bool(customer and customer.get("held")) or bool(agent.get("held"))
    muted = bool(agent.get("muted"))
    if state is CallState.CONNECTED and customer and customer.get("state") in RINGING:
        state = CallState.DIALING  # the agent's side is up; the customer's phone still rings
    if state is CallState.CONNECTED and held:
        state = CallState.HELD
    inbound = customer is None or customer.get("direction") != "outbound"
    kind = _kind(parts) or (CallKind.INBOUND if inbound else CallKind.OUTBOUND)
    answered = customer is not None and customer.get("connectedTime")
    if kind is CallKind.CALLBACK and state is CallState.ENDED and not answered:
        state = CallState.NO_ANSWER  # the customer never picked up: the agent may retry
    number = (customer.get("ani") if inbound else customer.get("dnis")) if customer else None
    at = datetime.now(UTC)
    call = CallContext(
        interaction_id=document_id,
        state=state,
        kind=kind,
        muted=muted,
        customer_number=number if isinstance(number, str) else None,
        available_actions=available(state, held, muted),
        occurred_at=at,
        connected_at=iso_time(customer.get("connectedTime")) if customer else None,
        provider_call_id=str(conversation.get("id") or "") or None,
    )
    return _event(event_id, user_id, call)


def callback_context(
    event_id: str, conversation: Mapping[str, Any], user_id: str, document_id: str
) -> InboundEvent | None:
    """The callback one agent sees in a callback conversation notification, if any."""
    parts = [p for p in conversation.get("participants") or [] if isinstance(p, dict)]
    agent = _agent(parts, user_id)
    state = CALLBACK_STATES.get(str(agent.get("state"))) if agent else None
    if agent is None or state is None:
        return None
    try:
        number: str | None = callback_number(conversation)
    except SpokeRejectedError:
        number = None
    # Accepted, it can be dialled or ended; ringing, the agent answers by accepting the offer.
    accepted = state is CallState.SCHEDULED and agent.get("state") == "connected"
    at = datetime.now(UTC)
    call = CallContext(
        interaction_id=document_id,
        state=state,
        kind=CallKind.CALLBACK,
        muted=False,
        customer_number=number,
        available_actions=(CallAction.DIAL, CallAction.END) if accepted else (),
        occurred_at=at,
        provider_call_id=str(conversation.get("id") or "") or None,
    )
    return _event(event_id, user_id, call)
