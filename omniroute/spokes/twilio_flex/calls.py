"""Twilio voice: conference and call status callbacks as call contexts, controls as REST calls."""

# The spoke puts each call in a conference named after our interaction, so a conference
# callback names its interaction by itself; call status callbacks carry only the CallSid,
# which the spoke remembers when it places the call.

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from omniroute import jsontext
from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState
from omniroute.spokes.base import InboundEvent, InboundEventType, SpokeRejectedError

CONFERENCE_PREFIX = "omniroute-"
KIND_ATTRIBUTE = "omniroute_call_kind"
DOCUMENT_ATTRIBUTE = "omniroute_document_id"
FLEX_TASK_TYPE = "taskType"
FLEX_CALLBACK_DATA = "callBackData"
CUSTOMER, WORKER, TRANSFER = "customer", "worker", "transfer"
CONFERENCE_EVENTS = ["start", "end", "join", "leave", "mute", "hold"]
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled"})
DIALING = frozenset({"queued", "initiated", "ringing"})
LIVE = frozenset({CallState.CONNECTED, CallState.HELD})


@dataclass(frozen=True, slots=True)
class Call:
    """What the spoke knows of one interaction's call."""

    interaction_id: str
    kind: CallKind
    number: str | None
    state: CallState
    customer_call_sid: str | None = None
    worker_call_sid: str | None = None
    conference_sid: str | None = None
    held: bool = False
    muted: bool = False
    connected_at: datetime | None = None


def conference_name(interaction_id: str) -> str:
    """The conference an interaction's call lives in."""
    return CONFERENCE_PREFIX + interaction_id


def available(call: Call, can_dial: bool) -> tuple[CallAction, ...]:
    """The actions Twilio can carry out for the call now (dialling needs a caller id)."""
    if call.state in LIVE:
        hold = CallAction.RESUME if call.held else CallAction.HOLD
        mute = CallAction.UNMUTE if call.muted else CallAction.MUTE
        transfer = (CallAction.TRANSFER,) if can_dial else ()
        return (hold, mute, *transfer, CallAction.END)
    if call.state is CallState.DIALING:
        return (CallAction.END,)
    if not can_dial:
        return ()
    if call.state is CallState.SCHEDULED:
        return (CallAction.DIAL,)
    if call.state is CallState.NO_ANSWER:
        return (CallAction.RETRY_CALLBACK,)
    return ()


def context_event(event_id: str, call: Call, at: datetime, can_dial: bool) -> InboundEvent:
    """A call_context inbound event for the call as it stands."""
    context = CallContext(
        interaction_id=call.interaction_id,
        state=call.state,
        kind=call.kind,
        muted=call.muted,
        customer_number=call.number,
        available_actions=available(call, can_dial),
        occurred_at=at,
        connected_at=call.connected_at,
        provider_call_id=call.customer_call_sid,
    )
    return InboundEvent(
        id=event_id,
        type=InboundEventType.CALL_CONTEXT,
        provider_agent_id="",
        occurred_at=at,
        call=context,
    )


def call_kind(attributes: dict[str, Any]) -> CallKind | None:
    """The kind of call a task carries, or None for a task that is not a call.

    Omniroute's own attribute first; else a Flex callback task (`taskType: callback`, as
    Flex's callback plugin makes it), or a Flex voice task (it carries the caller's call_sid).
    """
    raw = attributes.get(KIND_ATTRIBUTE)
    if raw in (CallKind.INBOUND, CallKind.CALLBACK):
        return CallKind(raw)
    if attributes.get(FLEX_TASK_TYPE) == "callback":
        return CallKind.CALLBACK
    if attributes.get(FLEX_TASK_TYPE) is None and isinstance(attributes.get("call_sid"), str):
        return CallKind.INBOUND
    return None


def _number(attributes: dict[str, Any]) -> str | None:
    """Whom to call back: Flex's callBackData.numberToCall, else the caller's `from`."""
    data = attributes.get(FLEX_CALLBACK_DATA)
    number = data.get("numberToCall") if isinstance(data, dict) else None
    number = number if isinstance(number, str) and number else attributes.get("from")
    return number if isinstance(number, str) and number else None


