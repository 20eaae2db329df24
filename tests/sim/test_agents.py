"""Simulated agents signing in and changing presence: signed inbound events to Omniroute."""

from __future__ import annotations

import pytest

from omniroute.sim.world import World
from tests.sim.conftest import SPOKE, Sim, error, make_world, new_interaction


@pytest.fixture
def world() -> World:
    """Two agents Omniroute does not know yet, both on queue."""
    world = make_world(agents=2)
    for agent in world.agents:
        agent.linked = False
    return world


async def test_sign_in_links_the_agent_and_routes_waiting_work(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    assert (await sim.item("w1") or {})["status"] == "waiting"
    response = await sim.client.post("/sim/agents/sim-a2/sign-in")
    assert response.status_code == 200
    body = response.json()
    assert body["delivered"]
    assert body["agent"]["linked"]
    assert body["agent"]["omniroute_agent_id"] == "our-agent"
    assert body["omniroute"]["status"] == 200
    [event] = sim.fake.events
    assert event["spoke"] == SPOKE
    envelope = event["envelope"]
    assert envelope["schema_version"] == 1
    assert envelope["type"] == "agent_signed_in"
    assert envelope["data"] == {
        "provider_agent_id": "sim-a2",
        "email": "a2@example.test",
        "name": "Agent 2",
    }
    assert envelope["id"]
    assert (await sim.item("w1") or {})["agent_id"] == "sim-a2"
    state = await sim.state()
    assert state["inbound"][0]["id"] == envelope["id"]
    assert state["counters"]["inbound_agent_signed_in"] == 1


async def test_sign_in_with_a_state_sends_presence_too(sim: Sim) -> None:
    response = await sim.client.post("/sim/agents/sim-a1/sign-in", json={"state": "Away"})
    assert response.status_code == 200
    assert response.json()["agent"]["state"] == "Away"
    types = [e["envelope"]["type"] for e in sim.fake.events]
    assert types == ["agent_signed_in", "agent_presence"]
    assert sim.fake.events[1]["envelope"]["data"] == {
        "provider_agent_id": "sim-a1",
        "state_name": "Away",
    }


async def test_a_sign_in_omniroute_could_not_link_leaves_the_agent_unlinked(sim: Sim) -> None:
    sim.fake.event_replies.append((200, {"events": [{"outcome": "incident", "agent_id": None}]}))
    response = await sim.client.post("/sim/agents/sim-a1/sign-in")
    assert response.status_code == 200
    assert not response.json()["agent"]["linked"]


async def test_a_refused_sign_in_is_a_502(sim: Sim) -> None:
    sim.fake.event_replies.append(error("INVALID_SIGNATURE", 401))
    response = await sim.client.post("/sim/agents/sim-a1/sign-in")
    assert response.status_code == 502
    body = response.json()
    assert not body["delivered"]
    assert body["omniroute"]["body"]["error"]["code"] == "INVALID_SIGNATURE"
    assert not body["agent"]["linked"]


async def test_presence_change_is_sent_to_omniroute(sim: Sim) -> None:
    response = await sim.client.post("/sim/agents/sim-a1/presence", json={"state": "Break"})
    assert response.status_code == 200
    assert response.json()["agent"]["state"] == "Break"
    assert sim.fake.events[0]["envelope"]["type"] == "agent_presence"
    assert sim.fake.events[0]["envelope"]["data"]["state_name"] == "Break"


async def test_a_silent_presence_change_tells_omniroute_nothing(sim: Sim) -> None:
    response = await sim.client.post(
        "/sim/agents/sim-a1/presence", json={"state": "Away", "notify": False}
    )
    assert response.json()["delivered"] is False
    assert response.json()["agent"]["state"] == "Away"
    assert sim.fake.events == []


async def test_presence_on_queue_starts_idle_time(sim: Sim) -> None:
    for agent in ("sim-a1", "sim-a2"):
        await sim.client.post(f"/sim/agents/{agent}/sign-in")
    await sim.client.post("/sim/agents/sim-a1/presence", json={"state": "Away"})
    await sim.client.post("/sim/agents/sim-a1/presence", json={"state": "On Queue"})
    await sim.post_event("new_interaction", new_interaction("w1"))
    assert (await sim.item("w1") or {})["agent_id"] == "sim-a2"


async def test_unknown_agents_and_bad_bodies(sim: Sim) -> None:
    assert (await sim.client.post("/sim/agents/ghost/sign-in")).status_code == 404
    assert (
        await sim.client.post("/sim/agents/ghost/presence", json={"state": "Away"})
    ).status_code == 404
    assert (
        await sim.client.post("/sim/agents/sim-a1/presence", json={"state": ""})
    ).status_code == 422
