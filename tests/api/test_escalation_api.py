"""Escalation steps, aging, exclusion expiry, cool-downs, hours and affinity, on a manual clock."""

from __future__ import annotations

from typing import Any

from omniroute.engine.clock import ManualClock
from tests.api.assertions import error
from tests.api.conftest import Api, reseed, running
from tests.api.test_agents_api import interaction, offers, presence, work_item
from tests.seed import NOW


async def configure(api: Api, queue: str, **fields: Any) -> None:
    """Change a queue's routing settings as the administrator."""
    r = await api.client.patch(f"/queues/{queue}", json=fields, headers=api.auth("admin"))
    assert r.status_code == 200, r.text


async def calendar(api: Api, **fields: Any) -> None:
    """Create a calendar as the administrator."""
    body = {"id": "office", "name": "Office", "tz": "UTC"} | fields
    r = await api.client.post("/calendars", json=body, headers=api.auth("admin"))
    assert r.status_code == 201, r.text


async def later(api: Api, seconds: float) -> None:
    """Move the clock and let the engine fire what fell due."""
    api.clock.advance(seconds)
    await api.engine.tick()


async def offered_items(api: Api, agent: str) -> list[str]:
    """The work items of an agent's pending offers."""
    return [o["work_item_id"] for o in await offers(api, agent)]


async def reject(api: Api, agent: str, reason: str) -> None:
    """Reject the agent's one pending offer."""
    [pending] = await offers(api, agent)
    r = await api.client.post(
        f"/offers/{pending['id']}/reject", json={"reason_id": reason}, headers=api.auth(agent)
    )
    assert r.status_code == 200, r.text


# -- escalation steps ---------------------------------------------------------------------


async def test_widen_step_lets_more_agents_in(api: Api) -> None:
    await configure(
        api,
        "support",
        skills=[{"skill_id": "french"}],
        escalation=[{"after_s": 30, "action": "widen", "drop_skills": ["french"]}],
    )
    await presence(api, "alice")
    chat = await interaction(api)
    await later(api, 29)
    assert await offers(api, "alice") == []
    await later(api, 1)
    assert await offered_items(api, "alice") == [chat["work_item_id"]]
    item = await work_item(api, chat["work_item_id"])
    assert item["escalation_step"] == 1


async def test_raise_priority_and_move_queue(api: Api) -> None:
    await configure(
        api,
        "support",
        escalation=[
            {"after_s": 10, "action": "raise_priority", "raise_by": 4},
            {"after_s": 20, "action": "move_queue", "queue_id": "vip"},
        ],
    )
    chat = await interaction(api)
    await later(api, 10)
    item = await work_item(api, chat["work_item_id"])
    assert (item["priority"], item["queue_id"]) == (6, "support")
    await later(api, 10)
    item = await work_item(api, chat["work_item_id"])
    assert (item["priority"], item["queue_id"], item["state"]) == (1, "vip", "queued")
    # The vip queue's rule makes the offer.
    await presence(api, "bob")
    [pending] = await offers(api, "bob")
    assert pending["work_item_id"] == chat["work_item_id"]
    assert pending["allowed_to_decline"] is False


