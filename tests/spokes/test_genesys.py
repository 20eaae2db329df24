"""The Genesys spoke against recorded Genesys payloads replayed by an httpx mock transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes.base import (
    CatalogKind,
    InboundEventType,
    RoutingEvent,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.genesys import GenesysSettings, GenesysSpoke
from omniroute.spokes.genesys.client import GenesysClient
from tests.doubles.genesys import shapes
from tests.spokes.payloads import routing_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "genesys"
SECRET = "genesys-inbound-shared-secret-0123456789"
API = "https://api.mypurecloud.de"
Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def settings(**changes: Any) -> GenesysSettings:
    values: dict[str, Any] = {
        "region": "mypurecloud.de",
        "client_id": "client",
        "client_secret": "client-secret",
        "integration_id": "integration-1",
        "inbound_secret": SECRET,
    }
    return GenesysSettings.model_validate(values | changes)


def token_response(request: httpx.Request, tokens: list[str]) -> httpx.Response:
    assert request.url == "https://login.mypurecloud.de/oauth/token"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.content == b"grant_type=client_credentials"
    tokens.append(f"token-{len(tokens) + 1}")
    return httpx.Response(200, json={"access_token": tokens[-1], "expires_in": 86399})


def spoke_with(handler: Handler, **changes: Any) -> tuple[GenesysSpoke, list[httpx.Request]]:
    """A set-up spoke whose API calls go to `handler`; tokens are issued automatically."""
    seen: list[httpx.Request] = []
    tokens: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return token_response(request, tokens)
        seen.append(request)
        return handler(request)

    spoke = GenesysSpoke("gc", settings(**changes))
    http = httpx.AsyncClient(transport=httpx.MockTransport(route))
    spoke._http = http
    spoke._api = GenesysClient(spoke.settings, http)
    return spoke, seen


def _merged(full: Any, given: Any) -> Any:
    if isinstance(full, dict) and isinstance(given, dict):
        return {k: _merged(full.get(k), given[k]) if k in given else v for k, v in full.items()} | {
            k: v for k, v in given.items() if k not in full
        }
    return given


def event(kind: RoutingEventType, payload: dict[str, Any]) -> RoutingEvent:
    """An event of the kind as the services raise it, with the given fields changed."""
    return RoutingEvent(
        id="ev-1",
        type=kind,
        spoke="gc",
        ordering_key="doc-1",
        created_at=datetime(2026, 11, 25, 10, 20, tzinfo=UTC),
        attempt=1,
        payload=_merged(dict(routing_events()[kind].payload), payload),
    )


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_recorded_payloads_load_into_the_sdk_models_without_loss() -> None:
    cases = {
        "users_page1.json": "UserEntityListing",
        "users_page2.json": "UserEntityListing",
        "open_message_response.json": "OpenMessageNormalizedMessage",
        "message_conversation.json": "MessageConversation",
        "presence_definitions.json": "OrganizationPresenceDefinitionEntityListing",
    }
    for name, model in cases.items():
        assert shapes.problems(model, fixture(name)) == [], name
    assert shapes.problems("UserPresence", fixture("presence_notification.json")["eventBody"]) == []
    assert shapes.problems("User", fixture("signed_in.json")["eventBody"]) == []
    # The check does catch a misspelt field and a value outside the model's enum.
    assert shapes.problems("TransferRequest", {"userID": "u"}) != []
    assert shapes.problems("MessageMediaParticipant", {"state": "ringing"}) != []


def test_settings_refuse_a_short_secret_and_a_bad_region() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        settings(inbound_secret="short")
    with pytest.raises(ValidationError, match="region"):
        settings(region="https://api.mypurecloud.de/")
    assert settings().api_url == API
    local = settings(api_base_url="http://127.0.0.1:9/", login_base_url="http://127.0.0.1:9")
    assert (local.api_url, local.login_url) == ("http://127.0.0.1:9", "http://127.0.0.1:9")


async def test_all_user_pages_are_read_following_next_uri() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("pageNumber")
        return httpx.Response(200, json=fixture(f"users_page{page}.json"))

    spoke, seen = spoke_with(handler, page_size=1)
    agents = await spoke.list_catalog(CatalogKind.AGENTS)
    assert [(a.name, a.attributes["email"]) for a in agents] == [
        ("Alice Agent", "alice@example.com"),
        ("Bob Agent", "bob@example.com"),
    ]
    assert [r.url.params["pageNumber"] for r in seen] == ["1", "2"]
    assert all(r.headers["Authorization"] == "Bearer token-1" for r in seen)


async def test_pages_without_next_uri_follow_page_count() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["pageNumber"])
        entity = {"id": f"s{number}", "name": f"Skill {number}", "state": "active"}
        return httpx.Response(
            200, json={"entities": [entity], "pageNumber": number, "pageCount": 3}
        )

    spoke, _ = spoke_with(handler)
    skills = await spoke.list_catalog(CatalogKind.SKILLS)
    assert [s.provider_id for s in skills] == ["s1", "s2", "s3"]


async def test_an_entity_without_id_or_name_is_rejected() -> None:
    spoke, _ = spoke_with(lambda _: httpx.Response(200, json={"entities": [{"name": "x"}]}))
    with pytest.raises(SpokeRejectedError, match="without an id and a name"):
        await spoke.list_catalog(CatalogKind.WRAP_UP_CODES)


async def test_a_next_uri_to_another_host_is_refused() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        page = {"entities": [], "nextUri": "https://evil.example/api/v2/users?pageNumber=2"}
        return httpx.Response(200, json=page)

    spoke, _ = spoke_with(handler)
    with pytest.raises(SpokeRejectedError, match="leaves the API host"):
        await spoke.list_catalog(CatalogKind.AGENTS)


async def test_throttling_keeps_retry_after_and_errors_map_to_spoke_errors() -> None:
    answers = {
        429: SpokeUnavailableError,
        503: SpokeUnavailableError,
        403: SpokeAuthError,
        400: SpokeRejectedError,
        404: SpokeRejectedError,
    }
    for status, error in answers.items():

        def handler(_: httpx.Request, status: int = status) -> httpx.Response:
            headers = {"Retry-After": "7"} if status == 429 else {}
            return httpx.Response(status, json=fixture("too_many_requests.json"), headers=headers)

        spoke, _ = spoke_with(handler)
        with pytest.raises(error) as caught:
            await spoke.list_catalog(CatalogKind.QUEUES)
        if status == 429:
            assert isinstance(caught.value, SpokeUnavailableError)
            assert caught.value.retry_after_s == 7.0


async def test_unreachable_genesys_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    spoke, _ = spoke_with(handler)
    with pytest.raises(SpokeUnavailableError, match="ConnectError"):
        await spoke.health()


async def test_a_token_is_reused_then_renewed_once_on_401() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer token-1" and len(calls) > 1:
            return httpx.Response(401, json={"code": "bad.credentials"})
        return httpx.Response(200, json=fixture("presence_definitions.json"))

    spoke, _ = spoke_with(handler)
    await spoke.api.call("GET", "/api/v2/presence/definitions")
    await spoke.api.call("GET", "/api/v2/presence/definitions")
    assert calls == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


async def test_refused_credentials_are_an_auth_error() -> None:
    spoke = GenesysSpoke("gc", settings())
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(401, json={"error": "invalid"}))
    )
    spoke._api = GenesysClient(spoke.settings, http)
    with pytest.raises(SpokeAuthError, match="401"):
        await spoke.health()


async def test_new_interaction_is_an_open_message_carrying_ids_and_queue() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=fixture("open_message_response.json"))

    spoke, seen = spoke_with(handler)
    payload = {
        "document_id": "doc-1",
        "work_item_id": "wi-1",
        "channel_id": "chat",
        "provider_queue_id": "q-gc",
        "customer": {"customer_name": "Ann", "subject": "help"},
    }
    await spoke.deliver(event(RoutingEventType.NEW_INTERACTION, payload))
    (request,) = seen
    assert request.url.path == "/api/v2/conversations/messages/integration-1/inbound/open/message"
    sent = body(request)
    assert shapes.problems("OpenInboundNormalizedMessage", sent) == []
    assert sent["channel"]["messageId"] == "ev-1"
    assert sent["metadata"]["genesysQueueId"] == "q-gc"
    assert sent["metadata"]["omnirouteDocumentId"] == "doc-1"
    assert await spoke.links.get("doc-1") == "a5d8f2c1-7b3e-4e9a-b1c6-2f4d8e0a9c37"


async def test_outcome_transfer_and_end_act_on_the_conversation() -> None:
    conversation = fixture("message_conversation.json")
    alice = conversation["participants"][1]["user"]["id"]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/wrapupcodes"):
            return httpx.Response(200, json={"entities": [{"id": "w1", "name": "Resolved"}]})
        if request.method == "GET":
            return httpx.Response(200, json=conversation)
        return httpx.Response(202)

    spoke, seen = spoke_with(handler)
    await spoke.links.put("doc-1", conversation["id"])
    base = f"/api/v2/conversations/messages/{conversation['id']}"
    outcome = {"document_id": "doc-1", "outcome": "rejected", "external_segment_id": "p-9"}
    await spoke.deliver(event(RoutingEventType.OFFER_OUTCOME, outcome))
    transfer = {"document_id": "doc-1", "from": {"provider_agent_id": alice}, "to": {}}
    await spoke.deliver(
        event(RoutingEventType.TRANSFER_TO_QUEUE, transfer | {"provider_queue_id": "q2"})
    )
    end = {
        "document_id": "doc-1",
        "provider_agent_id": alice,
        "wrap_up_code_name": "Resolved",
        "notes": "done",
    }
    await spoke.deliver(event(RoutingEventType.END_INTERACTION, end))
    writes = [(r.method, r.url.path, body(r)) for r in seen if r.method != "GET"]
    holder = conversation["participants"][1]["id"]
    assert writes == [
        ("PATCH", f"{base}/participants/p-9", {"state": "disconnected"}),
        ("POST", f"{base}/participants/{holder}/replace", {"queueId": "q2"}),
        (
            "PATCH",
            f"{base}/participants/{holder}",
            {
                "state": "disconnected",
                "wrapup": {"code": "w1", "name": "Resolved", "notes": "done"},
            },
        ),
        ("PATCH", base, {"state": "disconnected"}),
    ]
    models = ["MediaParticipantRequest", "TransferRequest", "MediaParticipantRequest"]
    for model, (_, _, sent) in zip(models, writes, strict=False):
        assert shapes.problems(model, sent) == []


async def test_an_unknown_conversation_is_rejected_with_the_reason() -> None:
    spoke, _ = spoke_with(lambda _: httpx.Response(500))
    with pytest.raises(SpokeRejectedError, match="no Genesys conversation is known"):
        await spoke.deliver(event(RoutingEventType.END_INTERACTION, {"document_id": "gone"}))


async def test_presence_goes_to_the_mapped_definition_or_the_fallback() -> None:
    modified = "2026-11-25T09:00:00.000Z"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/presence/definitions":
            return httpx.Response(200, json=fixture("presence_definitions.json"))
        presence = {"presenceDefinition": {"id": "x"}, "modifiedDate": modified}
        return httpx.Response(200, json=presence)

    spoke, seen = spoke_with(handler, fallback_presence="Lunch")
    base = {"provider_agent_id": "u1", "at": "2026-11-25T10:00:00+00:00"}
    await spoke.deliver(
        event(RoutingEventType.AGENT_PRESENCE, base | {"provider_state": "On Queue"})
    )
    await spoke.deliver(event(RoutingEventType.AGENT_PRESENCE, base | {"provider_state": "Gone"}))
    patches = [body(r) for r in seen if r.method == "PATCH"]
    assert patches == [
        {"presenceDefinition": {"id": "e08eaf1b-ee47-4fa9-a231-1200e284798f"}},
        {"presenceDefinition": {"id": "3fd96123-badb-4f69-bc03-1b1ccc6d8014"}},
    ]
    # Changed in Genesys after our event was written: the late delivery does not overwrite it.
    modified = "2026-11-25T11:00:00.000Z"
    await spoke.deliver(
        event(RoutingEventType.AGENT_PRESENCE, base | {"provider_state": "On Queue"})
    )
    assert len([r for r in seen if r.method == "PATCH"]) == 2


async def test_presence_without_definition_or_fallback_is_rejected() -> None:
    spoke, _ = spoke_with(lambda _: httpx.Response(200, json=fixture("presence_definitions.json")))
    data = {"provider_agent_id": "u1", "provider_state": "Gone"}
    with pytest.raises(SpokeRejectedError, match="fallback_presence"):
        await spoke.deliver(event(RoutingEventType.AGENT_PRESENCE, data))


def test_inbound_needs_the_shared_secret() -> None:
    spoke = GenesysSpoke("gc", settings())
    raw = (FIXTURES / "presence_notification.json").read_bytes()
    with pytest.raises(SpokeAuthError, match="X-Omniroute-Secret"):
        spoke.parse_inbound({"X-Omniroute-Secret": "wrong"}, raw)
    with pytest.raises(SpokeAuthError):
        spoke.parse_inbound({}, raw)


def test_inbound_presence_sign_in_and_heartbeat() -> None:
    spoke = GenesysSpoke("gc", settings())
    headers = {"x-omniroute-secret": SECRET}
    notes = [fixture(n) for n in ("presence_notification.json", "signed_in.json", "heartbeat.json")]
    presence, signed_in = spoke.parse_inbound(headers, json.dumps(notes).encode())
    assert presence.type is InboundEventType.AGENT_PRESENCE
    assert presence.id == "3f1c9a0e-54d1-4bd4-a2f5-6c5e6a8b9d10"
    assert presence.provider_agent_id == "8b6b2ed4-5c1e-4b7b-9a55-2a2d3bc1f0a1"
    assert presence.state_name == "On Queue"
    assert presence.occurred_at == datetime(2026, 11, 25, 10, 15, 42, 118000, tzinfo=UTC)
    assert signed_in.type is InboundEventType.AGENT_SIGNED_IN
    assert (signed_in.email, signed_in.name) == ("alice@example.com", "Alice Agent")


def test_inbound_presence_uses_the_mapped_name_of_a_definition() -> None:
    definition = "e08eaf1b-ee47-4fa9-a231-1200e284798f"
    spoke = GenesysSpoke("gc", settings(presence_definitions={"Ready": definition}))
    raw = (FIXTURES / "presence_notification.json").read_bytes()
    (presence,) = spoke.parse_inbound({"X-Omniroute-Secret": SECRET}, raw)
    assert presence.state_name == "Ready"


def test_inbound_without_correlation_id_is_rejected() -> None:
    spoke = GenesysSpoke("gc", settings())
    note = fixture("presence_notification.json")
    del note["metadata"]
    with pytest.raises(SpokeRejectedError, match="CorrelationId"):
        spoke.parse_inbound({"X-Omniroute-Secret": SECRET}, json.dumps(note).encode())


def test_every_setting_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "spokes" / "genesys.md").read_text()
    missing = [name for name in GenesysSettings.model_fields if f"`{name}`" not in doc]
    assert missing == []


def test_an_agent_alert_notification_is_a_work_offer_and_its_end_a_rescind() -> None:
    note = fixture("user_conversation_alert.json")
    model = "ConversationMessageEventTopicMessageConversation"
    assert shapes.problems(model, note["eventBody"]) == []
    spoke = GenesysSpoke("gc", settings())
    headers = {"X-Omniroute-Secret": SECRET}
    (offered,) = spoke.parse_inbound(headers, json.dumps(note).encode())
    assert offered.type is InboundEventType.WORK_OFFERED
    assert offered.id == "genesys-alert-c1a2b3c4-0000-4000-8000-000000000002"
    assert offered.provider_agent_id == "8b6b2ed4-5c1e-4b7b-9a55-2a2d3bc1f0a1"
    assert offered.offer is not None
    assert offered.offer.document_id == "b82fec73a1f9000000000001"
    assert offered.offer.external_segment_id == "c1a2b3c4-0000-4000-8000-000000000002"
    assert offered.offer.provider_queue_id == "2b1f3f5e-8a67-4c1d-9e2f-6d3c4b5a6978"
    assert offered.offer.timeout_s == 30.0
    # The same alert notified again is the same event; Genesys taking it back rescinds it.
    alerting = note["eventBody"]["participants"][2]
    alerting |= {"state": "disconnected", "endTime": "2026-11-25T10:21:03.501Z"}
    (rescinded,) = spoke.parse_inbound(headers, json.dumps(note).encode())
    assert rescinded.type is InboundEventType.WORK_RESCINDED
    assert rescinded.offer is not None
    assert rescinded.offer.external_segment_id == alerting["id"]
    # A conversation Omniroute did not make is none of its business.
    del note["eventBody"]["participants"][0]["attributes"]
    assert spoke.parse_inbound(headers, json.dumps(note).encode()) == []


async def test_definition_labels_name_inbound_presence() -> None:
    spoke, _ = spoke_with(lambda _: httpx.Response(200, json=fixture("presence_definitions.json")))
    await spoke.health()
    note = fixture("presence_notification.json")
    note["eventBody"]["presenceDefinition"] = {
        "id": "3fd96123-badb-4f69-bc03-1b1ccc6d8014",
        "systemPresence": "Meal",
    }
    (presence,) = spoke.parse_inbound({"X-Omniroute-Secret": SECRET}, json.dumps(note).encode())
    assert presence.state_name == "Lunch"


async def test_set_up_and_unload_while_genesys_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    down = "http://127.0.0.1:9"
    spoke = GenesysSpoke("gc", settings(api_base_url=down, login_base_url=down, timeout_s=2))
    await spoke.setup()
    try:
        with pytest.raises(SpokeUnavailableError):
            await spoke.health()
    finally:
        await spoke.unload()
    assert spoke._http is None


def test_an_alert_while_another_agent_is_connected_is_a_transfer_from_that_agent() -> None:
    note = fixture("user_conversation_alert.json")
    spoke = GenesysSpoke("gc", settings())
    headers = {"X-Omniroute-Secret": SECRET}
    (plain,) = spoke.parse_inbound(headers, json.dumps(note).encode())
    assert plain.offer is not None
    assert plain.offer.transfer is None  # the earlier agent left: a plain offer
    holder = note["eventBody"]["participants"][1]
    holder["state"] = "connected"
    (moved,) = spoke.parse_inbound(headers, json.dumps(note).encode())
    assert moved.offer is not None
    assert moved.offer.document_id == "b82fec73a1f9000000000001"
    assert moved.offer.transfer is not None
    assert moved.offer.transfer.type.value == "blind"
    assert moved.offer.transfer.from_provider_agent_id == holder["user"]["id"]
