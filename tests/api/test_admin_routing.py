"""Routing sees administrative changes as soon as they are committed."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_admin_crud import get, patch, post


async def available(api: Api, agent_id: str) -> None:
    """Make an agent available."""
    r = await api.client.put(
        f"/agents/{agent_id}/presence",
        json={"presence_id": "available"},
        headers=api.auth("admin"),
    )
    assert r.status_code == 200, r.text


async def chat(api: Api, queue_id: str, channel_id: str = "chat") -> dict[str, Any]:
    """Create an interaction in a queue as the integration."""
    body = {"channel_id": channel_id, "queue_id": queue_id}
    result: dict[str, Any] = await post(api, "/interactions", body, who="integration")
    return result


async def test_new_queue_and_agent_get_offers(api: Api) -> None:
    await post(api, "/channels", {"id": "sms", "name": "SMS", "default_capacity": 1})
    await post(api, "/rules", {"id": "quick", "name": "Quick", "offer_timeout_s": 10})
    await post(
        api,
        "/queues",
        {"id": "texts", "name": "Texts", "channels": ["sms"], "rule_id": "quick", "priority": 1},
    )
    await post(api, "/agents", {"id": "dave", "name": "Dave", "email": "dave@example.test"})
    await available(api, "dave")
    interaction = await chat(api, "texts", "sms")
    offers = await get(api, "/agents/dave/offers", who="admin")
    assert len(offers) == 1
    assert offers[0]["work_item_id"] == interaction["work_item_id"]
    assert offers[0]["expires_at"] == "2026-01-01T00:00:10Z"


async def test_skill_and_rule_changes_apply_to_waiting_work(api: Api) -> None:
    await post(api, "/skills", {"id": "dutch", "name": "Dutch"})
    await post(
        api,
        "/queues",
        {
            "id": "nl",
            "name": "Dutch",
            "channels": ["chat"],
            "rule_id": "strict",
            "skills": [{"skill_id": "dutch", "min_level": 4}],
        },
    )
    await available(api, "alice")
    interaction = await chat(api, "nl")
    assert await get(api, "/agents/alice/offers") == []
    await patch(api, "/agents/alice", {"skills": {"dutch": 3}})
    assert await get(api, "/agents/alice/offers") == []
    await patch(api, "/agents/alice", {"skills": {"dutch": 4}})
    offers = await get(api, "/agents/alice/offers")
    assert [o["work_item_id"] for o in offers] == [interaction["work_item_id"]]
    assert offers[0]["allowed_to_decline"] is False
    assert offers[0]["expires_at"] is None


async def test_channel_capacity_change_frees_room(api: Api) -> None:
    await available(api, "bob")
    for _ in range(3):
        await chat(api, "vip")
    assert len(await get(api, "/agents/bob/offers")) == 2
    await patch(api, "/channels/chat", {"default_capacity": 3})
    assert len(await get(api, "/agents/bob/offers")) == 3


async def test_presence_state_becomes_available(api: Api) -> None:
    await post(api, "/presence-states", {"id": "backoffice", "name": "Back office"})
    r = await api.client.put(
        "/agents/carol/presence", json={"presence_id": "backoffice"}, headers=api.auth("carol")
    )
    assert r.status_code == 200, r.text
    await chat(api, "support")
    assert await get(api, "/agents/carol/offers", who="carol") == []
    await patch(api, "/presence-states/backoffice", {"is_available": True})
    assert len(await get(api, "/agents/carol/offers", who="carol")) == 1
