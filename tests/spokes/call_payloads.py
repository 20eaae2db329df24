"""A call-control request as the API builds it, for the routing-event fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

from omniroute.core.call_controls import ControlRequest, StoredContext
from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState

SPOKE = "acme"
CONTEXT_AT = datetime(2026, 3, 2, 9, 31, tzinfo=UTC)


def callback_context(document_id: str) -> CallContext:
    """A callback waiting to be dialled."""
    return CallContext(
        interaction_id=document_id,
        state=CallState.SCHEDULED,
        kind=CallKind.CALLBACK,
        muted=False,
        customer_number="+44 20 7946 0000",
        available_actions=(CallAction.DIAL, CallAction.END),
        occurred_at=CONTEXT_AT,
        provider_call_id="call-1",
    )


def dial_request(document_id: str) -> ControlRequest:
    """Alice dials the customer of a callback."""
    return ControlRequest(
        interaction_id=document_id,
        agent_id="alice",
        action=CallAction.DIAL,
        params={"number": "+44 20 7946 0000"},
        current=StoredContext(SPOKE, callback_context(document_id)),
    )
