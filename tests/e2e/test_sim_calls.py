"""A simulated callback end to end: the simulator answers call controls with new call contexts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import SPOKE, World, eventually
from tests.e2e.test_external_routing import general_queue, offered, sign_in_and_go_on_queue

pytestmark = pytest.mark.timeout(120)


async def call_in(world: World, doc_id: str, state: str) -> dict[str, Any]:
    """The interaction's call context once it reaches a state."""

    async def probe() -> dict[str, Any] | None:
        r = await world.api.get(f"/interactions/{doc_id}/call", headers=world.auth("alice"))
        body: dict[str, Any] = r.json()
        return body if r.status_code == 200 and body["state"] == state else None

    return await eventually(probe, f"the call of {doc_id} to be {state}")


async def control(world: World, doc_id: str, action: str, **params: str) -> None:
    r = await world.api.post(
        f"/interactions/{doc_id}/controls",
        json={"action": action, "params": params},
        headers=world.auth("alice"),
    )
    assert r.status_code == 202, r.text


async def test_callback_dialled_retried_and_muted(world: World) -> None:
    r = await world.api.post(
        f"/spokes/{SPOKE}/import",
        json={"queue_defaults": {"channels": ["chat", "voice"], "rule_id": "standard"}},
        headers=world.auth("admin"),
    )
    assert r.status_code == 200, r.text
    queue = await general_queue(world)
    await sign_in_and_go_on_queue(world, "alice")
    started = await world.sim_api.post(
        "/sim/calls",
        json={
            "queue_id": queue,
            "kind": "callback",
            "channel_id": "voice",
            "customer_number": "+44 20 7946 0123",
            "answers": False,
        },
    )
    assert started.status_code == 201, started.text
    doc_id = started.json()["interaction_id"]
    _, offer = await offered(world, doc_id, "alice")
    accepted = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth("alice"))
    assert accepted.status_code == 200, accepted.text

    scheduled = await call_in(world, doc_id, "scheduled")
    assert scheduled["kind"] == "callback"
    assert scheduled["available_actions"] == ["dial", "end"]
    assert scheduled["customer_number"] == "+44 20 7946 0123"
    await control(world, doc_id, "dial", number="+44 20 7946 0123")
    missed = await call_in(world, doc_id, "no_answer")
    assert missed["available_actions"] == ["retry_callback", "end"]
    await control(world, doc_id, "retry_callback")
    connected = await call_in(world, doc_id, "connected")
    assert connected["available_actions"] == ["hold", "mute", "transfer", "end"]
    assert connected["connected_at"] is not None
    await control(world, doc_id, "mute")

    async def muted() -> dict[str, Any] | None:
        r = await world.api.get(f"/interactions/{doc_id}/call", headers=world.auth("alice"))
        body: dict[str, Any] = r.json()
        return body if body["muted"] else None

    now = await eventually(muted, "the call to be muted")
    assert now["available_actions"] == ["hold", "unmute", "transfer", "end"]
    [call] = (await world.sim_state())["calls"]
    assert call["history"] == ["dial", "retry_callback", "mute"]
    assert call["interaction_id"] == doc_id
