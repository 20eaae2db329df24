"""Spoke administration and the outbox over the API, with the fake spoke and the real dispatcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from omniroute.engine.dispatcher import Dispatcher
from omniroute.spokes.base import SpokeAuthError, SpokeRejectedError, SpokeUnavailableError
from omniroute.spokes.manager import SpokeManager, SpokeStatus
from omniroute.store import tables as t
from tests.api.conftest import Api
from tests.api.test_admin_crud import error, get, patch, post
from tests.door_commands import SendOutboxEvents
from tests.fake_spoke import FakeProvider, FakeSpoke, install

SPOKE = "acme"
NEW = {
    "name": SPOKE,
    "kind": "fake",
    "settings": {"url": "https://provider.test", "token": "s3cret"},
    "presence_map": {"available": "On Queue", "away": "Away"},
}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """The fake spoke kind, installed."""
    return install(monkeypatch)


def spokes(api: Api) -> SpokeManager:
    """The app's spoke manager."""
    manager: SpokeManager = api.app.state.spokes
    return manager


def dispatcher(api: Api) -> Dispatcher:
    """The app's outbox dispatcher."""
    found: Dispatcher = api.app.state.dispatcher
    return found


async def settle(api: Api) -> None:
    """Wait until the dispatcher has nothing due and nothing in flight."""
    await asyncio.wait_for(dispatcher(api).idle(), 10)


async def send(api: Api, key: str, *ns: int, spoke: str = SPOKE) -> None:
    """Routing events numbered `ns` for one ordering key, through the engine."""

    await api.engine.execute(SendOutboxEvents(spoke, key, ns))


async def stored(api: Api, name: str = SPOKE) -> t.SpokeRow:
    """The stored spoke row."""
    async with api.app.state.db.session() as s:
        row: t.SpokeRow | None = await s.get(t.SpokeRow, name)
    assert row is not None
    return row


# -- configuration --------------------------------------------------------------------


async def test_spoke_crud_masks_secrets_and_reloads(api: Api, provider: FakeProvider) -> None:
    created = await post(api, "/spokes", NEW)
    assert created["settings"] == {"url": "https://provider.test", "token": "********"}
    assert created["status"] == "loaded"
    assert created["status_error"] is None
    assert isinstance(spokes(api).get(SPOKE), FakeSpoke)
    assert api.engine.state.spokes[SPOKE].provider_state("available") == "On Queue"
    assert (await stored(api)).settings["token"] == "s3cret"
    assert await get(api, f"/spokes/{SPOKE}") == created
    assert [s["name"] for s in await get(api, "/spokes")] == [SPOKE]

    # A client sends back what it read: the masked secret stays as stored.
    changed = await patch(
        api,
        f"/spokes/{SPOKE}",
        {"settings": {"url": "https://other.test", "token": "********"}},
    )
    assert changed["settings"] == {"url": "https://other.test", "token": "********"}
    assert (await stored(api)).settings == {"url": "https://other.test", "token": "s3cret"}
    assert provider.setups == 2
    assert provider.unloads == 1
    await patch(api, f"/spokes/{SPOKE}", {"settings": {"token": "renewed"}})
    assert (await stored(api)).settings["token"] == "renewed"
    assert spokes(api).get(SPOKE).settings.model_dump()["url"] == "https://other.test"

    await patch(api, f"/spokes/{SPOKE}", {"presence_map": {"available": "Ready"}})
    assert api.engine.state.spokes[SPOKE].provider_state("available") == "Ready"
    disabled = await patch(api, f"/spokes/{SPOKE}", {"enabled": False})
    assert disabled["status"] == "disabled"
    assert spokes(api).status(SPOKE) == (SpokeStatus.DISABLED, None)
    assert not api.engine.state.spokes[SPOKE].enabled

    r = await api.client.delete(f"/spokes/{SPOKE}", headers=api.auth("admin"))
    assert r.status_code == 204, r.text
    error(await api.client.get(f"/spokes/{SPOKE}", headers=api.auth("admin")), 404, "NOT_FOUND")
    assert spokes(api).status(SPOKE) is None
    assert SPOKE not in api.engine.state.spokes


