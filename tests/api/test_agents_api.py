"""Agent endpoints: presence, capacity, offers, accept, reject, timeouts and reject reasons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from omniroute.engine.clock import ManualClock
from omniroute.store.db import Database
from tests.api.assertions import error, when
from tests.api.conftest import Api, reseed, running
from tests.seed import NOW, add_queue, add_rule

CHANNELS = {"chat", "email", "case", "voice"}


async def presence(
    api: Api, agent: str, state: str | None = "available", **channels: bool
) -> dict[str, Any]:
    """Set an agent's presence as that agent."""
    body: dict[str, Any] = {"presence_id": state}
    if channels:
        body["channel_available"] = channels
    r = await api.client.put(f"/agents/{agent}/presence", json=body, headers=api.auth(agent))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def capacity(api: Api, agent: str, **body: Any) -> dict[str, Any]:
    """Set an agent's capacity as an administrator."""
    r = await api.client.put(f"/agents/{agent}/capacity", json=body, headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def interaction(
    api: Api, channel: str = "chat", queue: str | None = "support", **fields: Any
) -> dict[str, Any]:
    """Create an interaction as the integration."""
    body: dict[str, Any] = {"channel_id": channel, "queue_id": queue} | fields
    r = await api.client.post("/interactions", json=body, headers=api.auth("integration"))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def offers(api: Api, agent: str) -> list[dict[str, Any]]:
    """An agent's pending offers."""
    r = await api.client.get(f"/agents/{agent}/offers", headers=api.auth(agent))
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()
    return result


async def work_item(api: Api, item_id: str) -> dict[str, Any]:
    """One work item."""
    r = await api.client.get(f"/work-items/{item_id}", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def offer(api: Api, offer_id: str) -> dict[str, Any]:
    """One offer."""
    r = await api.client.get(f"/offers/{offer_id}", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def get_capacity(api: Api, agent: str) -> dict[str, Any]:
    """An agent's capacity as an administrator."""
    r = await api.client.get(f"/agents/{agent}/capacity", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def get_presence(api: Api, agent: str) -> dict[str, Any]:
    """An agent's presence as an administrator."""
    r = await api.client.get(f"/agents/{agent}/presence", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def one_offer(api: Api, agent: str = "alice", **fields: Any) -> dict[str, Any]:
    """Make the agent available, create one chat and return the offer it gets."""
    await presence(api, agent)
    await interaction(api, **fields)
    pending = await offers(api, agent)
    assert len(pending) == 1
    return pending[0]


# -- presence ---------------------------------------------------------------------------


async def test_presence_get_defaults(api: Api) -> None:
    r = await api.client.get("/agents/alice/presence", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent_id"] == "alice"
    assert body["presence_id"] == "offline"
    assert body["is_available"] is False
    assert body["channel_available"] == dict.fromkeys(CHANNELS, True)


async def test_presence_set_and_get(api: Api) -> None:
    api.clock.advance(5)
    body = await presence(api, "alice")
    assert body["presence_id"] == "available"
    assert body["is_available"] is True
    assert when(body["since"]) == NOW + timedelta(seconds=5)
    assert await get_presence(api, "alice") == body
    r = await api.client.put(
        "/agents/alice/presence",
        json={"channel_available": {"chat": False}},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["presence_id"] == "available"
    assert r.json()["channel_available"]["chat"] is False
    assert r.json()["channel_available"]["email"] is True


async def test_presence_set_by_admin_not_by_integration(api: Api) -> None:
    r = await api.client.put(
        "/agents/bob/presence", json={"presence_id": "away"}, headers=api.auth("admin")
    )
    assert r.status_code == 200, r.text
    assert (await get_presence(api, "bob"))["presence_id"] == "away"
    r = await api.client.put(
        "/agents/bob/presence", json={"presence_id": "available"}, headers=api.auth("integration")
    )
    error(r, 403, "FORBIDDEN")
    assert (await get_presence(api, "bob"))["presence_id"] == "away"


async def test_presence_of_another_agent_is_forbidden(api: Api) -> None:
    r = await api.client.get("/agents/bob/presence", headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.put(
        "/agents/bob/presence", json={"presence_id": "available"}, headers=api.auth("alice")
    )
    error(r, 403, "FORBIDDEN")
    assert (await get_presence(api, "bob"))["presence_id"] == "offline"


async def test_presence_unknown_agent(api: Api) -> None:
    r = await api.client.get("/agents/nobody/presence", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "agent_id")
    r = await api.client.put(
        "/agents/nobody/presence", json={"presence_id": "away"}, headers=api.auth("admin")
    )
    error(r, 404, "NOT_FOUND", "agent_id")


async def test_presence_unknown_state_or_channel_changes_nothing(api: Api) -> None:
    before = await get_presence(api, "alice")
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "lunch"}, headers=api.auth("alice")
    )
    error(r, 404, "NOT_FOUND", "presence_id")
    r = await api.client.put(
        "/agents/alice/presence",
        json={"presence_id": "available", "channel_available": {"chat": False, "fax": True}},
        headers=api.auth("alice"),
    )
    error(r, 404, "NOT_FOUND", "channel_available")
    assert await get_presence(api, "alice") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"presence_id": 5}, "presence_id"),
        ({"channel_available": {"chat": "maybe"}}, "channel_available.chat"),
        ({"presence_id": "away", "mood": "sunny"}, "mood"),
    ],
)
async def test_presence_validation(api: Api, body: dict[str, Any], field: str) -> None:
    r = await api.client.put("/agents/alice/presence", json=body, headers=api.auth("alice"))
    error(r, 422, "VALIDATION_ERROR", field)
    assert (await get_presence(api, "alice"))["presence_id"] == "offline"


async def test_channel_availability_decides_which_offers_come(api: Api) -> None:
    await presence(api, "alice", chat=False)
    chat = await interaction(api, "chat")
    assert await offers(api, "alice") == []
    assert (await work_item(api, chat["work_item_id"]))["state"] == "queued"
    email = await interaction(api, "email")
    pending = await offers(api, "alice")
    assert [o["work_item_id"] for o in pending] == [email["work_item_id"]]
    await presence(api, "alice", None, chat=True)
    pending = await offers(api, "alice")
    assert {o["work_item_id"] for o in pending} == {email["work_item_id"], chat["work_item_id"]}


async def test_unavailable_presence_gets_no_offers(api: Api) -> None:
    await presence(api, "alice", "away")
    item = await interaction(api)
    assert await offers(api, "alice") == []
    await presence(api, "alice")
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [item["work_item_id"]]


# -- capacity ---------------------------------------------------------------------------


async def test_capacity_get_defaults(api: Api) -> None:
    r = await api.client.get("/agents/alice/capacity", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent_id"] == "alice"
    assert body["capacity_cap"] is None
    assert body["total_load"] == 0
    assert {c: v["capacity"] for c, v in body["channels"].items()} == {
        "chat": 2,
        "email": 3,
        "case": 3,
        "voice": 1,
    }
    assert body["channels"]["chat"] == {"capacity": 2, "load": 0, "free": 2, "available": True}


async def test_capacity_shows_load(api: Api) -> None:
    await one_offer(api)
    body = await get_capacity(api, "alice")
    assert body["total_load"] == 1
    assert body["channels"]["chat"] == {"capacity": 2, "load": 1, "free": 1, "available": True}


async def test_capacity_of_another_agent_is_forbidden(api: Api) -> None:
    r = await api.client.get("/agents/bob/capacity", headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.get("/agents/nobody/capacity", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "agent_id")


@pytest.mark.parametrize("who", ["alice", "bob", "integration"])
async def test_capacity_set_needs_admin(api: Api, who: str) -> None:
    r = await api.client.put(
        "/agents/alice/capacity", json={"capacity_cap": 9}, headers=api.auth(who)
    )
    error(r, 403, "FORBIDDEN")
    assert (await get_capacity(api, "alice"))["capacity_cap"] is None


async def test_capacity_set_override_and_cap(api: Api) -> None:
    body = await capacity(api, "alice", channels={"chat": 1, "email": 5}, capacity_cap=4)
    assert body["capacity_cap"] == 4
    assert body["channels"]["chat"]["capacity"] == 1
    assert body["channels"]["email"]["capacity"] == 5
    assert await get_capacity(api, "alice") == body
    # Leaving the cap out keeps it; null restores the channel default.
    body = await capacity(api, "alice", channels={"chat": None})
    assert body["capacity_cap"] == 4
    assert body["channels"]["chat"]["capacity"] == 2
    assert body["channels"]["email"]["capacity"] == 5
    body = await capacity(api, "alice", capacity_cap=None)
    assert body["capacity_cap"] is None
    assert (await get_capacity(api, "alice"))["capacity_cap"] is None


async def test_capacity_errors_change_nothing(api: Api) -> None:
    await capacity(api, "alice", channels={"chat": 1})
    before = await get_capacity(api, "alice")
    admin = api.auth("admin")
    r = await api.client.put(
        "/agents/alice/capacity", json={"channels": {"email": 5, "chat": -1}}, headers=admin
    )
    error(r, 422, "VALIDATION_ERROR", "channels.chat")
    r = await api.client.put(
        "/agents/alice/capacity", json={"channels": {"email": 5, "fax": 1}}, headers=admin
    )
    error(r, 404, "NOT_FOUND", "channels")
    r = await api.client.put("/agents/alice/capacity", json={"capacity_cap": -1}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "capacity_cap")
    r = await api.client.put(
        "/agents/alice/capacity", json={"channels": {"chat": "two"}}, headers=admin
    )
    error(r, 422, "VALIDATION_ERROR", "channels.chat")
    r = await api.client.put("/agents/alice/capacity", json={"cap": 1}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "cap")
    r = await api.client.put("/agents/nobody/capacity", json={"capacity_cap": 1}, headers=admin)
    error(r, 404, "NOT_FOUND", "agent_id")
    assert await get_capacity(api, "alice") == before


async def test_channel_capacity_limits_concurrent_offers(api: Api) -> None:
    await capacity(api, "alice", channels={"chat": 1})
    await presence(api, "alice")
    first = await interaction(api)
    second = await interaction(api)
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [first["work_item_id"]]
    assert (await work_item(api, second["work_item_id"]))["state"] == "queued"
    # Email is a different channel with its own capacity.
    email = await interaction(api, "email")
    assert len(await offers(api, "alice")) == 2
    assert (await work_item(api, email["work_item_id"]))["agent_id"] == "alice"


async def test_universal_cap_limits_offers_across_channels(api: Api) -> None:
    await capacity(api, "alice", capacity_cap=1)
    await presence(api, "alice")
    chat = await interaction(api, "chat")
    email = await interaction(api, "email")
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [chat["work_item_id"]]
    assert (await work_item(api, email["work_item_id"]))["state"] == "queued"
    body = await get_capacity(api, "alice")
    assert body["channels"]["email"]["free"] == 0


async def test_raising_capacity_routes_waiting_items_at_once(api: Api) -> None:
    await capacity(api, "alice", channels={"chat": 1}, capacity_cap=1)
    await presence(api, "alice")
    await interaction(api)
    second = await interaction(api)
    email = await interaction(api, "email")
    assert len(await offers(api, "alice")) == 1
    await capacity(api, "alice", channels={"chat": 2})
    assert len(await offers(api, "alice")) == 1  # the universal cap still holds
    await capacity(api, "alice", capacity_cap=None)
    pending = {o["work_item_id"] for o in await offers(api, "alice")}
    assert {second["work_item_id"], email["work_item_id"]} <= pending
    assert len(pending) == 3


# -- offers: listing and reading --------------------------------------------------------


async def test_pending_offers_listing(api: Api) -> None:
    pending = await one_offer(api)
    assert pending["agent_id"] == "alice"
    assert pending["state"] == "pending"
    assert pending["allowed_to_decline"] is True
    assert pending["auto_accept"] is False
    assert pending["presence_after_timeout"] == "away"
    assert when(pending["created_at"]) == NOW
    assert when(pending["expires_at"]) == NOW + timedelta(seconds=30)
    r = await api.client.get("/agents/alice/offers", headers=api.auth("integration"))
    assert [o["id"] for o in r.json()] == [pending["id"]]
    assert await offers(api, "bob") == []


async def test_pending_offers_errors(api: Api) -> None:
    r = await api.client.get("/agents/alice/offers", headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.get("/agents/nobody/offers", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "agent_id")


async def test_get_offer(api: Api) -> None:
    pending = await one_offer(api)
    for who in ("alice", "admin", "integration"):
        r = await api.client.get(f"/offers/{pending['id']}", headers=api.auth(who))
        assert r.status_code == 200, r.text
        assert r.json() == pending
    r = await api.client.get(f"/offers/{pending['id']}", headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.get("/offers/nope", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "offer_id")


# -- accept -----------------------------------------------------------------------------


async def test_accept(api: Api) -> None:
    pending = await one_offer(api)
    api.clock.advance(3)
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "accepted"
    assert when(body["ended_at"]) == NOW + timedelta(seconds=3)
    assert await offer(api, pending["id"]) == body
    item = await work_item(api, pending["work_item_id"])
    assert item["state"] == "accepted"
    assert item["agent_id"] == "alice"
    assert when(item["accepted_at"]) == NOW + timedelta(seconds=3)
    assert await offers(api, "alice") == []
    assert (await get_capacity(api, "alice"))["channels"]["chat"]["load"] == 1


@pytest.mark.parametrize("who", ["integration", "admin"])
async def test_accept_on_behalf_of_agent(api: Api, who: str) -> None:
    pending = await one_offer(api)
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth(who))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"
    assert r.json()["agent_id"] == "alice"


async def test_accept_another_agents_offer_is_forbidden(api: Api) -> None:
    pending = await one_offer(api)
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
    assert (await offer(api, pending["id"]))["state"] == "pending"
    assert (await work_item(api, pending["work_item_id"]))["state"] == "pending_accept"
    await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    # An ended offer stays the other agent's business too.
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")


async def test_accept_twice(api: Api) -> None:
    pending = await one_offer(api)
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    error(r, 409, "WORK_ITEM_ALREADY_ACCEPTED")
    r = await api.client.post(f"/offers/{pending['id']}/reject", json={}, headers=api.auth("alice"))
    error(r, 409, "WORK_ITEM_ALREADY_ACCEPTED")
    assert (await offer(api, pending["id"]))["state"] == "accepted"


async def test_accept_rejected_offer(api: Api) -> None:
    pending = await one_offer(api)
    r = await api.client.post(
        f"/offers/{pending['id']}/reject", json={"reason_id": "wrong"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    error(r, 409, "OFFER_NOT_PENDING")
    r = await api.client.post(f"/offers/{pending['id']}/reject", json={}, headers=api.auth("alice"))
    error(r, 409, "OFFER_NOT_PENDING")
    assert (await work_item(api, pending["work_item_id"]))["state"] == "queued"


async def test_accept_unknown_offer(api: Api) -> None:
    r = await api.client.post("/offers/nope/accept", headers=api.auth("alice"))
    error(r, 404, "NOT_FOUND", "offer_id")
    r = await api.client.post("/offers/nope/reject", json={}, headers=api.auth("alice"))
    error(r, 404, "NOT_FOUND", "offer_id")


# -- reject -----------------------------------------------------------------------------


async def test_reject_reassignable_reason_may_return_to_same_agent(api: Api) -> None:
    pending = await one_offer(api)
    r = await api.client.post(
        f"/offers/{pending['id']}/reject",
        json={"reason_id": "busy", "note": "on a call"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "rejected"
    assert body["reject_reason_id"] == "busy"
    assert body["note"] == "on a call"
    assert await offer(api, pending["id"]) == body
    # Alice is the only available agent and the reason lets her get the item again.
    again = await offers(api, "alice")
    assert [o["work_item_id"] for o in again] == [pending["work_item_id"]]
    assert again[0]["id"] != pending["id"]
    item = await work_item(api, pending["work_item_id"])
    assert item["rejected"] is True
    assert item["offer_count"] == 2
    assert item["state"] == "pending_accept"


@pytest.mark.parametrize("reason", ["wrong", None])
async def test_reject_non_reassignable_reason_excludes_agent(api: Api, reason: str | None) -> None:
    pending = await one_offer(api)
    r = await api.client.post(
        f"/offers/{pending['id']}/reject", json={"reason_id": reason}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    assert r.json()["reject_reason_id"] == reason
    assert await offers(api, "alice") == []
    item = await work_item(api, pending["work_item_id"])
    assert item["state"] == "queued"
    assert item["rejected"] is True
    assert item["agent_id"] is None
    assert (await get_capacity(api, "alice"))["total_load"] == 0
    await presence(api, "bob")
    assert [o["work_item_id"] for o in await offers(api, "bob")] == [pending["work_item_id"]]
    assert await offers(api, "alice") == []


async def test_reject_not_allowed_on_strict_queue(api: Api) -> None:
    pending = await one_offer(api, queue="vip")
    assert pending["allowed_to_decline"] is False
    assert pending["expires_at"] is None
    r = await api.client.post(
        f"/offers/{pending['id']}/reject", json={"reason_id": "busy"}, headers=api.auth("alice")
    )
    error(r, 409, "DECLINE_NOT_ALLOWED")
    assert (await offer(api, pending["id"]))["state"] == "pending"
    assert (await work_item(api, pending["work_item_id"]))["rejected"] is False


@pytest.mark.parametrize("reason", ["nonsense", "email-only"])
async def test_reject_invalid_reason_changes_nothing(api: Api, reason: str) -> None:
    pending = await one_offer(api)
    item_before = await work_item(api, pending["work_item_id"])
    r = await api.client.post(
        f"/offers/{pending['id']}/reject", json={"reason_id": reason}, headers=api.auth("alice")
    )
    error(r, 422, "INVALID_REJECT_REASON", "reason_id")
    assert await offer(api, pending["id"]) == pending
    assert await work_item(api, pending["work_item_id"]) == item_before
    assert await offers(api, "alice") == [pending]


async def test_reject_channel_specific_reason_on_its_channel(api: Api) -> None:
    await presence(api, "alice")
    await interaction(api, "email")
    [pending] = await offers(api, "alice")
    r = await api.client.post(
        f"/offers/{pending['id']}/reject",
        json={"reason_id": "email-only"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["reject_reason_id"] == "email-only"


async def test_reject_another_agents_offer_is_forbidden(api: Api) -> None:
    pending = await one_offer(api)
    r = await api.client.post(f"/offers/{pending['id']}/reject", json={}, headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
    assert (await offer(api, pending["id"]))["state"] == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "busy"}, "reason"),
        ({"note": "x" * 2001}, "note"),
        ({"reason_id": 3}, "reason_id"),
    ],
)
async def test_reject_validation(api: Api, body: dict[str, Any], field: str) -> None:
    pending = await one_offer(api)
    r = await api.client.post(
        f"/offers/{pending['id']}/reject", json=body, headers=api.auth("alice")
    )
    error(r, 422, "VALIDATION_ERROR", field)
    assert (await offer(api, pending["id"]))["state"] == "pending"


# -- timeout ----------------------------------------------------------------------------


async def test_offer_timeout(api: Api) -> None:
    pending = await one_offer(api)
    api.clock.advance(29)
    await api.engine.tick()
    assert (await offer(api, pending["id"]))["state"] == "pending"
    api.clock.advance(1)
    await api.engine.tick()
    ended = await offer(api, pending["id"])
    assert ended["state"] == "timed_out"
    assert when(ended["ended_at"]) == NOW + timedelta(seconds=30)
    item = await work_item(api, pending["work_item_id"])
    assert item["state"] == "queued"
    assert item["timed_out"] is True
    assert item["agent_id"] is None
    assert item["offer_count"] == 1
    state = await get_presence(api, "alice")
    assert state["presence_id"] == "away"
    assert state["is_available"] is False
    assert await offers(api, "alice") == []
    assert (await get_capacity(api, "alice"))["total_load"] == 0
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    error(r, 409, "OFFER_NOT_PENDING")
    # Rule "standard" does not reassign on timeout: only another agent gets it.
    await presence(api, "alice")
    assert await offers(api, "alice") == []
    await presence(api, "bob")
    assert [o["work_item_id"] for o in await offers(api, "bob")] == [pending["work_item_id"]]


# -- ordering ---------------------------------------------------------------------------


async def test_priority_before_age(api: Api) -> None:
    await capacity(api, "alice", channels={"chat": 1})
    older = await interaction(api, queue="support")
    api.clock.advance(10)
    vip = await interaction(api, queue="vip")
    assert (await work_item(api, vip["work_item_id"]))["priority"] == 1
    assert (await work_item(api, older["work_item_id"]))["priority"] == 10
    await presence(api, "alice")
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [vip["work_item_id"]]


async def test_age_within_priority(api: Api) -> None:
    await capacity(api, "alice", channels={"chat": 1})
    older = await interaction(api)
    api.clock.advance(10)
    await interaction(api)
    await presence(api, "alice")
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [older["work_item_id"]]


async def _three_chats(api: Api, queue: str) -> list[str]:
    await capacity(api, "alice", channels={"chat": 5})
    await presence(api, "alice")
    await presence(api, "bob")
    agents = []
    for _ in range(3):
        api.clock.advance(1)
        item = await interaction(api, queue=queue)
        agents.append((await work_item(api, item["work_item_id"]))["agent_id"])
    return agents


async def test_most_capacity_strategy(api: Api) -> None:
    assert await _three_chats(api, "support") == ["alice", "alice", "alice"]


async def test_longest_idle_strategy(api: Api) -> None:
    db: Database = api.app.state.db
    await add_rule(db, "idle", strategy="longest_idle")
    await add_queue(db, "idle", ["chat"], rule_id="idle")
    await api.engine.reload_config()
    assert await _three_chats(api, "idle") == ["alice", "bob", "alice"]


# -- reject reasons ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "names"),
    [
        ("chat", ["Busy", "Wrong skill"]),
        ("email", ["Busy", "Email only", "Wrong skill"]),
    ],
)
async def test_reject_reasons_per_channel(api: Api, channel: str, names: list[str]) -> None:
    r = await api.client.get(f"/channels/{channel}/reject-reasons", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    assert [x["name"] for x in r.json()] == names
    by_id = {x["id"]: x for x in r.json()}
    assert by_id["busy"] == {"id": "busy", "name": "Busy", "channel_id": None, "reassignable": True}
    assert by_id["wrong"]["reassignable"] is False


async def test_reject_reasons_unknown_channel(api: Api) -> None:
    r = await api.client.get("/channels/fax/reject-reasons", headers=api.auth("alice"))
    error(r, 404, "NOT_FOUND", "channel_id")


# -- a late answer after a restart ------------------------------------------------------


async def test_late_answers_after_restart_get_precise_errors(db_url: str) -> None:
    await reseed(db_url)
    clock = ManualClock(NOW)
    async with running(db_url, clock) as api:
        await capacity(api, "alice", channels={"chat": 5})
        accepted = await one_offer(api)
        r = await api.client.post(f"/offers/{accepted['id']}/accept", headers=api.auth("alice"))
        assert r.status_code == 200, r.text
        await interaction(api)
        rejected = (await offers(api, "alice"))[0]
        r = await api.client.post(
            f"/offers/{rejected['id']}/reject",
            json={"reason_id": "wrong"},
            headers=api.auth("alice"),
        )
        assert r.status_code == 200, r.text
        await interaction(api)
        timed_out = (await offers(api, "alice"))[0]
        clock.advance(30)
        await api.engine.tick()
        assert (await offer(api, timed_out["id"]))["state"] == "timed_out"
        await presence(api, "alice")
        await interaction(api, queue="vip")
        live = (await offers(api, "alice"))[0]
    async with running(db_url, clock) as api:
        alice = api.auth("alice")
        r = await api.client.post(f"/offers/{accepted['id']}/accept", headers=alice)
        error(r, 409, "WORK_ITEM_ALREADY_ACCEPTED")
        r = await api.client.post(f"/offers/{accepted['id']}/reject", json={}, headers=alice)
        error(r, 409, "WORK_ITEM_ALREADY_ACCEPTED")
        for ended in (rejected, timed_out):
            r = await api.client.post(f"/offers/{ended['id']}/accept", headers=alice)
            error(r, 409, "OFFER_NOT_PENDING")
            r = await api.client.post(f"/offers/{ended['id']}/reject", json={}, headers=alice)
            error(r, 409, "OFFER_NOT_PENDING")
        for ended in (accepted, rejected, timed_out, live):
            r = await api.client.post(f"/offers/{ended['id']}/accept", headers=api.auth("bob"))
            error(r, 403, "FORBIDDEN")
        r = await api.client.post("/offers/nope/accept", headers=alice)
        error(r, 404, "NOT_FOUND", "offer_id")
        # The admin acts for any agent and gets the precise error too.
        r = await api.client.post(f"/offers/{accepted['id']}/accept", headers=api.auth("admin"))
        error(r, 409, "WORK_ITEM_ALREADY_ACCEPTED")
        # The offer still pending before the restart is still pending after it.
        r = await api.client.post(f"/offers/{live['id']}/accept", headers=alice)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "accepted"


async def test_timeout_that_fell_due_while_stopped_fires_on_start(db_url: str) -> None:
    await reseed(db_url)
    clock = ManualClock(NOW)
    async with running(db_url, clock) as api:
        pending = await one_offer(api)
    clock.advance(31)
    async with running(db_url, clock) as api:
        ended = await offer(api, pending["id"])
        assert ended["state"] == "timed_out"
        assert (await work_item(api, pending["work_item_id"]))["timed_out"] is True
        assert (await get_presence(api, "alice"))["presence_id"] == "away"
        r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
        error(r, 409, "OFFER_NOT_PENDING")


async def test_answer_after_expiry_before_the_timer_ran(api: Api) -> None:
    pending = await one_offer(api)
    api.clock.advance(30)
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    error(r, 409, "OFFER_NOT_PENDING")
    assert (await offer(api, pending["id"]))["state"] == "timed_out"
