"""The Amazon Connect spoke against botocore's Stubber: every request checked by the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes import registry, signing
from omniroute.spokes.amazon_connect import AmazonConnectSpoke, ConnectSettings
from omniroute.spokes.amazon_connect.contacts import ContactLink, ContactMap
from omniroute.spokes.base import (
    Capability,
    CatalogKind,
    InboundEventType,
    RoutingEvent,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.spoke_data import DatabaseSpokeStore
from tests.seed import NOW
from tests.spokes.payloads import routing_events

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "amazon_connect"
SECRET = "relay-secret-0123456789abcdefghijklmnop"
INSTANCE = "11111111-2222-3333-4444-555555555555"
CONTACT = "c0ffee00-0000-4000-8000-00000000000a"
ALICE = "a11ce000-0000-4000-8000-000000000001"
SETTINGS = {
    "region": "eu-west-2",
    "instance_id": INSTANCE,
    "task_flow_id": "flow-task",
    "queue_transfer_flow_id": "flow-queue",
    "agent_transfer_flow_id": "flow-agent",
    "relay_secret": SECRET,
    "max_attempts": 1,
}


def fixture(*parts: str) -> Any:
    return json.loads(FIXTURES.joinpath(*parts).read_text())


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One boto3 client for the module: building one loads the whole service model."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
        made = AmazonConnectSpoke("connect", ConnectSettings.model_validate(SETTINGS))
        yield made._make_client()


@pytest.fixture
def spoke(client: Any) -> Iterator[tuple[AmazonConnectSpoke, Stubber]]:
    """A spoke whose boto3 client answers from a Stubber, with an in-memory contact map."""
    subject = AmazonConnectSpoke("connect", ConnectSettings.model_validate(SETTINGS))
    subject._client = client
    subject.contacts = ContactMap()
    with Stubber(client) as stubber:
        yield subject, stubber
        stubber.assert_no_pending_responses()


def events() -> dict[RoutingEventType, RoutingEvent]:
    return routing_events()


async def linked(subject: AmazonConnectSpoke, queue: str | None = "PQ-support") -> None:
    assert subject.contacts is not None
    await subject.contacts.put(ContactLink(CONTACT, "doc-1", "wi-1", queue))


def test_registered_and_no_wrap_up_codes_claimed() -> None:
    cls = registry.spoke_class("amazon_connect")
    assert cls is AmazonConnectSpoke
    assert Capability.CATALOG_WRAP_UP_CODES not in cls.manifest.supports
    assert Capability.PRESENCE_IN in cls.manifest.supports


def test_settings_refuse_a_short_relay_secret() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        ConnectSettings.model_validate(SETTINGS | {"relay_secret": "short"})


async def test_new_interaction_starts_a_task_idempotently_and_links_it(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    event = events()[RoutingEventType.NEW_INTERACTION]
    stubber.add_response(
        "start_task_contact",
        fixture("api", "start_task_contact.json"),
        {
            "InstanceId": INSTANCE,
            "ContactFlowId": "flow-task",
            "Name": "Refund",
            "Description": "Refund",
            "Attributes": {
                "omniroute_document_id": "doc-1",
                "omniroute_document_type": "interaction",
                "omniroute_work_item_id": "wi-1",
                "omniroute_channel_id": "chat",
                "omniroute_queue_id": "support",
                "omniroute_provider_queue_id": "PQ-support",
                "omniroute_priority": "50",
                "omniroute_customer_name": "Ann Lee",
                "omniroute_customer_email": "ann@example.test",
            },
            "ClientToken": event.id,
        },
    )
    await subject.deliver(event)
    assert subject.contacts is not None
    link = subject.contacts.by_contact(CONTACT)
    assert link == ContactLink(CONTACT, "doc-1", "wi-1", "PQ-support")


async def test_transfers_use_transfer_contact_with_the_right_flow(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    await linked(subject)
    all_events = events()
    to_agent = all_events[RoutingEventType.TRANSFER_TO_AGENT]
    cancel = all_events[RoutingEventType.CANCEL_TRANSFER]
    to_queue = all_events[RoutingEventType.TRANSFER_TO_QUEUE]
    answer = {"ContactId": CONTACT, "ContactArn": f"arn:aws:connect:::contact/{CONTACT}"}
    base = {"InstanceId": INSTANCE, "ContactId": CONTACT}
    stubber.add_response(
        "transfer_contact",
        answer,
        base | {"ContactFlowId": "flow-agent", "UserId": "P-bob", "ClientToken": to_agent.id},
    )
    stubber.add_response(
        "transfer_contact",
        answer,
        base | {"ContactFlowId": "flow-agent", "UserId": "P-alice", "ClientToken": cancel.id},
    )
    stubber.add_response(
        "transfer_contact",
        answer,
        base | {"ContactFlowId": "flow-queue", "QueueId": "PQ-billing", "ClientToken": to_queue.id},
    )
    assert subject.contacts is not None
    await subject.deliver(to_agent)
    assert subject.contacts.by_contact(CONTACT) == ContactLink(
        CONTACT, "doc-1", "wi-2", "PQ-support", transferred_to="P-bob"
    )
    await subject.deliver(cancel)
    # Back with its sender, who holds it again.
    assert subject.contacts.by_contact(CONTACT) == ContactLink(
        CONTACT, "doc-1", "wi-1", "PQ-support", accepted_by="P-alice", transferred_to="P-alice"
    )
    await subject.deliver(to_queue)
    assert subject.contacts.by_contact(CONTACT) == ContactLink(
        CONTACT, "doc-1", "wi-3", "PQ-billing"
    )


async def test_reject_and_refusal_put_the_task_back_in_its_queue(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    await linked(subject)
    outcome = events()[RoutingEventType.OFFER_OUTCOME]
    recorded = events()[RoutingEventType.OFFER_REFUSED]
    # Refusals of Connect's offers carry the segment id the spoke made: the contact id first.
    segment = f"{CONTACT}/{ALICE}/-"
    refused = replace(recorded, payload={**recorded.payload, "external_segment_id": segment})
    stubber.add_response(
        "update_contact_attributes",
        {},
        {
            "InstanceId": INSTANCE,
            "InitialContactId": CONTACT,
            "Attributes": {
                "omniroute_offer_outcome": "rejected",
                "omniroute_offer_agent_id": "alice",
                "omniroute_reject_reason_id": "busy",
            },
        },
    )
    stubber.add_response(
        "transfer_contact",
        {"ContactId": CONTACT, "ContactArn": "arn"},
        {
            "InstanceId": INSTANCE,
            "ContactId": CONTACT,
            "ContactFlowId": "flow-queue",
            "QueueId": "PQ-support",
            "ClientToken": outcome.id,
        },
    )
    stubber.add_response(
        "update_contact_attributes",
        {},
        {
            "InstanceId": INSTANCE,
            "InitialContactId": CONTACT,
            "Attributes": {"omniroute_offer_outcome": "refused", "omniroute_offer_error": ANY},
        },
    )
    stubber.add_response(
        "transfer_contact",
        {"ContactId": CONTACT, "ContactArn": "arn"},
        {
            "InstanceId": INSTANCE,
            "ContactId": CONTACT,
            "ContactFlowId": "flow-queue",
            "QueueId": "PQ-support",
            "ClientToken": refused.id,
        },
    )
    await subject.deliver(outcome)
    await subject.deliver(refused)


async def test_end_records_the_wrap_up_and_stops_the_contact_even_if_gone(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    await linked(subject)
    event = events()[RoutingEventType.END_INTERACTION]
    stubber.add_response(
        "update_contact_attributes",
        {},
        {
            "InstanceId": INSTANCE,
            "InitialContactId": CONTACT,
            "Attributes": {
                "omniroute_state": "closed_complete",
                "omniroute_wrap_up_code_id": "resolved",
                "omniroute_wrap_up_code_name": "Resolved",
                "omniroute_notes": "refund issued",
            },
        },
    )
    stubber.add_client_error(
        "stop_contact",
        "ContactNotFoundException",
        "Contact not found",
        410,
        expected_params={"InstanceId": INSTANCE, "ContactId": CONTACT},
    )
    await subject.deliver(event)


async def test_work_event_without_a_task_is_rejected_with_a_reason(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, _ = spoke
    with pytest.raises(SpokeRejectedError, match=r"doc-1.*no Connect task"):
        await subject.deliver(events()[RoutingEventType.END_INTERACTION])


async def test_presence_resolves_the_status_name_once(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    event = events()[RoutingEventType.AGENT_PRESENCE]
    stubber.add_response(
        "list_agent_statuses",
        fixture("api", "list_agent_statuses.json"),
        {"InstanceId": INSTANCE, "MaxResults": 100},
    )
    for _ in range(2):
        stubber.add_response(
            "put_user_status",
            {},
            {"InstanceId": INSTANCE, "UserId": "P-alice", "AgentStatusId": "st-onqueue"},
        )
    await subject.deliver(event)
    await subject.deliver(event)


async def test_unknown_status_name_is_rejected_naming_the_known_ones(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    statuses = fixture("api", "list_agent_statuses.json")
    statuses["AgentStatusSummaryList"] = statuses["AgentStatusSummaryList"][:2]
    stubber.add_response(
        "list_agent_statuses", statuses, {"InstanceId": INSTANCE, "MaxResults": 100}
    )
    with pytest.raises(SpokeRejectedError, match=r"no agent status named 'On Queue'.*Available"):
        await subject.deliver(events()[RoutingEventType.AGENT_PRESENCE])


async def test_catalog_reads_every_page(spoke: tuple[AmazonConnectSpoke, Stubber]) -> None:
    subject, stubber = spoke
    page = {"InstanceId": INSTANCE, "MaxResults": 100, "QueueTypes": ["STANDARD"]}
    stubber.add_response("list_queues", fixture("api", "list_queues_page1.json"), page)
    stubber.add_response(
        "list_queues", fixture("api", "list_queues_page2.json"), page | {"NextToken": "page-2"}
    )
    stubber.add_response(
        "list_routing_profiles",
        fixture("api", "list_routing_profiles.json"),
        {"InstanceId": INSTANCE, "MaxResults": 100},
    )
    stubber.add_response(
        "list_users", fixture("api", "list_users.json"), {"InstanceId": INSTANCE, "MaxResults": 100}
    )
    stubber.add_response(
        "describe_user",
        fixture("api", "describe_user_alice.json"),
        {"InstanceId": INSTANCE, "UserId": ALICE},
    )
    queues = await subject.list_catalog(CatalogKind.QUEUES)
    assert [(q.provider_id, q.name) for q in queues] == [
        ("q-support", "Support"),
        ("q-billing", "Billing"),
        ("q-returns", "Returns"),
    ]
    skills = await subject.list_catalog(CatalogKind.SKILLS)
    assert [(s.provider_id, s.name) for s in skills] == [("rp-support", "Support")]
    (agent,) = await subject.list_catalog(CatalogKind.AGENTS)
    assert (agent.provider_id, agent.name) == (ALICE, "Alice Martin")
    assert agent.attributes["email"] == "alice@example.test"
    with pytest.raises(SpokeRejectedError, match="no wrap_up_codes catalog"):
        await subject.list_catalog(CatalogKind.WRAP_UP_CODES)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 429, SpokeUnavailableError),
        ("TooManyRequestsException", 429, SpokeUnavailableError),
        ("InternalServiceException", 500, SpokeUnavailableError),
        ("AccessDeniedException", 403, SpokeAuthError),
        ("UnrecognizedClientException", 403, SpokeAuthError),
        ("InvalidParameterException", 400, SpokeRejectedError),
        ("ResourceNotFoundException", 404, SpokeRejectedError),
    ],
)
async def test_vendor_errors_map_to_spoke_errors(
    spoke: tuple[AmazonConnectSpoke, Stubber], code: str, status: int, expected: type[Exception]
) -> None:
    subject, stubber = spoke
    stubber.add_client_error(
        "start_task_contact",
        code,
        "refused",
        status,
        response_meta={"HTTPHeaders": {"retry-after": "7"}},
    )
    with pytest.raises(expected) as caught:
        await subject.deliver(events()[RoutingEventType.NEW_INTERACTION])
    assert isinstance(caught.value.__cause__, Exception)
    if expected is SpokeUnavailableError:
        assert isinstance(caught.value, SpokeUnavailableError)
        assert caught.value.retry_after_s == 7.0


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return signing.sign(secret, body)


def raw(name: str) -> bytes:
    return FIXTURES.joinpath("agent_events", name).read_bytes()


def test_login_links_by_username_email_and_reports_status(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, _ = spoke
    body = raw("login.json")
    signed_in, presence = subject.parse_inbound(signed(body), body)
    assert signed_in.type is InboundEventType.AGENT_SIGNED_IN
    assert (signed_in.provider_agent_id, signed_in.email, signed_in.name) == (
        ALICE,
        "alice@example.test",
        "Alice Martin",
    )
    assert presence.type is InboundEventType.AGENT_PRESENCE
    assert presence.state_name == "Offline"


def test_status_change_is_presence_and_heart_beat_is_nothing(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, _ = spoke
    body = raw("state_change_available.json")
    (presence,) = subject.parse_inbound(signed(body), body)
    assert (presence.type, presence.state_name) == (InboundEventType.AGENT_PRESENCE, "Available")
    body = raw("heart_beat.json")
    assert subject.parse_inbound(signed(body), body) == []


async def test_contact_offered_then_missed_is_an_offer_then_its_rescission(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, _ = spoke
    body = raw("contact_connecting.json")
    assert subject.parse_inbound(signed(body), body) == []  # not one of ours yet
    await linked(subject)
    (offered,) = subject.parse_inbound(signed(body), body)
    assert offered.type is InboundEventType.WORK_OFFERED
    assert offered.provider_agent_id == ALICE
    assert offered.offer is not None
    assert offered.offer.work_item_id == "wi-1"
    assert offered.offer.timeout_s == 30
    segment = offered.offer.external_segment_id
    assert segment.startswith(CONTACT)
    body = raw("contact_connected.json")
    assert subject.parse_inbound(signed(body), body) == []
    body = raw("contact_missed.json")
    (rescinded,) = subject.parse_inbound(signed(body), body)
    assert rescinded.type is InboundEventType.WORK_RESCINDED
    assert rescinded.offer is not None
    assert rescinded.offer.external_segment_id == segment


def test_inbound_refuses_a_forgery_and_a_naive_time(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, _ = spoke
    body = raw("login.json")
    with pytest.raises(SpokeAuthError, match="signature"):
        subject.parse_inbound(signed(body, "another-secret-0123456789abcdefghijkl"), body)
    body = raw("malformed_naive_time.json")
    with pytest.raises(SpokeRejectedError, match="EventTimestamp"):
        subject.parse_inbound(signed(body), body)


async def test_contact_map_survives_a_restart_in_the_spoke_store(db: Database) -> None:
    async with db.session() as s, s.begin():
        for name in ("connect", "other"):
            s.add(t.SpokeRow(name=name, kind="amazon_connect", created_at=NOW, updated_at=NOW))
    first = ContactMap(DatabaseSpokeStore(db, "connect"))
    await first.put(ContactLink(CONTACT, "doc-1", "wi-1", "PQ-support"))
    await first.put(ContactLink(CONTACT, "doc-1", "wi-2", "PQ-support"))
    await first.put(ContactLink("c-old", "doc-0", "wi-0", None))
    await first.put(ContactLink("c-old", "doc-9", "wi-9", None))  # the contact now stands for doc-9
    async with db.session() as session:
        row = await session.get(t.SpokeDataRow, ("connect", "contact/doc-1"))
        assert row is not None
        assert json.loads(row.data)["work_item_id"] == "wi-2"
        assert await session.get(t.SpokeDataRow, ("connect", "contact/doc-0")) is None
    second = ContactMap(DatabaseSpokeStore(db, "connect"))
    await second.load()
    assert second.by_document("doc-1") == ContactLink(CONTACT, "doc-1", "wi-2", "PQ-support")
    assert second.by_contact("c-old") == ContactLink("c-old", "doc-9", "wi-9", None)
    assert second.by_document("doc-0") is None
    other = ContactMap(DatabaseSpokeStore(db, "other"))
    await other.load()
    assert other.by_contact(CONTACT) is None


async def test_an_alert_racing_start_task_contact_is_retried_not_dropped(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, _ = spoke
    body = raw("contact_connecting.json")
    subject._starting = 1  # StartTaskContact is in flight; its contact id is not known yet
    with pytest.raises(SpokeUnavailableError, match="retry"):
        subject.parse_inbound(signed(body), body)
    subject._starting = 0
    assert subject.parse_inbound(signed(body), body) == []


async def test_the_sender_getting_a_cancelled_transfer_back_is_no_offer(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    await linked(subject)
    cancel = events()[RoutingEventType.CANCEL_TRANSFER]
    sender = {"agent_id": "alice", "provider_agent_id": ALICE}
    cancel = replace(cancel, payload={**cancel.payload, "from": sender})
    stubber.add_response(
        "transfer_contact",
        {"ContactId": CONTACT, "ContactArn": "arn"},
        {
            "InstanceId": INSTANCE,
            "ContactId": CONTACT,
            "ContactFlowId": "flow-agent",
            "UserId": ALICE,
            "ClientToken": cancel.id,
        },
    )
    await subject.deliver(cancel)
    body = raw("contact_connecting.json")
    assert subject.parse_inbound(signed(body), body) == []


def alert_to(user: str) -> bytes:
    """The fixture's alert of the task, to another Connect user."""
    return raw("contact_connecting.json").replace(ALICE.encode(), user.encode())