async def test_settings_are_validated_against_the_kinds_manifest(
    api: Api, provider: FakeProvider
) -> None:
    async def refused(body: dict[str, Any], field: str) -> str:
        r = await api.client.post("/spokes", json=body, headers=api.auth("admin"))
        return str(error(r, 422, "VALIDATION_ERROR", field)["message"])

    message = await refused(NEW | {"settings": {"url": "ftp://x"}}, "settings.url")
    assert message.startswith("settings.url: ")
    assert "ftp://x" not in message
    await refused(NEW | {"settings": {}}, "settings.url")
    await refused(NEW | {"settings": {"url": "https://p.test", "bogus": 1}}, "settings.bogus")
    await refused(
        NEW | {"settings": {"url": "https://p.test", "token": "********"}}, "settings.token"
    )
    kinds = await refused(NEW | {"kind": "martian"}, "kind")
    assert "martian" in kinds
    assert "fake" in kinds
    assert "webhook" in kinds
    await refused(NEW | {"name": "Not A Name"}, "name")

    await post(api, "/spokes", NEW)
    r = await api.client.post("/spokes", json=NEW, headers=api.auth("admin"))
    error(r, 409, "CONFLICT", "name")
    r = await api.client.patch(
        f"/spokes/{SPOKE}", json={"settings": {"url": "nope"}}, headers=api.auth("admin")
    )
    error(r, 422, "VALIDATION_ERROR", "settings.url")
    assert (await stored(api)).settings["url"] == "https://provider.test"
    r = await api.client.patch(
        f"/spokes/{SPOKE}", json={"presence_map": {"nope": "X"}}, headers=api.auth("admin")
    )
    error(r, 404, "NOT_FOUND", "presence_map.nope")


async def test_only_administrators_manage_spokes(api: Api, provider: FakeProvider) -> None:
    for who in ("alice", "integration"):
        for method, path in (
            ("GET", "/spokes"),
            ("POST", "/spokes"),
            ("GET", "/outbox"),
            ("POST", "/outbox/1/retry"),
            ("GET", f"/spokes/{SPOKE}/incidents"),
        ):
            r = await api.client.request(method, path, json=NEW, headers=api.auth(who))
            error(r, 403, "FORBIDDEN")
    r = await api.client.get("/spokes")
    error(r, 401, "UNAUTHENTICATED")


async def test_installed_kinds_are_listed_with_their_settings_schema(
    api: Api, provider: FakeProvider
) -> None:
    kinds = {k["name"]: k for k in await get(api, "/spoke-kinds")}
    assert {"fake", "webhook"} <= set(kinds)
    assert kinds["fake"]["supports"] == ["routing"]
    assert kinds["fake"]["settings_schema"]["required"] == ["url"]


async def test_delete_is_refused_while_queues_or_undelivered_events_use_the_spoke(
    api: Api, provider: FakeProvider
) -> None:
    await post(api, "/spokes", NEW)
    queue = await post(
        api,
        "/queues",
        {
            "id": "ext",
            "name": "External",
            "channels": ["chat"],
            "rule_id": "standard",
            "routing_mode": "external",
            "spoke": SPOKE,
            "provider_queue_id": "PQ1",
        },
    )
    r = await api.client.delete(f"/spokes/{SPOKE}", headers=api.auth("admin"))
    assert "queues 'ext'" in error(r, 409, "IN_USE")["message"]
    r = await api.client.delete(f"/queues/{queue['id']}", headers=api.auth("admin"))
    assert r.status_code == 204, r.text

    provider.fail_rejected(1)
    await send(api, "doc-1", 0)
    await settle(api)
    r = await api.client.delete(f"/spokes/{SPOKE}", headers=api.auth("admin"))
    assert "undelivered outbox events" in error(r, 409, "IN_USE")["message"]
    (dead,) = await get(api, "/outbox?state=dead")
    await post_ok(api, f"/outbox/{dead['seq']}/discard")
    r = await api.client.delete(f"/spokes/{SPOKE}", headers=api.auth("admin"))
    assert r.status_code == 204, r.text


# -- health ---------------------------------------------------------------------------


