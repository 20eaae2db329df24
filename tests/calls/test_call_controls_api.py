"""Call contexts from the provider and call controls from agents, over the API and the spoke."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select

from omniroute.store import tables as t
from tests.api.assertions import error
from tests.calls.conftest import Calls, later

DEADLINE_S = 15.0
CONNECTED = ["hold", "mute", "transfer", "end"]


async def wait_for_controls(calls: Calls, count: int) -> list[dict[str, Any]]:
    """The interaction_control envelopes once the provider received `count` of them."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = [e for e in calls.delivered() if e["type"] == "interaction_control"]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"only {len(found)} controls arrived"
        await asyncio.sleep(0.05)


async def stored_events(calls: Calls, agent: str, event_type: str) -> list[dict[str, Any]]:
    """The feed events of one type stored for an agent, oldest first."""
    async with calls.api.app.state.db.session() as s:
        rows = await s.scalars(
            select(t.AgentEventRow)
            .where(t.AgentEventRow.agent_id == agent, t.AgentEventRow.type == event_type)
            .order_by(t.AgentEventRow.seq)
        )
        return [dict(r.payload) for r in rows]


async def test_context_is_stored_pushed_and_read_back(calls: Calls) -> None:
    doc = await calls.voice_call("alice")
    api = calls.api
    missing = await api.client.get(f"/interactions/{doc}/call", headers=api.auth("alice"))
    error(missing, 409, "NO_CALL_CONTEXT")
    outcome = await calls.context(
        doc,
        "connected",
        CONNECTED,
        later(10),
        customer_number="+44 20 7946 0001",
        connected_at=later(9).isoformat(),
        provider_call_id="call-7",
    )
    assert outcome == {
        "id": "ctx-1",
        "outcome": "stored",
        "interaction_id": doc,
        "agents": ["alice"],
    }
    r = await api.client.get(f"/interactions/{doc}/call", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "connected"
    assert body["kind"] == "inbound"
    assert body["muted"] is False
    assert body["customer_number"] == "+44 20 7946 0001"
    assert body["available_actions"] == CONNECTED
    assert body["provider_call_id"] == "call-7"
    assert body["spoke"] == "acme"
    [pushed] = await stored_events(calls, "alice", "call.context")
    assert pushed["interaction_id"] == doc
    assert pushed["state"] == "connected"
    assert pushed["available_actions"] == CONNECTED
    assert await stored_events(calls, "bob", "call.context") == []


async def test_latest_by_time_wins_and_repeats_are_ignored(calls: Calls) -> None:
    doc = await calls.voice_call("alice")
    api = calls.api
    await calls.context(doc, "held", ["resume", "end"], later(20), event_id="held-1")
    older = await calls.context(doc, "connected", CONNECTED, later(10))
    assert older["outcome"] == "stored"
    repeat = await calls.context(doc, "held", ["resume", "end"], later(20), event_id="held-1")
    assert repeat == {"id": "held-1", "outcome": "duplicate"}
    r = await api.client.get(f"/interactions/{doc}/call", headers=api.auth("alice"))
    assert r.json()["state"] == "held"
    assert r.json()["available_actions"] == ["resume", "end"]
    async with api.app.state.db.session() as s:
        count = await s.scalar(select(func.count()).select_from(t.CallContextRow))
    assert count == 2


async def test_context_for_an_unknown_interaction_is_ignored(calls: Calls) -> None:
    outcome = await calls.context("nope", "connected", CONNECTED, later(1))
    assert outcome["outcome"] == "ignored"
    assert "nope" in outcome["reason"]


async def test_malformed_context_is_refused(calls: Calls) -> None:
    doc = await calls.voice_call("alice")
    r = await calls.inbound(
        {
            "schema_version": 1,
            "id": "bad-1",
            "type": "call_context",
            "data": {
                "interaction_id": doc,
                "state": "connected",
                "available_actions": ["teleport"],
                "occurred_at": later(1).isoformat(),
            },
        }
    )
    err = error(r, 422, "VALIDATION_ERROR")
    assert "available_actions" in err["message"]


async def test_controls_are_refused_unless_offered_and_held(calls: Calls) -> None:
    doc = await calls.voice_call("alice")
    api = calls.api
    url = f"/interactions/{doc}/controls"
    alice, bob = api.auth("alice"), api.auth("bob")
    error(
        await api.client.post(url, json={"action": "hold"}, headers=alice), 409, "NO_CALL_CONTEXT"
    )
    await calls.context(doc, "connected", CONNECTED, later(5))
    dial = await api.client.post(
        url, json={"action": "dial", "params": {"number": "+1 555 0100"}}, headers=alice
    )
    err = error(dial, 409, "CALL_ACTION_NOT_AVAILABLE", "action")
    assert "hold, mute, transfer, end" in err["message"]
    not_held = await api.client.post(url, json={"action": "hold"}, headers=bob)
    error(not_held, 403, "INTERACTION_NOT_HELD")
    no_target = await api.client.post(url, json={"action": "transfer"}, headers=alice)
    error(no_target, 422, "VALIDATION_ERROR", "params.target")
    by_admin = await api.client.post(url, json={"action": "hold"}, headers=api.auth("admin"))
    error(by_admin, 403, "FORBIDDEN")
    unknown = await api.client.post(url, json={"action": "fly"}, headers=alice)
    error(unknown, 422, "VALIDATION_ERROR", "action")
    gone = await api.client.post(
        "/interactions/nope/controls", json={"action": "hold"}, headers=alice
    )
    error(gone, 404, "NOT_FOUND")
    assert [e for e in calls.delivered() if e["type"] == "interaction_control"] == []


async def test_controls_reach_the_provider_in_order(calls: Calls) -> None:
    doc = await calls.voice_call("alice")
    api = calls.api
    await calls.context(doc, "connected", CONNECTED, later(5), provider_call_id="call-9")
    url = f"/interactions/{doc}/controls"
    sent = []
    for body in (
        {"action": "hold"},
        {"action": "mute"},
        {"action": "transfer", "params": {"target": " +44 800 000 "}},
    ):
        r = await api.client.post(url, json=body, headers=api.auth("alice"))
        assert r.status_code == 202, r.text
        assert r.json()["spoke"] == "acme"
        sent.append(r.json()["event_id"])
    controls = await wait_for_controls(calls, 3)
    assert [c["id"] for c in controls] == sent
    assert [c["data"]["action"] for c in controls] == ["hold", "mute", "transfer"]
    assert controls[2]["data"]["params"] == {"target": "+44 800 000"}
    first = controls[0]
    assert first["ordering_key"] == doc
    assert first["data"]["interaction_id"] == doc
    assert first["data"]["provider_call_id"] == "call-9"
    assert first["data"]["agent_id"] == "alice"
    assert first["data"]["provider_agent_id"] == "P-alice"
    # Every control is delivered after the events of the interaction raised before it.
    types = [e["type"] for e in calls.delivered() if e["ordering_key"] == doc]
    assert types == ["new_interaction", "offer_outcome", *(["interaction_control"] * 3)]
    hooks = [s for s in calls.receiver.requests if s.path == "/hook"]
    assert all(s.headers["idempotency-key"].startswith("ev-") for s in hooks)
