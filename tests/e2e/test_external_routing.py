"""External routing end to end: Omniroute and the simulator as real processes on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from omniroute.spokes import signing
from omniroute.store import tables as t
from tests.e2e.conftest import SECRET, SPOKE, World, eventually

pytestmark = pytest.mark.timeout(180)

AGENT_OF = {"alice": "sim-agent-1", "bob": "sim-agent-2", "carol": "sim-agent-3"}


async def import_catalog(world: World) -> dict[str, Any]:
    r = await world.api.post(
        f"/spokes/{SPOKE}/import",
        json={"queue_defaults": {"channels": ["chat"], "rule_id": "standard"}},
        headers=world.auth("admin"),
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def general_queue(world: World) -> str:
    queues = await world.get("/queues")
    return str(next(q["id"] for q in queues if q["provider_queue_id"] == "sim-queue-general"))


async def sign_in_and_go_on_queue(world: World, *agents: str) -> None:
    for agent in agents:
        r = await world.sim_api.post(f"/sim/agents/{AGENT_OF[agent]}/sign-in")
        assert r.status_code == 200, r.text
        r = await world.api.put(
            f"/agents/{agent}/presence",
            json={"presence_id": "available"},
            headers=world.auth(agent),
        )
        assert r.status_code == 200, r.text

    async def on_queue() -> bool:
        state = await world.sim_state()
        states = {a["id"]: a["state"] for a in state["agents"]}
        return all(states[AGENT_OF[a]] == "On Queue" for a in agents)

    await eventually(on_queue, "the simulator to see the agents on queue")


async def new_chat(world: World, queue: str) -> str:
    r = await world.api.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": queue, "subject": "help"},
        headers=world.auth("integration"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def offered(world: World, doc_id: str, *agents: str) -> tuple[str, dict[str, Any]]:
    """Wait until one of the agents has a pending offer for the document's live work item."""

    async def probe() -> tuple[str, dict[str, Any]] | None:
        doc = await world.get(f"/interactions/{doc_id}")
        for agent in agents:
            for offer in await world.offers(agent):
                if offer["work_item_id"] == doc["work_item_id"]:
                    return agent, offer
        return None

    return await eventually(probe, f"an offer of {doc_id} to one of {agents}")