async def test_an_alert_from_before_the_latest_transfer_is_no_offer(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    await linked(subject)
    all_events = events()
    cancel, to_bob = (
        all_events[RoutingEventType.CANCEL_TRANSFER],
        all_events[RoutingEventType.TRANSFER_TO_AGENT],
    )
    cancel = replace(
        cancel,
        payload={**cancel.payload, "from": {"agent_id": "alice", "provider_agent_id": ALICE}},
    )
    rejected = all_events[RoutingEventType.OFFER_OUTCOME]
    rejected = replace(rejected, payload={**rejected.payload, "work_item_id": "wi-2"})
    for event in (cancel, to_bob, rejected):
        if event is rejected:
            stubber.add_response("update_contact_attributes", {})
        stubber.add_response("transfer_contact", {"ContactId": CONTACT, "ContactArn": "arn"})
    await subject.deliver(cancel)
    await subject.deliver(to_bob)
    # The stream lags the API: Alice's alert of the cancelled transfer coming back arrives
    # after the next transfer to Bob was made; it is no offer of Bob's transfer to Alice.
    body = raw("contact_connecting.json")
    assert subject.parse_inbound(signed(body), body) == []
    body = alert_to("P-bob")
    (offered,) = subject.parse_inbound(signed(body), body)
    assert (offered.provider_agent_id, offered.offer and offered.offer.work_item_id) == (
        "P-bob",
        "wi-2",
    )
    # Bob rejects: queued again, the task may go to anyone.
    await subject.deliver(rejected)
    body = raw("contact_connecting.json")
    (offered,) = subject.parse_inbound(signed(body), body)
    assert offered.provider_agent_id == ALICE


async def test_an_alert_after_an_accept_is_a_transfer_made_in_connect(
    spoke: tuple[AmazonConnectSpoke, Stubber],
) -> None:
    subject, stubber = spoke
    await linked(subject)
    accepted = events()[RoutingEventType.OFFER_OUTCOME]
    payload = {
        **accepted.payload,
        "outcome": "accepted",
        "document_id": "doc-1",
        "work_item_id": "wi-1",
        "provider_agent_id": "the-first-agent",
        "reject_reason_id": None,
    }
    stubber.add_response("update_contact_attributes", {})
    await subject.deliver(replace(accepted, payload=payload))
    link = subject._map().by_document("doc-1")
    assert link is not None
    assert link.accepted_by == "the-first-agent"
    body = raw("contact_connecting.json")
    (moved,) = subject.parse_inbound(signed(body), body)
    assert moved.provider_agent_id == ALICE
    assert moved.offer is not None
    assert (moved.offer.document_id, moved.offer.work_item_id) == ("doc-1", None)
    assert moved.offer.transfer is not None
    assert moved.offer.transfer.from_provider_agent_id == "the-first-agent"