async def test_only_the_final_step_abandons(api: Api) -> None:
    await configure(
        api,
        "support",
        escalation=[
            {"after_s": 10, "action": "widen"},
            {
                "after_s": 60,
                "action": "abandon",
                "reason": "no_agent",
                "message": "Sorry, nobody is free. We will email you.",
            },
        ],
    )
    chat = await interaction(api)
    await later(api, 59)
    assert (await work_item(api, chat["work_item_id"]))["state"] == "queued"
    await later(api, 1)
    item = await work_item(api, chat["work_item_id"])
    assert (item["state"], item["cancel_reason"], item["cancel_detail"]) == (
        "cancelled",
        "abandoned",
        "no_agent",
    )
    r = await api.client.get(f"/interactions/{chat['id']}", headers=api.auth("admin"))
    assert r.json()["state"] == "closed_abandoned"
    r = await api.client.get(f"/interactions/{chat['id']}/messages", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    last = r.json()["items"][-1]
    assert last["sender"] == "system"
    assert last["body"].startswith("Sorry, nobody is free")


async def test_a_step_due_while_offered_applies_when_the_item_returns(api: Api) -> None:
    await configure(
        api, "support", escalation=[{"after_s": 10, "action": "move_queue", "queue_id": "vip"}]
    )
    await presence(api, "alice")
    chat = await interaction(api)
    await later(api, 15)
    assert (await work_item(api, chat["work_item_id"]))["queue_id"] == "support"
    await reject(api, "alice", "wrong")
    await api.engine.tick()
    assert (await work_item(api, chat["work_item_id"]))["queue_id"] == "vip"


async def test_steps_fire_after_a_restart(db_url: str) -> None:
    await reseed(db_url)
    clock = ManualClock(NOW)
    async with running(db_url, clock) as api:
        await configure(
            api,
            "support",
            escalation=[
                {"after_s": 30, "action": "raise_priority", "raise_by": 3},
                {"after_s": 90, "action": "abandon", "reason": "closed_early"},
            ],
        )
        first = await interaction(api)
    clock.advance(45)
    async with running(db_url, clock) as api:
        item = await work_item(api, first["work_item_id"])
        assert (item["priority"], item["escalation_step"], item["state"]) == (7, 1, "queued")
    clock.advance(3600)
    async with running(db_url, clock) as api:
        await api.engine.tick()
        item = await work_item(api, first["work_item_id"])
        assert (item["state"], item["cancel_detail"]) == ("cancelled", "closed_early")


async def test_an_exclusion_ends_on_time_after_a_restart_while_offered(db_url: str) -> None:
    await reseed(db_url)
    clock = ManualClock(NOW)
    async with running(db_url, clock) as api:
        await configure(api, "support", exclusion_ttl_s=120)
        await presence(api, "alice")
        chat = await interaction(api)
        await reject(api, "alice", "wrong")
        await presence(api, "bob")
        assert await offered_items(api, "bob") == [chat["work_item_id"]]
    # Restarted while the item is offered to bob: alice's exclusion must still run out.
    async with running(db_url, clock) as api:
        await later(api, 121)
        assert await offers(api, "bob") == []
        assert await offered_items(api, "alice") == [chat["work_item_id"]]


# -- aging --------------------------------------------------------------------------------


async def test_priority_aging_lets_old_work_overtake(api: Api) -> None:
    # support: priority 10; vip: priority 1. At 2 points a minute, a support item that has
    # waited five minutes ranks 0, ahead of a fresh vip item.
    await configure(api, "support", aging_per_min=2)
    old = await interaction(api, queue="support")
    await later(api, 4 * 60)
    await interaction(api, queue="vip")
    await later(api, 60)
    await interaction(api, queue="vip")
    r = await api.client.put(
        "/agents/alice/capacity", json={"channels": {"chat": 1}}, headers=api.auth("admin")
    )
    assert r.status_code == 200
    await presence(api, "alice")
    assert await offered_items(api, "alice") == [old["work_item_id"]]


async def test_without_aging_priority_wins(api: Api) -> None:
    await interaction(api, queue="support")
    await later(api, 5 * 60)
    vip = await interaction(api, queue="vip")
    r = await api.client.put(
        "/agents/alice/capacity", json={"channels": {"chat": 1}}, headers=api.auth("admin")
    )
    assert r.status_code == 200
    await presence(api, "alice")
    assert await offered_items(api, "alice") == [vip["work_item_id"]]


# -- no stranded work ---------------------------------------------------------------------


async def test_exclusion_expires(api: Api) -> None:
    await configure(api, "support", exclusion_ttl_s=120)
    await presence(api, "alice")
    chat = await interaction(api)
    await reject(api, "alice", "wrong")
    assert await offers(api, "alice") == []
    await later(api, 119)
    assert await offers(api, "alice") == []
    await later(api, 1)
    assert await offered_items(api, "alice") == [chat["work_item_id"]]


async def test_exclusion_without_ttl_lasts(api: Api) -> None:
    await presence(api, "alice")
    await interaction(api)
    await reject(api, "alice", "wrong")
    await later(api, 86_400)
    assert await offers(api, "alice") == []


async def test_busy_prefers_other_agents_then_cools_down(api: Api) -> None:
    await configure(api, "support", reject_cooldown_s=30)
    await presence(api, "alice")
    chat = await interaction(api)
    await presence(api, "bob")
    await reject(api, "alice", "busy")
    assert await offered_items(api, "bob") == [chat["work_item_id"]]
    assert await offers(api, "alice") == []
    await reject(api, "bob", "busy")
    # Both cool down: nobody gets it for 30 s after alice's reject.
    assert await offers(api, "alice") == []
    assert await offers(api, "bob") == []
    await later(api, 30)
    assert await offered_items(api, "alice") == [chat["work_item_id"]]


async def test_stuck_items_list_the_reason(api: Api) -> None:
    await presence(api, "alice")
    chat = await interaction(api)
    await reject(api, "alice", "wrong")
    await later(api, 120)
    r = await api.client.get("/supervisor/stuck", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    [stuck] = [s for s in r.json() if s["work_item_id"] == chat["work_item_id"]]
    assert stuck["reason"] == "all_routable_agents_excluded"
    assert stuck["excluded_agents"] == ["alice"]
    assert stuck["waited_s"] == 120
    r = await api.client.get("/supervisor/stuck", headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")


# -- business hours -----------------------------------------------------------------------


async def test_closed_queue_keeps_work_until_it_opens(api: Api) -> None:
    # 1 January 2026 is a Thursday; the clock starts at midnight UTC.
    await calendar(api, weekly={"thu": ["09:00-17:00"]})
    await configure(api, "support", calendar_id="office")
    await presence(api, "alice")
    chat = await interaction(api)
    assert await offers(api, "alice") == []
    await later(api, 9 * 3600 - 1)
    assert await offers(api, "alice") == []
    await later(api, 1)
    assert await offered_items(api, "alice") == [chat["work_item_id"]]
    r = await api.client.get("/queues/support/hours", headers=api.auth("alice"))
    assert r.json() == {"queue_id": "support", "open": True, "next_change": "2026-01-01T17:00:00Z"}


async def test_closed_queue_routes_to_another(api: Api) -> None:
    await calendar(api)
    await configure(
        api,
        "vip",
        calendar_id="office",
        out_of_hours_action="route_to_queue",
        out_of_hours_queue_id="support",
    )
    chat = await interaction(api, queue="vip")
    item = await work_item(api, chat["work_item_id"])
    assert item["queue_id"] == "support"


async def test_closed_queue_hands_over_with_the_other_queues_skills(api: Api) -> None:
    await calendar(api)
    await configure(
        api,
        "vip",
        calendar_id="office",
        out_of_hours_action="route_to_queue",
        out_of_hours_queue_id="support",
        skills=[{"skill_id": "french"}],
    )
    await presence(api, "alice")
    plain = await interaction(api, queue="vip")
    billing = await interaction(api, queue="vip", skills=[{"skill_id": "billing"}])
    # vip's French stays behind; the chat's own billing goes along (and nobody has it).
    assert await offered_items(api, "alice") == [plain["work_item_id"]]
    assert (await work_item(api, billing["work_item_id"]))["state"] == "queued"


async def test_hours_follow_daylight_saving(api: Api) -> None:
    # Berlin 09:00 is 08:00 UTC in winter and 07:00 UTC from 29 March 2026.
    await calendar(api, tz="Europe/Berlin", weekly={"mon": ["09:00-17:00"]})
    await configure(api, "support", calendar_id="office")
    r = await api.client.get("/queues/support/hours", headers=api.auth("alice"))
    assert r.json()["next_change"] == "2026-01-05T08:00:00Z"
    await later(api, (31 + 28 + 29) * 86_400)  # Monday 30 March, 00:00 UTC
    r = await api.client.get("/queues/support/hours", headers=api.auth("alice"))
    assert r.json() == {"queue_id": "support", "open": False, "next_change": "2026-03-30T07:00:00Z"}
    await presence(api, "alice")
    chat = await interaction(api)
    await later(api, 7 * 3600)
    assert await offered_items(api, "alice") == [chat["work_item_id"]]


# -- affinity -----------------------------------------------------------------------------


async def _handled_by_alice(api: Api, customer: str) -> None:
    await presence(api, "alice")
    await interaction(api, customer_id=customer)
    [pending] = await offers(api, "alice")
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    await presence(api, "alice", "away")


async def test_last_agent_is_preferred_for_a_while(api: Api) -> None:
    await configure(api, "support", affinity_wait_s=45)
    await _handled_by_alice(api, "cust-1")
    await presence(api, "bob")
    again = await interaction(api, customer_id="cust-1")
    assert (await work_item(api, again["work_item_id"]))["preferred_agent_id"] == "alice"
    other = await interaction(api, customer_id="cust-2")
    [pending] = await offers(api, "bob")
    assert pending["work_item_id"] == other["work_item_id"]
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("bob"))
    assert r.status_code == 200, r.text
    await later(api, 44)
    assert await offers(api, "bob") == []
    await later(api, 1)
    assert await offered_items(api, "bob") == [again["work_item_id"]]


async def test_preferred_agent_gets_it_when_available(api: Api) -> None:
    await configure(api, "support", affinity_wait_s=45)
    await _handled_by_alice(api, "cust-1")
    await presence(api, "bob")
    again = await interaction(api, customer_id="cust-1")
    await later(api, 10)
    await presence(api, "alice")
    assert again["work_item_id"] in await offered_items(api, "alice")


async def test_preferred_agent_named_on_the_document(api: Api) -> None:
    await configure(api, "support", affinity_wait_s=45)
    await presence(api, "bob")
    chat = await interaction(api, preferred_agent_id="carol")
    assert await offers(api, "bob") == []
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "support", "preferred_agent_id": "zed"},
        headers=api.auth("integration"),
    )
    error(r, 404, "NOT_FOUND", "preferred_agent_id")
    await later(api, 45)
    assert await offered_items(api, "bob") == [chat["work_item_id"]]


async def test_move_queue_step_applies_the_target_queues_skills(api: Api) -> None:
    await configure(api, "vip", skills=[{"skill_id": "french"}])
    await configure(
        api, "support", escalation=[{"after_s": 10, "action": "move_queue", "queue_id": "vip"}]
    )
    chat = await interaction(api)
    await later(api, 10)
    await presence(api, "alice")
    # Alice could take it in support; vip asks for French, which she lacks.
    assert await offers(api, "alice") == []
    r = await api.client.get(
        "/supervisor/stuck", params={"min_wait_s": 0}, headers=api.auth("admin")
    )
    [stuck] = r.json()
    assert (stuck["work_item_id"], stuck["reason"]) == (chat["work_item_id"], "no_eligible_agent")