async def test_catalog_identity_presence_offers_transfers_and_wrap_up(world: World) -> None:
    first = await import_catalog(world)
    assert first["kinds"]["queues"]["counts"]["new"] == 3
    assert len(first["kinds"]["skills"]["imported"]) == 4
    assert len(first["kinds"]["wrap_up_codes"]["imported"]) == 3
    second = await import_catalog(world)
    for kind in ("skills", "queues", "wrap_up_codes"):
        assert second["kinds"][kind]["imported"] == []
        assert second["kinds"][kind]["counts"]["new"] == 0
        assert second["kinds"][kind]["counts"]["changed"] == 0
    queue = await general_queue(world)

    # Presence both ways: ours to the provider on sign-in, the provider's back to us.
    await sign_in_and_go_on_queue(world, "alice")
    r = await world.sim_api.post(f"/sim/agents/{AGENT_OF['bob']}/sign-in")
    assert r.status_code == 200, r.text
    r = await world.sim_api.post(
        f"/sim/agents/{AGENT_OF['bob']}/presence", json={"state": "On Queue"}
    )
    assert r.status_code == 200, r.text
    bob = await world.get("/agents/bob/presence", "bob")
    assert bob["presence_id"] == "available"
    r = await world.sim_api.post(f"/sim/agents/{AGENT_OF['carol']}/sign-in")
    r = await world.sim_api.post(
        f"/sim/agents/{AGENT_OF['carol']}/presence", json={"state": "Break"}
    )
    incidents = await world.get(f"/spokes/{SPOKE}/incidents")
    assert any(i["kind"] == "unmapped_presence" for i in incidents)
    assert (await world.get("/agents/carol/presence", "carol"))["presence_id"] == "offline"

    # The provider routes; a reject goes back and it re-offers to the other agent.
    doc_id = await new_chat(world, queue)
    first_agent, offer = await offered(world, doc_id, "alice", "bob")
    r = await world.api.post(
        f"/offers/{offer['id']}/reject",
        json={"reason_id": "wrong"},
        headers=world.auth(first_agent),
    )
    assert r.status_code == 200, r.text
    holder = "bob" if first_agent == "alice" else "alice"
    _, offer = await offered(world, doc_id, holder)
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth(holder))
    assert r.status_code == 200, r.text
    other = first_agent

    # Transfer to an agent goes through the provider; cancelling withdraws the target's offer.
    r = await world.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=world.auth(holder)
    )
    assert r.status_code == 201, r.text
    transfer_id = r.json()["id"]

    async def transfer_offered() -> dict[str, Any] | None:
        return next(
            (o for o in await world.offers(other) if o["work_item_id"] == transfer_id), None
        )

    transfer_offer = await eventually(transfer_offered, "the provider to offer the transfer")
    r = await world.api.delete(f"/documents/{doc_id}/transfer", headers=world.auth(holder))
    assert r.status_code == 200, r.text
    withdrawn = await world.get(f"/offers/{transfer_offer['id']}")
    assert withdrawn["state"] == "withdrawn"

    # Transfer to an agent, completed: the provider offers it and the target takes over.
    r = await world.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=world.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(world, doc_id, other)
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth(other))
    assert r.status_code == 200, r.text
    assert (await world.get(f"/interactions/{doc_id}"))["agent_id"] == other
    capacity = await world.get(f"/agents/{holder}/capacity", holder)
    assert capacity["channels"]["chat"]["load"] == 0
    holder, other = other, holder

    # Transfer to a queue: the provider routes it and the new agent takes over.
    async def sim_agent_free() -> bool:
        agents = (await world.sim_state())["agents"]
        return not next(a for a in agents if a["id"] == AGENT_OF[other])["work"]

    await eventually(sim_agent_free, "the provider to free the previous holder")
    r = await world.api.post(
        f"/documents/{doc_id}/transfer", json={"target_queue_id": queue}, headers=world.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(world, doc_id, other)
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth(other))
    assert r.status_code == 200, r.text
    interaction = await world.get(f"/interactions/{doc_id}")
    assert interaction["agent_id"] == other
    capacity = await world.get(f"/agents/{holder}/capacity", holder)
    assert capacity["channels"]["chat"]["load"] == 0

    # End with a wrap-up code: the provider gets it.
    resolved = next(
        c["id"]
        for c in await world.get("/wrap-up-codes")
        if c.get("provider_id") == "sim-wrap-resolved"
    )
    r = await world.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": resolved, "notes": "sorted"},
        headers=world.auth(other),
    )
    assert r.json()["state"] == "closed_complete", r.text

    async def wrapped() -> dict[str, Any] | None:
        ups = (await world.sim_state())["wrap_ups"]
        return next((w for w in ups if w.get("document_id") == doc_id), None)

    wrap_up = await wrapped_or_fail(wrapped)
    assert wrap_up["notes"] == "sorted"

    # Delivered in order: the provider saw this document's events in our outbox order.
    async def delivered_in_order() -> bool:
        events = await world.get("/outbox", state="delivered", limit=1000)
        ours = [
            e["id"] for e in sorted(events, key=lambda e: e["seq"]) if e["ordering_key"] == doc_id
        ]
        theirs: list[str] = (await world.sim_state())["order"][doc_id]
        return ours == theirs

    await eventually(delivered_in_order, "the provider's order to match our outbox order")


async def wrapped_or_fail(probe: Any) -> dict[str, Any]:
    result: dict[str, Any] = await eventually(probe, "the provider to receive the wrap-up")
    return result


