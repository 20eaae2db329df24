"""The webhook spoke against a real HTTP receiver on 127.0.0.1, replaying recorded payloads."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from omniroute.domain.outbound import RoutingEventType
from omniroute.domain.profile import ProfileGroup, ProfileSkill, ProviderProfile
from omniroute.spokes import registry, signing
from omniroute.spokes.base import (
    Capability,
    CatalogEntry,
    CatalogKind,
    InboundEventType,
    InboundOffer,
    RoutingEvent,
    SpokeAuthError,
    SpokeError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.events_schema import OUTGOING_EVENT
from omniroute.spokes.webhook import WebhookSettings, WebhookSpoke
from omniroute.spokes.webhook.spoke import envelope, retry_after_s
from tests.spokes.payloads import routing_events
from tests.spokes.receiver import Receiver, Reply, running

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "webhook"
SECRET = "whsec-test-0123456789abcdefghijklmnopqrstuv"
OTHER_SECRET = "whsec-other-0123456789abcdefghijklmnopqrstu"


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


def fixture_json(*parts: str) -> Any:
    return json.loads(fixture_bytes(*parts))


def settings(receiver: Receiver, **fields: Any) -> WebhookSettings:
    values = {
        "url": f"{receiver.url}/hook",
        "secret": SECRET,
        "catalog_url": f"{receiver.url}/catalog",
        "timeout_s": 5,
    }
    return WebhookSettings.model_validate(values | fields)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running(Receiver()) as rec:
        yield rec


@pytest.fixture
async def spoke(receiver: Receiver) -> AsyncIterator[WebhookSpoke]:
    hub = WebhookSpoke("acme", settings(receiver))
    await hub.setup()
    yield hub
    await hub.unload()


@pytest.fixture
def event() -> RoutingEvent:
    return routing_events()[RoutingEventType.NEW_INTERACTION]


# -- manifest, settings, discovery -------------------------------------------------------


def test_manifest_comes_from_manifest_json_and_the_settings_model() -> None:
    raw = json.loads((ROOT / "omniroute/spokes/webhook/manifest.json").read_text())
    manifest = WebhookSpoke.manifest
    assert (manifest.name, manifest.version, manifest.title) == (
        raw["name"],
        raw["version"],
        raw["title"],
    )
    assert manifest.supports == frozenset(Capability)
    assert manifest.settings_model is WebhookSettings
    assert (ROOT / manifest.documentation).is_file()


def test_entry_point_discovers_the_webhook_spoke() -> None:
    assert registry.available_spokes()["webhook"] is WebhookSpoke
    assert registry.spoke_class("webhook") is WebhookSpoke


def test_settings_defaults_and_refusals() -> None:
    ok = WebhookSettings.model_validate({"url": "https://cc.example.test/hook", "secret": SECRET})
    assert (ok.catalog_url, ok.timeout_s, ok.tolerance_s) == (None, 10, 300)
    assert SECRET not in repr(ok)
    assert WebhookSettings.model_json_schema()["properties"]["secret"]["writeOnly"] is True
    for bad in (
        {"url": "https://cc.example.test/hook", "secret": "too-short"},
        {"url": "not a url", "secret": SECRET},
        {"url": "https://cc.example.test/hook", "secret": SECRET, "timeout_s": 0},
        {"url": "https://cc.example.test/hook", "secret": SECRET, "surprise": 1},
    ):
        with pytest.raises(ValidationError):
            WebhookSettings.model_validate(bad)


async def test_calls_before_setup_are_a_programming_error(
    receiver: Receiver, event: RoutingEvent
) -> None:
    hub = WebhookSpoke("acme", settings(receiver))
    with pytest.raises(RuntimeError, match="setup"):
        await hub.deliver(event)
    await hub.unload()


# -- deliver -------------------------------------------------------------------------------


async def test_deliver_posts_a_signed_envelope_with_the_idempotency_key(
    receiver: Receiver, spoke: WebhookSpoke
) -> None:
    receiver.on("POST", "/hook", Reply(204))
    events = routing_events()
    for event in events.values():
        await spoke.deliver(event)
    assert len(receiver.requests) == len(events)
    for seen, event in zip(receiver.requests, events.values(), strict=True):
        assert (seen.method, seen.path) == ("POST", "/hook")
        assert signing.verify(SECRET, seen.headers, seen.body) > 0
        assert seen.headers["idempotency-key"] == event.id
        assert seen.headers["content-type"] == "application/json"
        sent = json.loads(seen.body)
        assert sent == envelope(event)
        assert sent["schema_version"] == 1
        assert sent["spoke"] == "acme"
        OUTGOING_EVENT.validate_python(sent, extra="forbid")


async def test_a_retry_carries_the_same_idempotency_key(
    receiver: Receiver, spoke: WebhookSpoke, event: RoutingEvent
) -> None:
    receiver.on("POST", "/hook", Reply(500), Reply(200))
    with pytest.raises(SpokeUnavailableError):
        await spoke.deliver(event)
    retry = RoutingEvent(**{**_fields(event), "attempt": 2})
    await spoke.deliver(retry)
    first, second = receiver.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == event.id
    assert json.loads(second.body)["attempt"] == 2


def _fields(event: RoutingEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in RoutingEvent.__dataclass_fields__}


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(401, {"error": "bad signature"}), SpokeAuthError, None),
        (Reply(403, "forbidden"), SpokeAuthError, None),
        (Reply(429, "slow down", {"Retry-After": "7"}), SpokeUnavailableError, 7.0),
        (Reply(503, "maintenance", {"Retry-After": "2.5"}), SpokeUnavailableError, 2.5),
        (Reply(503, "maintenance"), SpokeUnavailableError, None),
        (Reply(500, "boom", {"Retry-After": "9"}), SpokeUnavailableError, None),
        (Reply(502, "bad gateway"), SpokeUnavailableError, None),
        (Reply(400, {"error": "unknown queue PQ-support"}), SpokeRejectedError, None),
        (Reply(404, "no such hook"), SpokeRejectedError, None),
        (Reply(422, {"error": "schema"}), SpokeRejectedError, None),
        (Reply(302, "", {"Location": "/elsewhere"}), SpokeRejectedError, None),
    ],
    ids=lambda v: str(v.status) if isinstance(v, Reply) else None,
)
async def test_statuses_map_to_core_errors(
    receiver: Receiver,
    spoke: WebhookSpoke,
    event: RoutingEvent,
    reply: Reply,
    error: type[SpokeError],
    retry_after: float | None,
) -> None:
    receiver.on("POST", "/hook", reply)
    with pytest.raises(error) as info:
        await spoke.deliver(event)
    assert type(info.value) is error
    message = str(info.value)
    assert f"answered {reply.status}" in message
    assert "POST http://127.0.0.1" in message
    assert SECRET not in message
    excerpt = reply.content().decode()
    assert " ".join(excerpt.split()) in message
    if isinstance(info.value, SpokeUnavailableError):
        assert info.value.retry_after_s == retry_after
    if reply.status == 302:
        assert "redirects are not followed" in message


async def test_a_long_error_body_is_cut_to_an_excerpt(
    receiver: Receiver, spoke: WebhookSpoke, event: RoutingEvent
) -> None:
    receiver.on("POST", "/hook", Reply(400, "x" * 5000))
    with pytest.raises(SpokeRejectedError) as info:
        await spoke.deliver(event)
    assert len(str(info.value)) < 400
    assert str(info.value).endswith("...")


async def test_no_answer_in_time_is_unavailable(receiver: Receiver, event: RoutingEvent) -> None:
    receiver.on("POST", "/hook", Reply(hang=True))
    hub = WebhookSpoke("acme", settings(receiver, timeout_s=0.2))
    await hub.setup()
    try:
        with pytest.raises(SpokeUnavailableError, match=r"no answer within 0\.2s") as info:
            await hub.deliver(event)
    finally:
        await hub.unload()
    assert info.value.retry_after_s is None
    assert len(receiver.requests) == 1


async def test_nobody_listening_is_unavailable(event: RoutingEvent) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hub = WebhookSpoke(
        "acme",
        WebhookSettings.model_validate({"url": f"http://127.0.0.1:{port}/hook", "secret": SECRET}),
    )
    await hub.setup()
    try:
        with pytest.raises(SpokeUnavailableError, match="ConnectError"):
            await hub.deliver(event)
    finally:
        await hub.unload()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert retry_after_s("120", now) == 120.0
    assert retry_after_s(" 1.5 ", now) == 1.5
    assert retry_after_s("-3", now) == 0.0
    assert retry_after_s("Mon, 02 Mar 2026 09:00:30 GMT", now) == 30.0
    assert retry_after_s("soon", now) is None
    assert retry_after_s("nan", now) is None
    assert retry_after_s(None, now) is None


# -- health ----------------------------------------------------------------------------------


async def test_health_is_a_signed_get_of_the_catalog_health(
    receiver: Receiver, spoke: WebhookSpoke
) -> None:
    receiver.on("GET", "/catalog/health", Reply(200, {"status": "ok"}))
    await spoke.health()
    (seen,) = receiver.requests
    assert (seen.method, seen.path, seen.body) == ("GET", "/catalog/health", b"")
    signing.verify(SECRET, seen.headers, b"")


async def test_health_without_a_catalog_gets_the_webhook_url(receiver: Receiver) -> None:
    receiver.on("GET", "/hook", Reply(200))
    hub = WebhookSpoke("acme", settings(receiver, catalog_url=None, url=f"{receiver.url}/hook?t=1"))
    await hub.setup()
    try:
        await hub.health()
    finally:
        await hub.unload()
    (seen,) = receiver.requests
    assert (seen.method, seen.path, seen.query) == ("GET", "/hook", "t=1&health=1")
    signing.verify(SECRET, seen.headers, b"")


async def test_health_with_the_wrong_secret_is_an_auth_error(
    receiver: Receiver, spoke: WebhookSpoke
) -> None:
    receiver.on("GET", "/catalog/health", Reply(401, {"error": "signature does not match"}))
    with pytest.raises(SpokeAuthError, match="signature does not match"):
        await spoke.health()


# -- catalog -----------------------------------------------------------------------------------


async def test_catalog_follows_next_across_pages_with_signed_gets(
    receiver: Receiver, spoke: WebhookSpoke
) -> None:
    receiver.on("GET", "/catalog/skills", Reply(200, fixture_json("catalog", "skills_page1.json")))
    receiver.on(
        "GET", "/catalog/skills?page=2", Reply(200, fixture_json("catalog", "skills_page2.json"))
    )
    entries = await spoke.list_catalog(CatalogKind.SKILLS)
    assert entries == [
        CatalogEntry("sk-en", "English", {"description": "Speaks English"}),
        CatalogEntry("sk-fr", "French", {"description": "Speaks French"}),
        CatalogEntry(
            "301", "Billing", {"description": "Invoices and refunds", "category": "finance"}
        ),
    ]
    assert [(r.path, r.query) for r in receiver.requests] == [
        ("/catalog/skills", ""),
        ("/catalog/skills", "page=2"),
    ]
    for seen in receiver.requests:
        signing.verify(SECRET, seen.headers, seen.body)


@pytest.mark.parametrize(
    ("kind", "path", "fixture"),
    [
        (CatalogKind.QUEUES, "/catalog/queues", "queues.json"),
        (CatalogKind.WRAP_UP_CODES, "/catalog/wrap-up-codes", "wrap_up_codes.json"),
        (CatalogKind.AGENTS, "/catalog/agents", "agents.json"),
    ],
)
async def test_each_catalog_kind_has_its_path(
    receiver: Receiver, spoke: WebhookSpoke, kind: CatalogKind, path: str, fixture: str
) -> None:
    page = fixture_json("catalog", fixture)
    receiver.on("GET", path, Reply(200, page))
    entries = await spoke.list_catalog(kind)
    expected = [
        CatalogEntry(
            str(i["id"]), i["name"], {k: v for k, v in i.items() if k not in ("id", "name")}
        )
        for i in page["items"]
    ]
    assert entries == expected
    assert [r.path for r in receiver.requests] == [path]


async def test_an_id_listed_twice_keeps_its_last_description(
    receiver: Receiver, spoke: WebhookSpoke
) -> None:
    receiver.on(
        "GET",
        "/catalog/skills",
        Reply(200, {"items": [{"id": "a", "name": "Old"}], "next": "?page=2"}),
    )
    receiver.on(
        "GET",
        "/catalog/skills?page=2",
        Reply(200, {"items": [{"id": "a", "name": "New"}, {"id": "b", "name": "B"}]}),
    )
    entries = await spoke.list_catalog(CatalogKind.SKILLS)
    assert [(e.provider_id, e.name) for e in entries] == [("a", "New"), ("b", "B")]


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b"<html>oops</html>", "not a catalog page"),
        ({"items": [{"name": "no id"}]}, "items.0.id: Field required"),
        ({"entries": []}, "items: Field required"),
        ({"items": [], "next": "https://elsewhere.example.test/skills?page=2"}, "another host"),
        ({"items": [], "next": "/catalog/skills"}, "loops back"),
    ],
)
async def test_a_bad_catalog_page_is_rejected(
    receiver: Receiver, spoke: WebhookSpoke, page: Any, message: str
) -> None:
    receiver.on("GET", "/catalog/skills", Reply(200, page))
    with pytest.raises(SpokeRejectedError, match=message):
        await spoke.list_catalog(CatalogKind.SKILLS)
    assert len(receiver.requests) == 1


async def test_catalog_errors_map_like_deliveries(receiver: Receiver, spoke: WebhookSpoke) -> None:
    receiver.on("GET", "/catalog/agents", Reply(429, "", {"Retry-After": "3"}))
    with pytest.raises(SpokeUnavailableError) as info:
        await spoke.list_catalog(CatalogKind.AGENTS)
    assert info.value.retry_after_s == 3.0


async def test_no_catalog_url_means_no_catalog(receiver: Receiver) -> None:
    hub = WebhookSpoke("acme", settings(receiver, catalog_url=None))
    with pytest.raises(SpokeRejectedError, match="no catalog_url"):
        await hub.list_catalog(CatalogKind.QUEUES)
    assert receiver.requests == []


# -- inbound ------------------------------------------------------------------------------------


def signed(body: bytes, secret: str = SECRET, now: float | None = None) -> dict[str, str]:
    """Headers as an HTTP framework hands them over: lower-case names."""
    return {k.lower(): v for k, v in signing.sign(secret, body, now).items()} | {
        "content-type": "application/json"
    }


def inbound_spoke() -> WebhookSpoke:
    return WebhookSpoke(
        "acme",
        WebhookSettings.model_validate(
            {"url": "https://cc.example.test/hook", "secret": SECRET, "tolerance_s": 60}
        ),
    )


def test_inbound_signed_in_from_the_recorded_payload() -> None:
    body = fixture_bytes("inbound", "agent_signed_in.json")
    (event,) = inbound_spoke().parse_inbound(signed(body), body)
    assert event.type is InboundEventType.AGENT_SIGNED_IN
    assert (event.id, event.provider_agent_id, event.email, event.name) == (
        "in-7f3c9a2e-0001",
        "P-alice",
        "alice@example.test",
        "Alice Martin",
    )
    assert event.occurred_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert event.state_name is None


def test_inbound_presence_from_the_recorded_payload() -> None:
    body = fixture_bytes("inbound", "agent_presence.json")
    (event,) = inbound_spoke().parse_inbound(signed(body), body)
    assert event.type is InboundEventType.AGENT_PRESENCE
    assert (event.provider_agent_id, event.state_name) == ("P-alice", "On Queue")


def test_inbound_work_offered_and_rescinded_from_recorded_payloads() -> None:
    body = fixture_bytes("inbound", "work_offered.json")
    (offered,) = inbound_spoke().parse_inbound(signed(body), body)
    assert offered.type is InboundEventType.WORK_OFFERED
    assert offered.provider_agent_id == "P-alice"
    assert offered.occurred_at == datetime(2026, 3, 2, 9, 1, tzinfo=UTC)
    assert offered.offer == InboundOffer(
        external_segment_id="res-4411",
        work_item_id="wi-ext-1",
        provider_queue_id="PQ-support",
        allowed_to_decline=False,
        timeout_s=25,
    )
    body = fixture_bytes("inbound", "work_rescinded.json")
    (rescinded,) = inbound_spoke().parse_inbound(signed(body), body)
    assert rescinded.type is InboundEventType.WORK_RESCINDED
    assert rescinded.offer == InboundOffer(external_segment_id="res-4411")


def test_inbound_batch_keeps_order_and_ignores_unknown_fields() -> None:
    body = fixture_bytes("inbound", "batch.json")
    events = inbound_spoke().parse_inbound(signed(body), body)
    assert [(e.id, e.type.value) for e in events] == [
        ("in-7f3c9a2e-0003", "agent_signed_in"),
        ("in-7f3c9a2e-0004", "agent_presence"),
    ]
    assert events[1].state_name == "Away"


def test_inbound_empty_batch_is_nothing() -> None:
    assert inbound_spoke().parse_inbound(signed(b"[]"), b"[]") == []


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (lambda body: signed(body, OTHER_SECRET), "signature does not match"),
        (lambda body: signed(body, now=time.time() - 61), "refusing a possible replay"),
        (lambda body: signed(body, now=time.time() + 61), "refusing a possible replay"),
        (lambda body: {"content-type": "application/json"}, "missing"),
        (
            lambda body: signed(body) | {"x-omniroute-signature": "v0=abc"},
            "signature does not match",
        ),
    ],
    ids=["wrong-secret", "stale", "future", "unsigned", "unknown-scheme"],
)
def test_inbound_refuses_a_forged_or_replayed_request(headers: Any, message: str) -> None:
    body = fixture_bytes("inbound", "agent_presence.json")
    with pytest.raises(SpokeAuthError, match=message):
        inbound_spoke().parse_inbound(headers(body), body)


@pytest.mark.parametrize("separator", [",", ", ", " , "])
def test_inbound_accepts_a_rotation_header_with_spaces(separator: str) -> None:
    body = fixture_bytes("inbound", "agent_presence.json")
    headers = signed(body)
    good = headers["x-omniroute-signature"]
    headers["x-omniroute-signature"] = f"v1=bad{separator}{good}"
    (event,) = inbound_spoke().parse_inbound(headers, body)
    assert event.state_name == "On Queue"


def test_inbound_signature_covers_the_exact_body() -> None:
    body = fixture_bytes("inbound", "agent_presence.json")
    tampered = body.replace(b"On Queue", b"Offline")
    with pytest.raises(SpokeAuthError):
        inbound_spoke().parse_inbound(signed(body), tampered)


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("malformed_no_agent.json", "data.provider_agent_id: Field required"),
        ("malformed_presence_without_state.json", r"\[1\]\.data\.state_name: Field required"),
        ("malformed_unknown_type.json", "'agent_logged_out'"),
        ("malformed_schema_version.json", "schema_version: 2 is not supported"),
        ("malformed_naive_time.json", "data.occurred_at: .*timezone"),
        ("malformed_offer_two_targets.json", "exactly one of document_id and work_item_id"),
    ],
)
def test_inbound_rejects_a_malformed_recorded_body(fixture: str, message: str) -> None:
    body = fixture_bytes("inbound", fixture)
    with pytest.raises(SpokeRejectedError, match=message):
        inbound_spoke().parse_inbound(signed(body), body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"42", "an event object or a list"),
        (b"[1]", r"^\[0\]: Input should be"),
        (json.dumps([{}] * 501).encode(), "at most 500"),
    ],
)
def test_inbound_rejects_bodies_that_are_not_events(body: bytes, message: str) -> None:
    with pytest.raises(SpokeRejectedError, match=message):
        inbound_spoke().parse_inbound(signed(body), body)


# -- agent profiles ----------------------------------------------------------------------------


async def test_profile_is_a_signed_get_read_into_the_core_profile(
    receiver: Receiver, spoke: WebhookSpoke
) -> None:
    answer: dict[str, Any] = {
        "id": "PA 7",
        "name": "Ann Lee",
        "email": "ann@example.com",
        "skills": [{"id": "sk-en", "name": "English", "level": 3}],
        "groups": [{"id": "PQ-support", "name": "Support"}],
        "capacity": {"chat": 3, "email": 50_000},
    }
    receiver.on("GET", "/catalog/agents/PA 7/profile", Reply(200, answer))
    profile = await spoke.fetch_profile("PA 7")
    (seen,) = receiver.requests
    assert signing.verify(SECRET, seen.headers, seen.body) > 0
    assert profile == ProviderProfile(
        "PA 7",
        "Ann Lee",
        "ann@example.com",
        (ProfileSkill("sk-en", "English", 3),),
        (ProfileGroup("PQ-support", "Support"),),
        {"chat": 3, "email": 10_000},
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "someone-else"},
        {"id": "PA-7", "skills": [{"id": "sk", "name": "S", "level": 11}]},
        {"id": "PA-7", "favourite_colour": "blue"},
    ],
)
async def test_a_profile_that_is_not_the_agents_is_refused(
    receiver: Receiver, spoke: WebhookSpoke, answer: dict[str, object]
) -> None:
    receiver.on("GET", "/catalog/agents/PA-7/profile", Reply(200, answer))
    with pytest.raises(SpokeRejectedError):
        await spoke.fetch_profile("PA-7")


async def test_no_catalog_url_means_no_profiles(receiver: Receiver) -> None:
    hub = WebhookSpoke("acme", settings(receiver, catalog_url=None))
    await hub.setup()
    try:
        with pytest.raises(SpokeRejectedError, match="no catalog_url"):
            await hub.fetch_profile("PA-7")
    finally:
        await hub.unload()
