"""Call contexts as the webhook spoke parses them, the schema's names, and the simulator's calls."""

from __future__ import annotations

import typing
from datetime import UTC, datetime

import pytest

from omniroute.domain.calls import CallAction, CallKind, CallState, checked_params
from omniroute.domain.errors import DomainError
from omniroute.sim.calls import ACTIONS, Call, ControlRefusedError
from omniroute.spokes import events_schema as es
from omniroute.spokes.base import InboundEventType
from tests.spokes.call_payloads import callback_context
from tests.spokes.test_webhook import fixture_bytes, inbound_spoke, signed


def test_webhook_spoke_parses_a_recorded_call_context() -> None:
    body = fixture_bytes("inbound", "call_context.json")
    (event,) = inbound_spoke().parse_inbound(signed(body), body)
    assert event.type is InboundEventType.CALL_CONTEXT
    assert event.id == "in-7f3c9a2e-0009"
    call = event.call
    assert call is not None
    assert call.interaction_id == "doc-1"
    assert call.state is CallState.HELD
    assert call.kind is CallKind.CALLBACK
    assert call.muted
    # A repeated action is listed once.
    assert call.available_actions == (CallAction.RESUME, CallAction.END)
    assert call.occurred_at == datetime(2026, 3, 2, 9, 32, tzinfo=UTC)


def test_schema_names_follow_the_domain() -> None:
    assert set(typing.get_args(es.CallActionName)) == {a.value for a in CallAction}
    assert set(typing.get_args(es.CallStateName)) == {s.value for s in CallState}
    assert set(typing.get_args(es.CallKindName)) == {k.value for k in CallKind}
    assert set(ACTIONS) == {s.value for s in CallState}
    assert {a for actions in ACTIONS.values() for a in actions} | {"unmute"} <= {
        a.value for a in CallAction
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params.number"),
        ({"number": "call me"}, "params.number"),
        ({"number": "9" * 201}, "params"),
    ],
)
def test_dial_needs_a_phone_number(params: dict[str, str], field: str) -> None:
    with pytest.raises(DomainError) as info:
        checked_params(callback_context("doc-1"), CallAction.DIAL, params)
    assert info.value.field == field


def test_simulated_callback_retries_and_holds() -> None:
    call = Call("doc-1", "callback", "+1 555 0100", answers=False, state="scheduled")
    assert call.actions() == ["dial", "end"]
    call.apply("dial", {"number": "+1 555 0199"})
    assert (call.state, call.customer_number) == ("no_answer", "+1 555 0199")
    with pytest.raises(ControlRefusedError):
        call.apply("hold", {})
    call.apply("retry_callback", {})
    assert call.state == "connected"
    assert call.connected_at is not None
    call.apply("mute", {})
    assert call.actions() == ["hold", "unmute", "transfer", "end"]
    call.apply("hold", {})
    assert call.actions() == ["resume", "transfer", "end"]
    call.apply("transfer", {"target": "queue:billing"})
    assert (call.state, call.transferred_to, call.actions()) == ("ended", "queue:billing", [])
    assert call.history == ["dial", "retry_callback", "mute", "hold", "transfer"]
