"""Genesys call notifications become call contexts, checked against the SDK's model first."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from omniroute.spokes.base import RoutingEvent, RoutingEventType, SpokeRejectedError
from omniroute.spokes.genesys import inbound
from tests.doubles.genesys.shapes import problems
from tests.spokes.test_genesys import body as sent
from tests.spokes.test_genesys import event, spoke_with

USER = "9c4f3a7e-0000-4000-8000-000000000001"
MODEL = "ConversationCallEventTopicCallConversation"


def conversation(
    agent_state: str, *, held: bool = False, muted: bool = False, auto: bool = False
) -> dict[str, Any]:
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
                "queue": {"id": "q-general"},
                "alertingTimeoutMs": 8000,
                "queueMediaSettings": {"enableAutoAnswer": auto},
            }
            | ({"connectedTime": "2026-12-03T09:30:05.000Z"} if agent_state != "alerting" else {}),
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
    [alert, ringing] = inbound.parse(note(conversation("alerting"), "n1"), {})
    # The call reached Genesys first: the alert carries its queue to make the first work item.
    assert alert.offer is not None
    assert alert.offer.external_segment_id == "c0ffee00-0000-4000-8000-000000000001/p-agent"
    assert alert.offer.transfer is not None
    assert alert.offer.transfer.source_provider_queue_id == "q-general"
    assert alert.offer.transfer.from_provider_agent_id is None
    assert (alert.offer.auto_accept, alert.offer.timeout_s) == (False, 8)
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


def test_auto_answer_and_a_transfer_made_in_genesys() -> None:
    body = conversation("alerting", auto=True)
    body["participants"].insert(
        1,
        {
            "id": "p-holder",
            "purpose": "agent",
            "state": "connected",
            "connectedTime": "2026-12-03T09:30:05.000Z",
            "user": {"id": "holder"},
        },
    )
    assert problems(MODEL, body) == []
    # The holder still has the call, so this user's view sets no context while it rings.
    [alert] = inbound.parse(note(body, "n5"), {})
    assert alert.offer is not None
    assert alert.offer.transfer is not None
    assert alert.offer.auto_accept is True
    assert alert.offer.transfer.from_provider_agent_id == "holder"


def callback(agent_state: str) -> dict[str, Any]:
    return {
        "id": "cb000000-0000-4000-8000-000000000001",
        "participants": [
            {
                "id": "p-customer",
                "purpose": "customer",
                "state": "connected",
                "callbackNumbers": ["+442079460555"],
                "callbackUserName": "Ada",
                "attributes": {"omnirouteDocumentId": "doc-2", "omnirouteCallKind": "callback"},
            },
            {
                "id": "p-agent",
                "purpose": "agent",
                "state": agent_state,
                "user": {"id": USER},
                "queue": {"id": "q-general"},
            }
            | ({"connectedTime": "2026-12-03T09:30:05.000Z"} if agent_state != "alerting" else {}),
        ],
    }


def test_a_callback_waits_to_be_dialled() -> None:
    model = "ConversationCallbackEventTopicCallbackConversation"
    topic = f"v2.users.{USER}.conversations.callbacks"
    for state in ("alerting", "connected"):
        assert problems(model, callback(state)) == []
    raw = json.loads(note(callback("alerting"), "n6"))
    [alert, waiting] = inbound.parse(json.dumps(raw | {"topicName": topic}).encode(), {})
    # Omniroute routed the callback first: its alert is no transfer.
    assert alert.offer is not None
    assert alert.offer.transfer is None
    assert waiting.call is not None
    assert (waiting.call.state.value, waiting.call.kind.value) == ("scheduled", "callback")
    assert (waiting.call.customer_number, waiting.call.available_actions) == ("+442079460555", ())
    raw = json.loads(note(callback("connected"), "n7"))
    [accepted] = inbound.parse(json.dumps(raw | {"topicName": topic}).encode(), {})
    assert accepted.call is not None
    assert [a.value for a in accepted.call.available_actions] == ["dial", "end"]


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


def control(action: str, params: dict[str, str], call_id: str) -> RoutingEvent:
    given = {"action": action, "provider_call_id": call_id, "provider_agent_id": USER}
    made = event(RoutingEventType.INTERACTION_CONTROL, given)
    return replace(made, payload=dict(made.payload) | {"params": params})


async def test_callbacks_are_created_answered_dialled_and_wrapped_up() -> None:
    made = callback("connected")
    dialled: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/routing/wrapupcodes":
            code = {"id": "w-1", "name": "Resolved"}
            return httpx.Response(200, json={"entities": [code], "pageCount": 1})
        if request.method == "GET" and "/calls/" in request.url.path:
            return httpx.Response(200, json={"id": made["id"], "participants": dialled})
        if request.method == "GET":
            return httpx.Response(200, json=made)
        if request.url.path == "/api/v2/conversations/callbacks":
            return httpx.Response(200, json={"conversation": {"id": made["id"]}})
        return httpx.Response(202)

    spoke, seen = spoke_with(handler)
    new = event(
        RoutingEventType.NEW_INTERACTION,
        {"channel_id": "callback", "customer": {"subject": "call me on +442079460555"}},
    )
    await spoke.deliver(new)
    create = sent(seen[-1])
    assert problems("CreateCallbackCommand", create) == []
    assert create["callbackNumbers"] == ["+442079460555"]
    assert create["data"]["omnirouteCallKind"] == "callback"
    accepted = {"outcome": "accepted", "external_segment_id": f"{made['id']}/p-agent"}
    await spoke.deliver(event(RoutingEventType.OFFER_OUTCOME, accepted))
    assert seen[-1].url.path == f"/api/v2/conversations/callbacks/{made['id']}/participants/p-agent"
    # Before any call is placed, `end` disconnects the callback itself.
    await spoke.deliver(control("end", {}, made["id"]))
    assert (seen[-1].method, seen[-1].url.path, sent(seen[-1])) == (
        "PATCH",
        f"/api/v2/conversations/callbacks/{made['id']}/participants/p-agent",
        {"state": "disconnected"},
    )
    await spoke.deliver(control("dial", {"number": "+442079460556"}, made["id"]))
    await spoke.deliver(control("retry_callback", {}, made["id"]))
    dials = [r for r in seen if r.url.path == f"/api/v2/conversations/calls/{made['id']}"]
    assert [sent(r) for r in dials if r.method == "POST"] == [
        {"callNumber": "+442079460556"},
        {"callNumber": "+442079460555"},
    ]
    assert problems("CallCommand", sent(dials[-1])) == []
    await spoke.deliver(
        event(
            RoutingEventType.END_INTERACTION,
            {"wrap_up_code_name": "Resolved", "provider_agent_id": USER},
        )
    )
    assert sent(seen[-1]) == {
        "state": "disconnected",
        "wrapup": {"code": "w-1", "name": "Resolved", "notes": sent(seen[-1])["wrapup"]["notes"]},
    }
    assert problems("MediaParticipantRequest", sent(seen[-1])) == []
    no_number = event(RoutingEventType.NEW_INTERACTION, {"channel_id": "callback"})
    with pytest.raises(SpokeRejectedError, match="no number to call"):
        await spoke.deliver(no_number)
    await spoke.unload()


async def test_a_call_learnt_from_its_segment_is_transferred_under_calls() -> None:
    call = conversation("connected")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=call) if request.method == "GET" else httpx.Response(202)

    spoke, seen = spoke_with(handler)
    # Omniroute refused the alert (the agent is away): the call's segment names its conversation.
    refused = {
        "external_segment_id": f"{call['id']}/p-agent",
        "document_id": "doc-1",
        "provider_agent_id": USER,
    }
    await spoke.deliver(event(RoutingEventType.OFFER_REFUSED, refused))
    assert (seen[-1].url.path, sent(seen[-1])) == (
        f"/api/v2/conversations/calls/{call['id']}/participants/p-agent",
        {"state": "disconnected"},
    )
    moved = {"provider_queue_id": "q-billing", "from": {"agent_id": "a", "provider_agent_id": USER}}
    await spoke.deliver(event(RoutingEventType.TRANSFER_TO_QUEUE, moved))
    assert (seen[-1].url.path, sent(seen[-1])) == (
        f"/api/v2/conversations/calls/{call['id']}/participants/p-agent/replace",
        {"queueId": "q-billing"},
    )
    assert problems("TransferRequest", sent(seen[-1])) == []
    await spoke.unload()
