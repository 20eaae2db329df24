"""Connect voice contacts and queued callbacks through the spoke, every request model-checked."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber

from omniroute.domain.calls import CallAction, CallKind, CallState
from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes import signing
from omniroute.spokes.amazon_connect import AmazonConnectSpoke
from omniroute.spokes.base import (
    InboundEvent,
    InboundEventType,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from tests.spokes.test_amazon_connect import ALICE, INSTANCE, client, events, spoke

__all__ = ["client", "spoke"]

Spoke = tuple[AmazonConnectSpoke, Stubber]
CALL = "ca11ca11-0000-4000-8000-000000000001"
ARN = f"arn:aws:connect:eu-west-2:123456789012:instance/{INSTANCE}"


def contact(state: str, method: str = "INBOUND", contact_id: str = CALL) -> dict[str, Any]:
    """A voice contact as an agent snapshot lists it."""
    return {
        "ContactId": contact_id,
        "InitialContactId": None,
        "Channel": "VOICE",
        "InitiationMethod": method,
        "State": state,
        "StateStartTimestamp": "2026-03-02T09:35:02.000Z",
        "ConnectedToAgentTimestamp": "2026-03-02T09:35:02.000Z" if state == "CONNECTED" else None,
        "QueueTimestamp": "2026-03-02T09:35:00.000Z",
        "Queue": {"ARN": f"{ARN}/queue/q-general"},
    }


def record(event_id: str, now: list[dict[str, Any]], before: list[dict[str, Any]]) -> bytes:
    """A signed-ready agent event record for Alice."""
    snapshot = {"AgentStatus": {"Name": "Available"}}
    return json.dumps(
        {
            "AgentARN": f"{ARN}/agent/{ALICE}",
            "EventId": event_id,
            "EventType": "STATE_CHANGE",
            "EventTimestamp": "2026-03-02T09:35:03.000Z",
            "CurrentAgentSnapshot": snapshot | {"Contacts": now},
            "PreviousAgentSnapshot": snapshot | {"Contacts": before},
            "Version": "2019-05-25",
        }
    ).encode()


async def receive(subject: AmazonConnectSpoke, body: bytes) -> list[InboundEvent]:
    return await subject.receive(
        signing.sign(subject.settings.relay_secret.get_secret_value(), body), body
    )


def described(method: str, attributes: dict[str, str]) -> dict[str, Any]:
    return {
        "Contact": {
            "Id": CALL,
            "Channel": "VOICE",
            "InitiationMethod": method,
            "Attributes": attributes,
            "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+442079460123"},
            "QueueInfo": {"Id": "q-general"},
        }
    }


def user(*, voice: bool, callback: bool) -> dict[str, Any]:
    configs = [
        {"Channel": "TASK", "AutoAccept": True},
        {"Channel": "VOICE", "AutoAccept": voice, "AgentFirstCallbackAutoAccept": callback},
    ]
    return {"User": {"Id": ALICE, "Username": "alice", "AutoAcceptConfigs": configs}}


def expect_reads(
    stubber: Stubber, method: str, *, voice: bool = True, callback: bool = False
) -> None:
    ids = {"InstanceId": INSTANCE, "ContactId": CALL}
    attributes = {"omniroute_document_id": "doc-1"}
    stubber.add_response("describe_contact", described(method, attributes), ids)
    who = {"InstanceId": INSTANCE, "UserId": ALICE}
    stubber.add_response("describe_user", user(voice=voice, callback=callback), who)


async def test_a_call_alerting_is_read_once_and_offered_with_auto_accept_and_source_queue(
    spoke: Spoke,
) -> None:
    subject, stubber = spoke
    expect_reads(stubber, "INBOUND", voice=True)
    offer, ringing = await receive(subject, record("e1", [contact("CONNECTING")], []))
    assert offer.type is InboundEventType.WORK_OFFERED
    assert offer.offer is not None
    assert (offer.offer.document_id, offer.offer.work_item_id) == ("doc-1", None)
    assert offer.offer.auto_accept is True
    assert offer.offer.transfer is not None
    assert offer.offer.transfer.source_provider_queue_id == "q-general"
    assert ringing.call is not None
    assert (ringing.call.state, ringing.call.kind) == (CallState.ALERTING, CallKind.INBOUND)
    assert (ringing.call.customer_number, ringing.call.available_actions) == ("+442079460123", ())

    # Connected: `end` only (StopContact); nothing is read again.
    (connected,) = await receive(
        subject, record("e2", [contact("CONNECTED")], [contact("CONNECTING")])
    )
    assert connected.call is not None
    assert connected.call.state is CallState.CONNECTED
    assert connected.call.available_actions == (CallAction.END,)
    assert connected.call.connected_at is not None
    (held,) = await receive(
        subject, record("e3", [contact("CONNECTED_ONHOLD")], [contact("CONNECTED")])
    )
    assert held.call is not None
    assert held.call.state is CallState.HELD
    (ended,) = await receive(subject, record("e4", [], [contact("CONNECTED_ONHOLD")]))
    assert ended.call is not None
    assert (ended.call.state, ended.call.available_actions) == (CallState.ENDED, ())


async def test_a_queued_callback_is_scheduled_and_uses_the_agent_first_setting(
    spoke: Spoke,
) -> None:
    subject, stubber = spoke
    expect_reads(stubber, "CALLBACK", voice=True, callback=False)
    offer, scheduled = await receive(subject, record("e1", [contact("CONNECTING", "CALLBACK")], []))
    assert offer.offer is not None
    assert offer.offer.auto_accept is False
    assert scheduled.call is not None
    assert (scheduled.call.state, scheduled.call.kind) == (CallState.SCHEDULED, CallKind.CALLBACK)


async def test_a_contact_that_is_not_ours_is_read_once_and_ignored(spoke: Spoke) -> None:
    subject, stubber = spoke
    ids = {"InstanceId": INSTANCE, "ContactId": CALL}
    stubber.add_response("describe_contact", described("INBOUND", {}), ids)
    assert await receive(subject, record("e1", [contact("CONNECTING")], [])) == []
    assert (
        await receive(subject, record("e2", [contact("CONNECTED")], [contact("CONNECTING")])) == []
    )


async def test_a_contact_connect_cannot_describe_is_ignored_and_an_outage_is_retried(
    spoke: Spoke,
) -> None:
    subject, stubber = spoke
    who = {"InstanceId": INSTANCE, "UserId": ALICE}
    stubber.add_client_error("describe_contact", "InternalServiceException", http_status_code=500)
    with pytest.raises(SpokeUnavailableError, match="retry this request"):
        await receive(subject, record("e1", [contact("CONNECTING")], []))
    stubber.add_client_error("describe_contact", "ResourceNotFoundException", http_status_code=404)
    assert await receive(subject, record("e1", [contact("CONNECTING")], [])) == []
    stubber.assert_no_pending_responses()

    # A call of ours whose agent Connect fails to describe: retried, then offered.
    other = contact("CONNECTING", contact_id="ca11ca11-0000-4000-8000-000000000002")
    answer = described("INBOUND", {"omniroute_document_id": "doc-1"})
    answer["Contact"]["Id"] = other["ContactId"]
    ids = {"InstanceId": INSTANCE, "ContactId": other["ContactId"]}
    stubber.add_response("describe_contact", answer, ids)
    stubber.add_client_error("describe_user", "AccessDeniedException", http_status_code=403)
    with pytest.raises(SpokeUnavailableError, match=f"user {ALICE}"):
        await receive(subject, record("e2", [other], []))
    stubber.add_response("describe_user", user(voice=True, callback=False), who)
    offer, _ = await receive(subject, record("e2", [other], []))
    assert offer.offer is not None
    assert offer.offer.auto_accept is True


async def test_a_call_transferred_in_the_softphone_cannot_be_stopped(spoke: Spoke) -> None:
    subject, stubber = spoke
    expect_reads(stubber, "TRANSFER")
    await receive(subject, record("e1", [contact("CONNECTING", "TRANSFER")], []))
    (connected,) = await receive(
        subject,
        record("e2", [contact("CONNECTED", "TRANSFER")], [contact("CONNECTING", "TRANSFER")]),
    )
    assert connected.call is not None
    assert connected.call.available_actions == ()


async def test_end_stops_the_contact_and_nothing_else_is_carried(spoke: Spoke) -> None:
    subject, stubber = spoke
    expect_reads(stubber, "INBOUND")
    await receive(subject, record("e1", [contact("CONNECTING")], []))
    control = events()[RoutingEventType.INTERACTION_CONTROL]
    end = replace(
        control,
        payload={
            **control.payload,
            "interaction_id": "doc-1",
            "action": "end",
            "params": {},
            "provider_call_id": CALL,
        },
    )
    stubber.add_response("stop_contact", {}, {"InstanceId": INSTANCE, "ContactId": CALL})
    await subject.deliver(end)
    hold = replace(end, payload={**end.payload, "action": "hold"})
    with pytest.raises(SpokeRejectedError, match="can only stop"):
        await subject.deliver(hold)
    # Omniroute's own transfer of a call: TransferContact carries no VOICE contacts.
    transfer = events()[RoutingEventType.TRANSFER_TO_QUEUE]
    with pytest.raises(SpokeRejectedError, match="only TASK and EMAIL"):
        await subject.deliver(transfer)