async def test_timeout_duplicates_and_work_offer_errors(world: World) -> None:
    await import_catalog(world)
    queue = await general_queue(world)
    await sign_in_and_go_on_queue(world, "alice", "bob")

    # A duplicated Work Offer call makes one offer.
    r = await world.sim_api.post("/sim/faults", json={"duplicate_work_offers": True})
    assert r.status_code == 200
    doc_id = await new_chat(world, queue)
    first_agent, offer = await offered(world, doc_id, "alice", "bob")
    async with world.db.session() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(t.OfferRow)
            .where(t.OfferRow.work_item_id == offer["work_item_id"])
        )
    assert count == 1

    async def both_calls_answered() -> list[bool] | None:
        records = [o for o in (await world.sim_state())["offers"] if o.get("replayed")]
        return records[0]["replayed"] if records else None

    assert await eventually(both_calls_answered, "the duplicated call's answer") == [False, True]
    await world.sim_api.post("/sim/faults", json={})

    # Nobody answers: the offer times out, the provider hears it and offers to the other agent.
    other = "bob" if first_agent == "alice" else "alice"
    _, second = await offered(world, doc_id, other)
    timed_out = await world.get(f"/offers/{offer['id']}")
    assert timed_out["state"] == "timed_out"
    assert second["id"] != offer["id"]

    # The Work Offer API's error codes, from the real server.
    async def call(body: dict[str, Any]) -> tuple[int, str]:
        r = await world.api.post(
            "/work-offers", json={"spoke": SPOKE} | body, headers=world.auth("integration")
        )
        return r.status_code, r.json().get("error", {}).get("code", "")

    r = await world.api.post(f"/offers/{second['id']}/accept", headers=world.auth(other))
    assert r.status_code == 200
    assert await call({"document_id": doc_id, "provider_agent_id": AGENT_OF[first_agent]}) == (
        409,
        "WORK_ITEM_ALREADY_ACCEPTED",
    )
    fresh = await new_chat(world, "support")
    cases: dict[str, dict[str, Any]] = {
        "AGENT_NOT_AVAILABLE": {"document_id": fresh, "agent_id": "carol"},
        "NOT_FOUND": {"document_id": fresh, "provider_agent_id": "nobody"},
        "INVALID_TIMEOUT": {"document_id": fresh, "agent_id": "alice", "timeout": -1},
        "INVALID_OFFERED_AT": {
            "document_id": fresh,
            "agent_id": "alice",
            "offered_at": "not a time",
        },
        "OFFER_EXPIRED": {
            "document_id": fresh,
            "agent_id": "alice",
            "timeout": 5,
            "offered_at": "2020-01-01T00:00:00Z",
        },
        "DOCUMENT_NOT_ACTIVE": {"document_id": "no-such-document", "agent_id": "alice"},
    }
    for code, body in cases.items():
        status, got = await call(body)
        assert got == code, (code, status, got)
    r = await world.api.patch(
        "/agents/carol", json={"allow_external": False}, headers=world.auth("admin")
    )
    assert r.status_code == 200
    assert (await call({"document_id": fresh, "agent_id": "carol"}))[1] == (
        "AGENT_NOT_ALLOWED_EXTERNAL"
    )
    await auto_accept_and_provider_transfers(world, queue)


