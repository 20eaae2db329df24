"""Administration of assignment rules and queues: their own validation rules."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.test_admin_crud import error, get, patch, post


@pytest.mark.parametrize("timeout", [0, -5, 2**31])
async def test_offer_timeout_must_be_positive(api: Api, timeout: int) -> None:
    admin = api.auth("admin")
    body = {"name": "Bad", "offer_timeout_s": timeout}
    r = await api.client.post("/rules", json=body, headers=admin)
    error(r, 422, "INVALID_TIMEOUT", "offer_timeout_s")
    r = await api.client.patch("/rules/standard", json={"offer_timeout_s": timeout}, headers=admin)
    error(r, 422, "INVALID_TIMEOUT", "offer_timeout_s")
    assert (await get(api, "/rules/standard"))["offer_timeout_s"] == 30


async def test_rule_defaults_and_no_timeout(api: Api) -> None:
    rule = await post(api, "/rules", {"id": "plain", "name": "Plain"})
    assert rule == {
        "id": "plain",
        "name": "Plain",
        "strategy": "most_capacity",
        "offer_timeout_s": 30,
        "allowed_to_decline": True,
        "auto_accept": False,
        "presence_after_timeout": None,
        "reassign_on_timeout": False,
        "primary_group_id": None,
        "overflow_group_id": None,
        "overflow_after_s": None,
    }
    assert (await patch(api, "/rules/plain", {"offer_timeout_s": None}))["offer_timeout_s"] is None


async def test_rule_references_and_overflow(api: Api) -> None:
    admin = api.auth("admin")
    r = await api.client.post(
        "/rules", json={"name": "R", "presence_after_timeout": "asleep"}, headers=admin
    )
    error(r, 404, "NOT_FOUND", "presence_after_timeout")
    r = await api.client.post(
        "/rules",
        json={"name": "R", "primary_group_id": "tier1", "overflow_group_id": "tier7"},
        headers=admin,
    )
    error(r, 404, "NOT_FOUND", "overflow_group_id")
    r = await api.client.post(
        "/rules", json={"name": "R", "overflow_group_id": "tier2"}, headers=admin
    )
    error(r, 422, "VALIDATION_ERROR", "overflow_group_id")
    r = await api.client.post("/rules", json={"name": "R", "overflow_after_s": 60}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "overflow_after_s")
    r = await api.client.patch("/rules/standard", json={"overflow_after_s": 0}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "overflow_after_s")
    rule = await patch(
        api,
        "/rules/standard",
        {"primary_group_id": "tier1", "overflow_group_id": "tier2", "overflow_after_s": 60},
    )
    assert rule["overflow_after_s"] == 60
    assert rule["presence_after_timeout"] == "away"
    r = await api.client.patch("/rules/standard", json={"primary_group_id": None}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "overflow_group_id")


async def test_queue_references(api: Api) -> None:
    admin = api.auth("admin")
    base = {"name": "Q", "channels": ["chat"], "rule_id": "standard"}
    r = await api.client.post("/queues", json=base | {"channels": ["chat", "fax"]}, headers=admin)
    error(r, 404, "NOT_FOUND", "channels.1")
    r = await api.client.post(
        "/queues", json=base | {"skills": [{"skill_id": "klingon"}]}, headers=admin
    )
    error(r, 404, "NOT_FOUND", "skills.0.skill_id")
    r = await api.client.patch("/queues/support", json={"rule_id": "nope"}, headers=admin)
    error(r, 404, "NOT_FOUND", "rule_id")
    r = await api.client.post("/queues", json={"name": "Q", "channels": ["chat"]}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "rule_id")


async def test_queue_validation(api: Api) -> None:
    admin = api.auth("admin")
    base = {"name": "Q", "channels": ["chat"], "rule_id": "standard"}
    for change, field in (
        ({"skills": [{"skill_id": "english", "min_level": 11}]}, "skills.0.min_level"),
        ({"skills": [{"skill_id": "english", "min_level": 0}]}, "skills.0.min_level"),
        ({"skills": [{"skill_id": "english", "widen_after_s": 0}]}, "skills.0.widen_after_s"),
        (
            {"skills": [{"skill_id": "english", "widen_after_s": 2**31}]},
            "skills.0.widen_after_s",
        ),
        ({"skills": [{"skill_id": "english"}, {"skill_id": "english"}]}, "skills.1.skill_id"),
        ({"priority": -1}, "priority"),
        ({"routing_mode": "sideways"}, "routing_mode"),
        ({"max_wait_s": 0}, "max_wait_s"),
        ({"channels": "chat"}, "channels"),
        ({"routing_mode": "external"}, "spoke"),
        ({"routing_mode": "external", "spoke": "genesys"}, "provider_queue_id"),
    ):
        r = await api.client.post("/queues", json=base | change, headers=admin)
        error(r, 422, "VALIDATION_ERROR", field)
    r = await api.client.patch("/queues/support", json={"routing_mode": "external"}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "spoke")
    r = await api.client.patch("/queues/support", json={"channels": None}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["channels"] == ["chat", "email"]


async def test_queue_fields(api: Api) -> None:
    queue = await post(
        api,
        "/queues",
        {
            "id": "ext",
            "name": "External",
            "channels": ["voice", "chat", "voice"],
            "rule_id": "standard",
            "routing_mode": "external",
            "spoke": "genesys",
            "provider_queue_id": "Q-123",
            "skills": [
                {"skill_id": "french", "min_level": 2, "mandatory": False, "widen_after_s": 30}
            ],
        },
    )
    assert queue == {
        "id": "ext",
        "name": "External",
        "channels": ["voice", "chat"],
        "priority": 100,
        "routing_mode": "external",
        "rule_id": "standard",
        "max_wait_s": None,
        "skills": [{"skill_id": "french", "min_level": 2, "mandatory": False, "widen_after_s": 30}],
        "spoke": "genesys",
        "provider_queue_id": "Q-123",
        "calendar_id": None,
        "out_of_hours_action": "keep_queued",
        "out_of_hours_queue_id": None,
        "out_of_hours_message": None,
        "escalation": [],
        "aging_per_min": 0.0,
        "exclusion_ttl_s": None,
        "reject_cooldown_s": 0,
        "affinity_wait_s": 0,
    }
    queue = await patch(api, "/queues/ext", {"routing_mode": "internal", "skills": []})
    assert queue["skills"] == []
    assert queue["spoke"] == "genesys"
    assert api.engine.state.config.queues["ext"].skills == ()
    assert api.engine.state.config.queues["ext"].channels == ("voice", "chat")