async def post_ok(api: Api, path: str) -> Any:
    """POST without a body and return the JSON of a 200 answer."""
    r = await api.client.post(path, headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_health_check_maps_spoke_errors_to_502(api: Api, provider: FakeProvider) -> None:
    await post(api, "/spokes", NEW)
    ok = await post_ok(api, f"/spokes/{SPOKE}/health")
    assert ok["status"] == "ok"
    assert ok["name"] == SPOKE
    for failure, code in (
        (SpokeUnavailableError("timeout"), "SPOKE_UNAVAILABLE"),
        (SpokeAuthError("bad token"), "SPOKE_AUTH_FAILED"),
        (SpokeRejectedError("no such account"), "SPOKE_REJECTED"),
    ):
        provider.health_error = failure
        r = await api.client.post(f"/spokes/{SPOKE}/health", headers=api.auth("admin"))
        assert str(failure) in error(r, 502, code)["message"]
    r = await api.client.post("/spokes/nobody/health", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND")
    await patch(api, f"/spokes/{SPOKE}", {"enabled": False})
    r = await api.client.post(f"/spokes/{SPOKE}/health", headers=api.auth("admin"))
    assert "disabled" in error(r, 502, "SPOKE_UNAVAILABLE")["message"]


# -- the outbox -----------------------------------------------------------------------


async def test_outbox_shows_dead_and_blocked_events_and_retries_them(
    api: Api, provider: FakeProvider
) -> None:
    await post(api, "/spokes", NEW)
    provider.fail_rejected(1)
    await send(api, "doc-1", 0)
    await settle(api)
    await send(api, "doc-1", 1)
    await send(api, "doc-2", 2)
    await settle(api)

    waiting = await get(api, "/outbox")
    assert [(e["state"], e["payload"]["n"]) for e in waiting] == [("dead", 0), ("pending", 1)]
    dead, blocked = waiting
    assert dead["last_error"] == "SpokeRejectedError: unknown queue"
    assert dead["attempts"] == 1
    assert dead["next_attempt_at"] is None
    assert dead["blocked_by"] is None
    assert blocked["blocked_by"] == dead["seq"]
    assert blocked["attempts"] == 0
    assert blocked["ordering_key"] == "doc-1"
    assert [e["payload"]["n"] for e in await get(api, "/outbox?state=delivered")] == [2]
    assert await get(api, "/outbox?state=pending&spoke=other") == []
    assert (await get(api, f"/outbox/{blocked['seq']}"))["blocked_by"] == dead["seq"]
    r = await api.client.get("/outbox?state=lost", headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", "state")

    retried = await post_ok(api, f"/outbox/{dead['seq']}/retry")
    # The dispatcher is woken at once and may have delivered it before the answer was read.
    assert (retried["state"], retried["attempts"]) in {("pending", 0), ("delivered", 1)}
    await settle(api)
    assert await get(api, "/outbox") == []
    assert provider.by_key() == {"doc-1": [0, 1], "doc-2": [2]}
    r = await api.client.post(f"/outbox/{dead['seq']}/retry", headers=api.auth("admin"))
    error(r, 409, "INVALID_STATE_TRANSITION")
    r = await api.client.post("/outbox/999/retry", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND")


async def test_discard_and_retry_all_dead(api: Api, provider: FakeProvider) -> None:
    await post(api, "/spokes", NEW)
    provider.fail_rejected(2)
    await send(api, "doc-1", 0, 1)
    await send(api, "doc-2", 2)
    await settle(api)
    dead = await get(api, "/outbox?state=dead")
    assert [e["payload"]["n"] for e in dead] == [0, 2]

    discarded = await post_ok(api, f"/outbox/{dead[0]['seq']}/discard")
    assert discarded["state"] == "discarded"
    await settle(api)
    assert provider.by_key() == {"doc-1": [1]}
    assert [e["payload"]["n"] for e in await get(api, "/outbox?state=discarded")] == [0]

    assert await post_ok(api, "/outbox/retry-dead") == {"retried": 1}
    await settle(api)
    assert provider.by_key() == {"doc-1": [1], "doc-2": [2]}
    assert await get(api, "/outbox") == []
    r = await api.client.post(f"/outbox/{dead[0]['seq']}/discard", headers=api.auth("admin"))
    error(r, 409, "INVALID_STATE_TRANSITION")


async def test_renewed_credentials_resend_waiting_events_at_once(
    api: Api, provider: FakeProvider
) -> None:
    await post(api, "/spokes", NEW)
    provider.fail_auth(1)
    await send(api, "doc-1", 0, 1)
    await settle(api)
    (head, _) = await get(api, "/outbox")
    assert head["last_error"] == "SpokeAuthError: token expired"
    assert head["next_attempt_at"] > head["created_at"]

    (incident,) = await get(api, f"/spokes/{SPOKE}/incidents")
    assert incident["kind"] == "auth_failed"
    assert "renew" in incident["message"]

    await patch(api, f"/spokes/{SPOKE}", {"settings": {"token": "renewed"}})
    await settle(api)
    assert provider.by_key() == {"doc-1": [0, 1]}
    assert await get(api, "/outbox") == []


async def test_incidents_of_an_unknown_spoke_are_not_found(
    api: Api, provider: FakeProvider
) -> None:
    r = await api.client.get("/spokes/nobody/incidents", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND")
    await post(api, "/spokes", NEW)
    assert await get(api, f"/spokes/{SPOKE}/incidents") == []