async def work_offered(world: World, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The provider's signed `work_offered` callback to the webhook spoke; its outcome."""
    envelope = {"schema_version": 1, "type": "work_offered", "id": event_id, "data": data}
    body = json.dumps([envelope]).encode()
    headers = signing.sign(SECRET, body) | {"content-type": "application/json"}
    r = await world.api.post(f"/spokes/{SPOKE}/events", content=body, headers=headers)
    assert r.status_code == 200, r.text
    [outcome] = r.json()["events"]
    result: dict[str, Any] = outcome
    return result


async def provider_saw_accept(world: World, agent: str, work_item_id: str) -> None:
    """Wait until the provider heard (offer_outcome) that the agent took the work item."""

    async def probe() -> bool:
        agents = {a["id"]: a for a in (await world.sim_state())["agents"]}
        work = agents[AGENT_OF[agent]]["work"]
        return any(w["work_item_id"] == work_item_id for w in work)

    await eventually(probe, f"the provider to hear {agent} took {work_item_id}")


async def auto_accept_and_provider_transfers(world: World, queue: str) -> None:
    """Auto-accept and the transfer block through the webhook spoke's signed callbacks."""
    r = await world.api.patch(
        f"/queues/{queue}", json={"channels": ["chat", "voice"]}, headers=world.auth("admin")
    )
    assert r.status_code == 200, r.text
    # A call the provider answered before Omniroute routed it: no work item yet.
    r = await world.api.post(
        "/interactions", json={"channel_id": "voice"}, headers=world.auth("integration")
    )
    assert r.status_code == 201, r.text
    call_id = r.json()["id"]
    assert r.json()["work_item_id"] is None
    offer = {"document_id": call_id, "provider_agent_id": AGENT_OF["alice"]}
    from_queue = {"type": "blind", "source_provider_queue_id": "sim-queue-general"}
    auto = {"auto_accept": True, "display_option": "card_and_tab"}
    refused = await work_offered(
        world, "wo-1", offer | auto | {"external_segment_id": "seg-1", "transfer": {}}
    )
    assert (refused["outcome"], refused["error"]["code"]) == ("refused", "VALIDATION_ERROR")
    taken = await work_offered(
        world, "wo-2", offer | auto | {"external_segment_id": "seg-2", "transfer": from_queue}
    )
    assert taken["outcome"] == "offered", taken
    # Accepted on alice's behalf: no pending offer, and the provider hears it was accepted.
    call = await world.get(f"/interactions/{call_id}")
    assert call["agent_id"] == "alice"
    pending = [o for o in await world.offers("alice") if o["work_item_id"] == call["work_item_id"]]
    assert pending == []
    item = await world.get(f"/work-items/{call['work_item_id']}")
    assert (item["queue_id"], item["channel_id"]) == (queue, "voice")
    accepted = await world.get(f"/offers/{taken['offer_id']}", "alice")
    assert (accepted["state"], accepted["display_option"]) == ("accepted", "card_and_tab")
    await provider_saw_accept(world, "alice", call["work_item_id"])

    # The provider moves the call from alice to bob; bob accepts with a click.
    onward = {
        "document_id": call_id,
        "provider_agent_id": AGENT_OF["bob"],
        "external_segment_id": "seg-3",
        "transfer": {"type": "blind", "from_provider_agent_id": AGENT_OF["alice"]},
    }
    moved = await work_offered(world, "wo-3", onward)
    assert moved["outcome"] == "offered", moved
    r = await world.api.post(f"/offers/{moved['offer_id']}/accept", headers=world.auth("bob"))
    assert r.status_code == 200, r.text
    call = await world.get(f"/interactions/{call_id}")
    assert call["agent_id"] == "bob"
    item = await world.get(f"/work-items/{call['work_item_id']}")
    assert (item["transfer_type"], item["transfer_from_agent_id"]) == ("blind", "alice")
    await provider_saw_accept(world, "bob", call["work_item_id"])


async def test_provider_down_then_back_loses_nothing_and_keeps_order(world: World) -> None:
    await import_catalog(world)
    queue = await general_queue(world)
    r = await world.sim_api.post("/sim/faults", json={"webhook_status": 503, "count": 4})
    assert r.status_code == 200
    docs = [await new_chat(world, queue) for _ in range(3)]

    async def all_delivered() -> list[dict[str, Any]] | None:
        waiting = [e for e in await world.get("/outbox", limit=1000) if e["ordering_key"] in docs]
        delivered = [
            e
            for e in await world.get("/outbox", state="delivered", limit=1000)
            if e["ordering_key"] in docs
        ]
        return delivered if not waiting and len(delivered) >= 3 else None

    events = await eventually(all_delivered, "every event delivered after the outage", 60.0)
    assert any(e["attempts"] > 1 for e in events)
    state = await world.sim_state()
    for doc_id in docs:
        ours = [
            e["id"] for e in sorted(events, key=lambda e: e["seq"]) if e["ordering_key"] == doc_id
        ]
        assert state["order"][doc_id] == ours
    received = [e for e in state["events"] if e["type"] == "new_interaction"]
    assert len({e["id"] for e in received}) == len(received) == 3
