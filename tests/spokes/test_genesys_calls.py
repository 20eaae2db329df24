"""Genesys call notifications become call contexts, checked against the SDK's model first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from omniroute.spokes.base import RoutingEvent, RoutingEventType
from omniroute.spokes.genesys import inbound
from tests.doubles.genesys.shapes import problems
from tests.spokes.test_genesys import spoke_with

USER = "9c4f3a7e-0000-4000-8000-000000000001"
MODEL = "ConversationCallEventTopicCallConversation"


def conversation(agent_state: str, *, held: bool = False, muted: bool = False) -> dict[str, Any]:
    return {
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "participants": [
            {
                "id": "p-customer",
                "purpose": "customer",
                "state": "connected",
                "direction": "inbound",
                "ani": "tel:+442079460123",
                "dnis": "tel:+18005550100",
                "held": held,
                "connectedTime": "2026-12-03T09:30:04.000Z",
                "attributes": {"omnirouteDocumentId": "doc-1"},
            },
            {
                "id": "p-agent",
                "purpose": "agent",
                "state": agent_state,
                "direction": "inbound",
                "muted": muted,
                "held": False,
                "user": {"id": USER},
            },
        ],
    }


def note(body: dict[str, Any], correlation: str) -> bytes:
    return json.dumps(
        {
            "topicName": f"v2.users.{USER}.conversations.calls",
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": correlation},
        }
    ).encode()


def test_the_payloads_are_the_sdk_model() -> None:
    for body in (conversation("alerting"), conversation("connected", held=True, muted=True)):
        assert problems(MODEL, body) == []


def test_alerting_connected_held_muted_and_ended() -> None:
    [ringing] = inbound.parse(note(conversation("alerting"), "n1"), {})
    assert ringing.call is not None
    assert ringing.id == "n1:call"
    assert ringing.call.interaction_id == "doc-1"
    assert ringing.call.state.value == "alerting"
    assert ringing.call.kind.value == "inbound"
    assert ringing.call.customer_number == "tel:+442079460123"
    # A ringing call is answered by accepting the offer: no call button yet.
    assert ringing.call.available_actions == ()
    [held] = inbound.parse(note(conversation("connected", held=True, muted=True), "n2"), {})
    assert held.call is not None
    assert held.call.state.value == "held"
    assert held.call.muted
    assert held.call.connected_at is not None
    assert held.call.provider_call_id == "c0ffee00-0000-4000-8000-000000000001"
    assert [a.value for a in held.call.available_actions] == ["resume", "unmute", "transfer", "end"]
    [ended] = inbound.parse(note(conversation("disconnected"), "n3"), {})
    assert ended.call is not None
    assert ended.call.state.value == "ended"


def test_a_call_that_did_not_come_from_omniroute_is_ignored() -> None:
    body = conversation("alerting")
    del body["participants"][0]["attributes"]
    assert inbound.parse(note(body, "n4"), {}) == []


async def test_controls_change_the_agents_call_participant() -> None:
    call = conversation("connected")
    call["participants"].insert(
        1, {"id": "p-old", "purpose": "agent", "state": "disconnected", "user": {"id": USER}}
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=call)
        return httpx.Response(202, json={})

    spoke, seen = spoke_with(handler)
    sent = []
    for n, (action, params) in enumerate(
        [("hold", {}), ("mute", {}), ("transfer", {"target": "+442079460999"}), ("end", {})]
    ):
        event = RoutingEvent(
            id=f"ev-{n}",
            type=RoutingEventType.INTERACTION_CONTROL,
            spoke="gc",
            ordering_key="doc-1",
            created_at=datetime.now(UTC),
            attempt=1,
            payload={
                "interaction_id": "doc-1",
                "action": action,
                "params": params,
                "provider_call_id": call["id"],
                "context_occurred_at": datetime.now(UTC).isoformat(),
                "agent_id": "alice",
                "provider_agent_id": USER,
                "requested_at": datetime.now(UTC).isoformat(),
            },
        )
        await spoke.deliver(event)
        sent.append(seen[-1])
    base = f"/api/v2/conversations/calls/{call['id']}/participants/p-agent"
    assert [(r.method, r.url.path) for r in sent] == [
        ("PATCH", base),
        ("PATCH", base),
        ("POST", base + "/replace"),
        ("PATCH", base),
    ]
    bodies = [json.loads(r.content) for r in sent]
    assert bodies == [
        {"held": True},
        {"muted": True},
        {"address": "+442079460999"},
        {"state": "disconnected"},
    ]
    for body in (bodies[0], bodies[1], bodies[3]):
        assert problems("MediaParticipantRequest", body) == []
    assert problems("TransferRequest", bodies[2]) == []
    await spoke.unload()
