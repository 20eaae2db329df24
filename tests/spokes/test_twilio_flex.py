"""The Twilio Flex spoke without a network: recorded callbacks, error mapping, the transport."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from omniroute.spokes import registry
from omniroute.spokes.base import (
    InboundEventType,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.twilio_flex import TwilioFlexSettings, TwilioFlexSpoke
from omniroute.spokes.twilio_flex.calls import from_task
from omniroute.spokes.twilio_flex.errors import spoke_error
from omniroute.spokes.twilio_flex.inbound import email_of
from omniroute.spokes.twilio_flex.spoke import task_priority
from omniroute.spokes.twilio_flex.transport import HttpxTwilioClient, ThrottledError
from tests.doubles.twilio.model import ACCOUNT_SID, AUTH_TOKEN, WORKFLOW_SID, WORKSPACE_SID

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
CALLBACK_URL = "https://omniroute.example.test/api/v1/spokes/flex/events"


def settings(**extra: Any) -> TwilioFlexSettings:
    return TwilioFlexSettings.model_validate(
        {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "workspace_sid": WORKSPACE_SID,
            "workflow_sid": WORKFLOW_SID,
            "callback_url": CALLBACK_URL,
            "reservation_timeout_s": 30,
        }
        | extra
    )


def fixture(name: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def signed(fields: dict[str, str], url: str = CALLBACK_URL) -> tuple[dict[str, str], bytes]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, fields)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    return headers, urlencode(fields).encode()


def spoke() -> TwilioFlexSpoke:
    return TwilioFlexSpoke("flex", settings())


def test_registered_under_its_kind() -> None:
    assert registry.spoke_class("twilio_flex") is TwilioFlexSpoke


def test_settings_refuse_half_an_api_key_and_bad_sids() -> None:
    with pytest.raises(ValidationError, match="api_key_secret together"):
        settings(api_key_sid="SK" + "d" * 32)
    with pytest.raises(ValidationError, match="workspace_sid"):
        settings(workspace_sid="not-a-sid")
    assert "double-auth" not in repr(settings())


def test_assignment_callback_is_a_work_offer_on_the_reservation() -> None:
    headers, body = signed(fixture("assignment_callback"))
    [event] = spoke().parse_inbound(headers, body)
    assert event.type is InboundEventType.WORK_OFFERED
    assert event.id == "WR018be5963d26f13be79f4051a1c894cb:created"
    assert event.provider_agent_id == "WK11111111111111111111111111111111"
    assert event.offer is not None
    assert event.offer.work_item_id == "wi-1"
    assert event.offer.external_segment_id == "WR018be5963d26f13be79f4051a1c894cb"
    assert event.offer.provider_queue_id == "WQ00000000000000000000000000000001"
    assert event.offer.timeout_s == 30
    assert event.occurred_at is not None
    assert event.occurred_at.tzinfo is not None


def test_reservation_created_event_has_the_assignment_callbacks_id() -> None:
    callback = fixture("assignment_callback")
    created = fixture("reservation_timeout") | {
        "EventType": "reservation.created",
        "TaskAttributes": callback["TaskAttributes"],
    }
    [by_event] = spoke().parse_inbound(*signed(created))
    [by_callback] = spoke().parse_inbound(*signed(callback))
    assert by_event.id == by_callback.id  # applied once however TaskRouter tells us


def test_reservation_timeout_rescinds_the_offer() -> None:
    [event] = spoke().parse_inbound(*signed(fixture("reservation_timeout")))
    assert event.type is InboundEventType.WORK_RESCINDED
    assert event.offer is not None
    assert event.offer.external_segment_id == "WR018be5963d26f13be79f4051a1c894cb"
    assert event.occurred_at == datetime.fromtimestamp(1795618377, UTC)


def test_activity_update_is_presence() -> None:
    [event] = spoke().parse_inbound(*signed(fixture("worker_activity_update")))
    assert event.type is InboundEventType.AGENT_PRESENCE
    assert event.id == "EV24e2066aef005ad59009579a552c6911"
    assert event.state_name == "Available"


def test_attributes_update_signs_in_with_the_email_in_contact_uri() -> None:
    [event] = spoke().parse_inbound(*signed(fixture("worker_attributes_update")))
    assert event.type is InboundEventType.AGENT_SIGNED_IN
    assert event.email == "bob@demo.omniroute.local"
    assert event.name == "bob"


def test_tasks_omniroute_did_not_create_are_ignored() -> None:
    assert spoke().parse_inbound(*signed(fixture("voice_task_reservation"))) == []


def test_forged_or_misaddressed_callbacks_are_refused() -> None:
    fields = fixture("assignment_callback")
    headers, body = signed(fields)
    with pytest.raises(SpokeAuthError, match="does not match"):
        spoke().parse_inbound(headers, body.replace(b"wi-1", b"wi-2"))
    with pytest.raises(SpokeAuthError, match="callback_url"):
        spoke().parse_inbound(*signed(fields, "https://elsewhere.example.test/events"))
    with pytest.raises(SpokeAuthError, match="no X-Twilio-Signature"):
        spoke().parse_inbound({}, body)


def test_callbacks_of_another_workspace_are_rejected() -> None:
    fields = fixture("assignment_callback") | {"WorkspaceSid": "WS" + "e" * 32}
    with pytest.raises(SpokeRejectedError, match="not ours"):
        spoke().parse_inbound(*signed(fields))


def test_malformed_task_attributes_are_rejected() -> None:
    fields = fixture("assignment_callback") | {"TaskAttributes": "{not json"}
    with pytest.raises(SpokeRejectedError, match="TaskAttributes is not JSON"):
        spoke().parse_inbound(*signed(fields))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, SpokeAuthError),
        (403, SpokeAuthError),
        (404, SpokeRejectedError),
        (400, SpokeRejectedError),
        (429, SpokeUnavailableError),
        (500, SpokeUnavailableError),
        (503, SpokeUnavailableError),
    ],
)
def test_rest_errors_map_to_spoke_errors(status: int, expected: type[Exception]) -> None:
    error = spoke_error("create task", TwilioRestException(status, "/v1/x", "nope", 20001))
    assert type(error) is expected
    assert "create task" in str(error)
    assert str(status) in str(error)


def test_throttling_keeps_retry_after() -> None:
    body = json.loads((FIXTURES / "error_429.json").read_text())
    error = spoke_error("x", ThrottledError(429, "/v1/x", body["message"], 7.0))
    assert isinstance(error, SpokeUnavailableError)
    assert error.retry_after_s == 7.0


async def test_transport_rewrites_only_taskrouter_urls() -> None:
    client = HttpxTwilioClient(5.0, "http://127.0.0.1:9/")
    try:
        assert client.target("https://taskrouter.twilio.com/v1/Workspaces") == (
            "http://127.0.0.1:9/v1/Workspaces"
        )
        assert client.target("https://api.twilio.com/x") == "https://api.twilio.com/x"
    finally:
        await client.close()


def test_email_and_priority_helpers() -> None:
    assert email_of({"contact_uri": "client:ann_2Elee_40example_2Etest"}) == "ann.lee@example.test"
    assert email_of({"contact_uri": "client:ann"}) is None
    assert email_of({"email": " ann@x.test "}) == "ann@x.test"
    assert task_priority(0) > task_priority(50) > task_priority(5000) == 0


@pytest.mark.parametrize(
    ("mode", "kind"), [("COLD", "blind"), ("WARM", "consult"), (None, "blind")]
)
def test_a_transfer_made_in_flex_is_offered_as_a_provider_transfer(
    mode: str | None, kind: str
) -> None:
    callback = fixture("assignment_callback")
    attributes = json.loads(callback["TaskAttributes"]) | {"transferTargetType": "worker"}
    if mode is not None:
        attributes["transferMeta"] = {"mode": mode}
    fields = callback | {"TaskAttributes": json.dumps(attributes)}
    [event] = spoke().parse_inbound(*signed(fields))
    assert event.type is InboundEventType.WORK_OFFERED
    assert event.offer is not None
    assert (event.offer.document_id, event.offer.work_item_id) == ("doc-1", None)
    assert event.offer.transfer is not None
    assert event.offer.transfer.type.value == kind
    assert event.offer.transfer.source_provider_queue_id == callback["TaskQueueSid"]


def test_the_task_of_an_omniroute_transfer_is_offered_by_its_work_item() -> None:
    callback = fixture("assignment_callback")
    attributes = json.loads(callback["TaskAttributes"]) | {
        "transferTargetType": "worker",
        "omniroute_transfer_type": "blind",
    }
    [event] = spoke().parse_inbound(*signed(callback | {"TaskAttributes": json.dumps(attributes)}))
    assert event.offer is not None
    assert (event.offer.work_item_id, event.offer.transfer) == ("wi-1", None)


def test_a_task_made_in_flex_enters_from_its_queue_with_its_offer_terms() -> None:
    callback = fixture("assignment_callback")
    attributes = {
        "taskType": "callback",
        "callBackData": {"numberToCall": "+442079460777"},
        "omniroute_document_id": "doc-9",
        "omniroute_auto_accept": True,
        "omniroute_display_option": "card_and_tab",
    }
    [event] = spoke().parse_inbound(*signed(callback | {"TaskAttributes": json.dumps(attributes)}))
    offer = event.offer
    assert offer is not None
    assert (offer.document_id, offer.work_item_id) == ("doc-9", None)
    assert offer.transfer is not None
    assert offer.transfer.source_provider_queue_id == callback["TaskQueueSid"]
    assert (offer.auto_accept, offer.display_option.value) == (True, "card_and_tab")
    call = from_task("doc-9", attributes)
    assert call is not None
    assert (call.kind.value, call.number) == ("callback", "+442079460777")


@pytest.mark.parametrize(
    "bad", [{"omniroute_auto_accept": "yes"}, {"omniroute_display_option": "tab_only"}]
)
def test_offer_terms_on_a_task_are_checked(bad: dict[str, str]) -> None:
    callback = fixture("assignment_callback")
    attributes = json.loads(callback["TaskAttributes"]) | bad
    with pytest.raises(SpokeRejectedError, match=next(iter(bad))):
        spoke().parse_inbound(*signed(callback | {"TaskAttributes": json.dumps(attributes)}))