def from_task(document_id: str, attributes: dict[str, Any]) -> Call | None:
    """The call a voice task carries: an inbound call ringing, or a callback not dialled yet."""
    kind = call_kind(attributes)
    if kind is None:
        return None
    number = _number(attributes)
    sid = attributes.get("call_sid")
    if kind is CallKind.CALLBACK:
        state = CallState.SCHEDULED
        sid = None  # the customer's request call is over; the callback is a new call
    else:
        state = CallState.ALERTING
    return Call(
        interaction_id=document_id,
        kind=kind,
        number=number,
        state=state,
        customer_call_sid=sid if isinstance(sid, str) else None,
    )


def keys_of(fields: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """The interactions, CallSids and dialled numbers a callback may be about."""
    ids: list[str] = []
    name = fields.get("FriendlyName", "")
    if name.startswith(CONFERENCE_PREFIX):
        ids.append(name.removeprefix(CONFERENCE_PREFIX))
    raw = fields.get("TaskAttributes")
    try:
        attributes = jsontext.loads(raw) if raw else None
    except ValueError:
        attributes = None  # the parser says what is wrong with it
    document = attributes.get(DOCUMENT_ATTRIBUTE) if isinstance(attributes, dict) else None
    if isinstance(document, str) and document:
        ids.append(document)
    if "CallStatus" not in fields:
        return ids, [], []
    return ids, [fields.get("CallSid", "")], [fields.get("To", "")]


def when(fields: dict[str, str]) -> datetime:
    """A Voice callback's Timestamp (RFC 2822), else now."""
    raw = fields.get("Timestamp", "")
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flag(fields: dict[str, str], name: str) -> bool:
    return fields.get(name, "").lower() == "true"


def conference_update(call: Call, fields: dict[str, str]) -> Call | None:
    """The call after one conference status callback; None when it changes nothing we show."""
    event = fields.get("StatusCallbackEvent", "")
    label = fields.get("ParticipantLabel", "")
    sid = fields.get("CallSid")
    call = replace(call, conference_sid=fields.get("ConferenceSid") or call.conference_sid)
    if event == "conference-end":
        return replace(call, state=CallState.ENDED, held=False)
    if label == CUSTOMER:
        if event == "participant-join":
            at = call.connected_at or when(fields)
            return replace(call, customer_call_sid=sid, state=CallState.CONNECTED, connected_at=at)
        if event in ("participant-hold", "participant-unhold"):
            held = event == "participant-hold"
            return replace(call, held=held, state=CallState.HELD if held else CallState.CONNECTED)
        if event == "participant-leave" and call.state in LIVE:
            return replace(call, state=CallState.ENDED, held=False)
        return None
    if label == WORKER:
        if event == "participant-join":
            return replace(call, worker_call_sid=sid, muted=_flag(fields, "Muted"))
        if event in ("participant-mute", "participant-unmute"):
            return replace(call, muted=event == "participant-mute")
        if event == "participant-leave":
            # The agent left (a transfer, or hung up): the call is over for this interaction.
            return replace(call, state=CallState.ENDED, held=False, worker_call_sid=None)
    return None


def status_update(call: Call, fields: dict[str, str]) -> Call | None:
    """The call after a status callback of the customer's call the spoke placed."""
    status = fields.get("CallStatus", "")
    if status in DIALING and call.state is not CallState.DIALING:
        return replace(call, state=CallState.DIALING, customer_call_sid=fields.get("CallSid"))
    if status in UNANSWERED and call.state is CallState.DIALING:
        return replace(call, state=CallState.NO_ANSWER)
    if status == "completed" and call.state in LIVE:
        return replace(call, state=CallState.ENDED, held=False)
    return None


def needs(call: Call, what: str | None, name: str) -> str:
    """A sid the action needs, or SpokeRejectedError saying the call has none yet."""
    if not what:
        msg = f"the call of interaction {call.interaction_id} has no {name} in Twilio now"
        raise SpokeRejectedError(msg)
    return what
