"""Connect voice contacts in the agent event stream as call contexts."""

# Connect's public API can only stop a voice contact (StopContact): TransferContact carries
# TASK and EMAIL contacts only, and hold, mute and dialling live in the agent's softphone.
# So a call context offers `end` or nothing; the softphone's hold still shows as `held`.

from __future__ import annotations

from datetime import datetime

from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState
from omniroute.spokes.amazon_connect.agent_events import AgentContact, AgentEvent, Lookup, ours
from omniroute.spokes.amazon_connect.contacts import ContactLink
from omniroute.spokes.base import InboundEvent, InboundEventType

VOICE = "VOICE"
# StopContact "does not work for voice contacts" initiated by DISCONNECT, TRANSFER,
# QUEUE_TRANSFER, EXTERNAL_OUTBOUND or MONITOR; these are the ones it stops.
STOPPABLE = frozenset({"INBOUND", "OUTBOUND", "CALLBACK", "API"})
STATES = {
    "CONNECTED": CallState.CONNECTED,
    "CONNECTED_ONHOLD": CallState.HELD,
    "ENDED": CallState.ENDED,
}
LIVE = frozenset({CallState.CONNECTED, CallState.HELD})
CONNECTED_STATES = frozenset({"CONNECTED", "CONNECTED_ONHOLD"})


def call_kind(initiation_method: str | None) -> CallKind:
    """A queued callback (initiation method CALLBACK) or a call the customer made."""
    return CallKind.CALLBACK if initiation_method == "CALLBACK" else CallKind.INBOUND


def state_of(contact: AgentContact, kind: CallKind) -> CallState | None:
    """Our call state for a contact's state in the agent's snapshot; None when not shown."""
    if contact.state == "CONNECTING":
        # Connect dials a queued callback itself once the agent takes it.
        return CallState.SCHEDULED if kind is CallKind.CALLBACK else CallState.ALERTING
    return STATES.get(contact.state)


def available(state: CallState, initiation_method: str | None) -> tuple[CallAction, ...]:
    """What Connect's API can do with the call now: StopContact, where it applies."""
    if state in LIVE and initiation_method in STOPPABLE:
        return (CallAction.END,)
    return ()


def context(
    link: ContactLink, contact: AgentContact, state: CallState, at: datetime
) -> CallContext:
    """The call context of one voice contact of ours."""
    kind = call_kind(contact.initiation_method)
    connected = contact.connected_at or (
        contact.state_start_timestamp if state is CallState.CONNECTED else None
    )
    return CallContext(
        interaction_id=link.document_id,
        state=state,
        kind=kind,
        muted=False,
        customer_number=link.customer_number,
        available_actions=available(state, contact.initiation_method),
        occurred_at=at,
        connected_at=connected if state in LIVE else None,
        provider_call_id=contact.contact_id,
    )


def _voice(contacts: list[AgentContact]) -> dict[str, AgentContact]:
    return {c.contact_id: c for c in contacts if c.channel == VOICE}


def call_events(event: AgentEvent, lookup: Lookup) -> list[InboundEvent]:
    """A call context for each voice contact of ours whose state changed for this agent."""
    now = _voice(event.current.contacts if event.current else [])
    before = _voice(event.previous.contacts if event.previous else [])
    found: list[CallContext] = []
    for contact_id, contact in now.items():
        link = ours(contact, lookup)
        state = state_of(contact, call_kind(contact.initiation_method))
        earlier = before.get(contact_id)
        unchanged = earlier is not None and earlier.state == contact.state
        if link is None or state is None or unchanged:
            continue
        at = contact.state_start_timestamp or event.event_timestamp
        found.append(context(link, contact, state, at))
    for contact_id, contact in before.items():
        link = ours(contact, lookup)
        if link is None or contact_id in now or contact.state not in CONNECTED_STATES:
            continue
        # Gone from the agent's snapshot after it was connected: the call is over.
        ended = contact.model_copy(update={"state": "ENDED"})
        found.append(context(link, ended, CallState.ENDED, event.event_timestamp))
    return [
        InboundEvent(
            id=f"{event.event_id}:call:{c.provider_call_id}",
            type=InboundEventType.CALL_CONTEXT,
            provider_agent_id=event.user_id,
            occurred_at=c.occurred_at,
            call=c,
        )
        for c in found
    ]
