"""The webhook spoke's call_context events as domain call contexts."""

from __future__ import annotations

from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState
from omniroute.spokes.base import InboundEvent, InboundEventType
from omniroute.spokes.events_schema import CallContextInEvent


def call_context_event(parsed: CallContextInEvent) -> InboundEvent:
    """An inbound event carrying the call context it describes."""
    data = parsed.data
    context = CallContext(
        interaction_id=data.interaction_id,
        state=CallState(data.state),
        kind=CallKind(data.kind),
        muted=data.muted,
        customer_number=data.customer_number,
        available_actions=tuple(dict.fromkeys(CallAction(a) for a in data.available_actions)),
        occurred_at=data.occurred_at,
        connected_at=data.connected_at,
        provider_call_id=data.provider_call_id,
    )
    return InboundEvent(
        id=parsed.id,
        type=InboundEventType.CALL_CONTEXT,
        provider_agent_id="",
        occurred_at=data.occurred_at,
        call=context,
    )
