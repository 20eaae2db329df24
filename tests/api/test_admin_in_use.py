"""Administration deletes: a record others refer to is refused with 409 IN_USE."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_admin_crud import error, get, patch, post


async def delete(api: Api, path: str) -> int:
    """DELETE a record and return the status."""
    r = await api.client.delete(path, headers=api.auth("admin"))
    return r.status_code


async def refused(api: Api, path: str, *mentions: str) -> None:
    """Assert that deleting is refused as IN_USE, naming what uses the record."""
    r = await api.client.delete(path, headers=api.auth("admin"))
    err = error(r, 409, "IN_USE")
    for text in mentions:
        assert text in err["message"], err["message"]
    assert (await api.client.get(path, headers=api.auth("admin"))).status_code == 200


async def offer_for(api: Api, agent: str, queue: str = "support") -> tuple[str, dict[str, Any]]:
    """Make the agent available, create a chat in the queue and return it with its offer."""
    r = await api.client.put(
        f"/agents/{agent}/presence", json={"presence_id": "available"}, headers=api.auth(agent)
    )
    assert r.status_code == 200, r.text
    interaction = await post(
        api, "/interactions", {"channel_id": "chat", "queue_id": queue}, who="integration"
    )
    offers = await get(api, f"/agents/{agent}/offers", who=agent)
    assert len(offers) == 1
    return interaction["id"], offers[0]


async def test_channel_used_by_queues_and_reject_reasons(api: Api) -> None:
    await refused(api, "/channels/chat", "queues 'support', 'vip'")
    await refused(api, "/channels/email", "queues 'support'", "reject reasons 'email-only'")
    await post(api, "/channels", {"id": "fax", "name": "Fax"})
    await post(api, "/reject-reasons", {"id": "no-paper", "name": "No paper", "channel_id": "fax"})
    await refused(api, "/channels/fax", "reject reasons 'no-paper'")
    assert await delete(api, "/reject-reasons/no-paper") == 204
    assert await delete(api, "/channels/fax") == 204


async def test_channel_used_by_an_agent_setting_and_by_work(api: Api) -> None:
    await patch(api, "/queues/cases", {"channels": ["case", "voice"]})
    await patch(api, "/queues/cases", {"channels": ["case"]})
    r = await api.client.put(
        "/agents/bob/presence",
        json={"channel_available": {"voice": False}},
        headers=api.auth("bob"),
    )
    assert r.status_code == 200, r.text
    await refused(api, "/channels/voice", "agents 'bob'")
    await post(api, "/cases", {"subject": "broken"}, who="integration")
    await refused(api, "/channels/case", "cases '")


async def test_presence_state_used_by_agents_and_rules(api: Api) -> None:
    await refused(api, "/presence-states/offline", "agents 'alice', 'bob', 'carol'")
    await refused(api, "/presence-states/away", "rules 'standard'")
    await patch(api, "/rules/standard", {"presence_after_timeout": None})
    assert await delete(api, "/presence-states/away") == 204


async def test_skill_used_by_agents_queues_and_live_work(api: Api) -> None:
    await refused(api, "/skills/english", "agents 'alice', 'bob', 'carol'")
    await patch(api, "/queues/vip", {"skills": [{"skill_id": "billing"}]})
    await refused(api, "/skills/billing", "queues 'vip'")
    body = {
        "channel_id": "chat",
        "queue_id": "support",
        "skills": [{"skill_id": "french", "min_level": 2}],
    }
    item = await post(api, "/interactions", body, who="integration")
    await refused(api, "/skills/french", "live work items '")
    r = await api.client.post(
        f"/interactions/{item['id']}/end", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    assert await delete(api, "/skills/french") == 204


async def test_group_used_by_agents_and_rules(api: Api) -> None:
    await patch(api, "/agents/carol", {"groups": ["tier1"]})
    await refused(api, "/groups/tier1", "agents 'carol'")
    await patch(api, "/agents/carol", {"groups": []})
    await patch(api, "/rules/strict", {"primary_group_id": "tier1", "overflow_group_id": "tier2"})
    await refused(api, "/groups/tier1", "rules 'strict'")
    await refused(api, "/groups/tier2", "rules 'strict'")
    await patch(api, "/rules/strict", {"primary_group_id": None, "overflow_group_id": None})
    assert await delete(api, "/groups/tier1") == 204


async def test_rule_used_by_queues(api: Api) -> None:
    await refused(api, "/rules/standard", "queues 'cases', 'support'")
    assert await delete(api, "/queues/vip") == 204
    assert await delete(api, "/rules/strict") == 204


async def test_queue_with_work_items(api: Api) -> None:
    item = await post(
        api, "/interactions", {"channel_id": "chat", "queue_id": "vip"}, who="integration"
    )
    await refused(api, "/queues/vip", "work items")
    r = await api.client.post(
        f"/interactions/{item['id']}/end", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    # Past work items keep their queue: history is not orphaned.
    await refused(api, "/queues/vip", "work items")


async def test_reject_reason_and_wrap_up_code_used_by_history(api: Api) -> None:
    _, offer = await offer_for(api, "alice")
    r = await api.client.post(
        f"/offers/{offer['id']}/reject", json={"reason_id": "busy"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    await refused(api, "/reject-reasons/busy", f"offers '{offer['id']}'")
    assert await delete(api, "/reject-reasons/wrong") == 204

    interaction_id, offer = await offer_for(api, "bob")
    r = await api.client.post(f"/offers/{offer['id']}/accept", headers=api.auth("bob"))
    assert r.status_code == 200, r.text
    r = await api.client.post(
        f"/interactions/{interaction_id}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=api.auth("bob"),
    )
    assert r.status_code == 200, r.text
    await refused(api, "/wrap-up-codes/resolved", f"interactions '{interaction_id}'")
    assert await delete(api, "/wrap-up-codes/follow-up") == 204


async def test_agent_with_live_work(api: Api) -> None:
    interaction_id, offer = await offer_for(api, "alice")
    await refused(api, "/agents/alice", "live work items")
    r = await api.client.post(f"/offers/{offer['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    await refused(api, "/agents/alice", "live work items")
    r = await api.client.post(
        f"/interactions/{interaction_id}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    assert await delete(api, "/agents/alice") == 204
    assert "alice" not in api.engine.state.agents
