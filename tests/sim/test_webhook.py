"""The simulator's webhook receiver: signatures, dedupe, each event type, faults, restart."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from omniroute.sim.world import World
from omniroute.spokes.signing import sign
from tests.sim.conftest import SECRET, Sim, make_envelope, make_world, new_interaction, outcome


async def test_good_signature_is_processed(sim: Sim) -> None:
    response = await sim.post_event("new_interaction", new_interaction("w1"), id="e1")
    assert response.status_code == 200
    assert response.json() == {"status": "processed", "id": "e1"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Omniroute-Timestamp": str(int(time.time())), "X-Omniroute-Signature": "v1=beef"},
        "wrong-secret",
        "stale",
    ],
)
async def test_bad_signatures_are_refused(sim: Sim, headers: object) -> None:
    body = json.dumps(make_envelope("new_interaction", new_interaction("w1"))).encode()
    if headers == "wrong-secret":
        headers = sign("another-secret", body)
    elif headers == "stale":
        headers = sign(SECRET, body, now=time.time() - 3600)
    assert isinstance(headers, dict)
    response = await sim.client.post("/webhook", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    state = await sim.state()
    assert state["items"] == []
    assert state["events"] == []
    assert state["counters"]["signature_failures"] == 1


async def test_a_tampered_body_is_refused(sim: Sim) -> None:
    body = json.dumps(make_envelope("new_interaction", new_interaction("w1"))).encode()
    headers = sign(SECRET, body)
    response = await sim.client.post("/webhook", content=body + b" ", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "INVALID_JSON"),
        (b"[]", 422, "INVALID_ENVELOPE"),
        (
            json.dumps({"schema_version": 2, "id": "x", "type": "t"}).encode(),
            422,
            "INVALID_ENVELOPE",
        ),
        (json.dumps({"schema_version": 1, "type": "t"}).encode(), 422, "INVALID_ENVELOPE"),
        (
            json.dumps({"schema_version": 1, "id": "x", "type": "t", "data": []}).encode(),
            422,
            "INVALID_ENVELOPE",
        ),
    ],
)
async def test_malformed_envelopes(sim: Sim, body: bytes, status: int, code: str) -> None:
    response = await sim.client.post("/webhook", content=body, headers=sign(SECRET, body))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_unknown_event_types_are_acknowledged_and_ignored(sim: Sim) -> None:
    response = await sim.post_event("future_event", {"x": 1})
    assert response.json()["status"] == "ignored"
    assert (await sim.state())["counters"]["webhooks_ignored"] == 1


async def test_a_duplicate_id_is_not_processed_again(sim: Sim) -> None:
    first = await sim.post_event("new_interaction", new_interaction("w1"), id="same")
    await sim.platform.settle()
    second = await sim.post_event("new_interaction", new_interaction("w2"), id="same", attempt=2)
    assert first.json()["status"] == "processed"
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    state = await sim.state()
    assert [i["work_item_id"] for i in state["items"]] == ["w1"]
    assert [e["id"] for e in state["events"]] == ["same"]
    assert state["counters"]["webhooks_duplicate"] == 1
    assert len(sim.fake.offers) == 1


async def test_events_are_logged_in_order_per_ordering_key(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"), id="e1", ordering_key="d1")
    await sim.post_event("new_interaction", new_interaction("w2"), id="e2", ordering_key="d2")
    await sim.post_event(
        "offer_outcome", outcome("w1", "sim-a1", "accepted"), id="e3", ordering_key="d1"
    )
    state = await sim.state()
    assert state["order"] == {"d1": ["e1", "e3"], "d2": ["e2"]}
    assert [(e["seq"], e["type"]) for e in state["events"]] == [
        (1, "new_interaction"),
        (2, "new_interaction"),
        (3, "offer_outcome"),
    ]
    assert all(e["attempt"] == 1 and e["created_at"] for e in state["events"])


async def test_new_interaction_goes_to_the_longest_idle_agent(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    item = state["items"][0]
    assert item["status"] == "offered"
    assert item["agent_id"] == "sim-a1"
    assert item["offers"] == 1
    agents = {a["id"]: a for a in state["agents"]}
    assert agents["sim-a1"]["offering"] == ["w1"]
    assert not agents["sim-a1"]["routable"]
    assert agents["sim-a2"]["routable"]
    assert state["counters"]["offers_made"] == 1


async def test_queue_skills_narrow_the_choice(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1", queue="q-billing"))
    assert (await sim.item("w1") or {})["agent_id"] == "sim-a2"


async def test_items_wait_for_a_free_agent(sim: Sim) -> None:
    for n in range(1, 5):
        await sim.post_event("new_interaction", new_interaction(f"w{n}"))
    state = await sim.state()
    offered = {i["work_item_id"]: i["agent_id"] for i in state["items"] if i["agent_id"]}
    assert offered == {"w1": "sim-a1", "w2": "sim-a2", "w3": "sim-a3"}
    general = next(q for q in state["queues"] if q["id"] == "q-general")
    assert general["waiting"] == ["w4"]


async def test_priority_then_age_decides_what_waits(sim: Sim) -> None:
    for agent in ("sim-a2", "sim-a3"):
        await sim.client.post(f"/sim/agents/{agent}/presence", json={"state": "Away"})
    await sim.post_event("new_interaction", new_interaction("busy"))
    await sim.post_event("new_interaction", new_interaction("later", priority=50))
    await sim.post_event("new_interaction", new_interaction("urgent", priority=1))
    await sim.post_event("offer_outcome", outcome("busy", "sim-a1", "accepted"))
    await sim.post_event(
        "end_interaction", {"document_id": "doc-busy", "provider_agent_id": "sim-a1"}
    )
    assert (await sim.item("urgent") or {})["agent_id"] == "sim-a1"
    assert (await sim.item("later") or {})["status"] == "waiting"


async def test_an_unknown_queue_keeps_the_item_unrouted(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1", queue="q-nowhere"))
    state = await sim.state()
    assert state["items"][0]["status"] == "waiting"
    assert state["counters"]["items_unknown_queue"] == 1
    assert sim.fake.offers == []


async def test_accepted_makes_the_agent_busy(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "accepted"))
    agent = await sim.agent("sim-a1")
    assert agent["work"] == [{"work_item_id": "w1", "document_id": "doc-w1"}]
    assert agent["offering"] == []
    assert (await sim.item("w1") or {})["status"] == "accepted"


@pytest.mark.parametrize("result", ["rejected", "timed_out"])
async def test_a_declined_offer_goes_to_another_agent(sim: Sim, result: str) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", result))
    item = await sim.item("w1") or {}
    assert item["agent_id"] == "sim-a2"
    assert item["declined_by"] == ["sim-a1"]
    assert item["offers"] == 2
    assert [o["body"]["provider_agent_id"] for o in sim.fake.offers] == ["sim-a1", "sim-a2"]
    segments = {o["body"]["external_segment_id"] for o in sim.fake.offers}
    assert len(segments) == 2
    assert (await sim.agent("sim-a1"))["offering"] == []


async def test_when_everyone_declined_a_reassignable_decliner_gets_it_again(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    for agent in ("sim-a1", "sim-a2", "sim-a3"):
        await sim.platform.settle()
        await sim.post_event("offer_outcome", outcome("w1", agent, "rejected", reassignable=True))
    item = await sim.item("w1") or {}
    assert item["declined_by"] == ["sim-a1", "sim-a2", "sim-a3"]
    assert item["excluded"] == []
    assert item["agent_id"] == "sim-a1"


async def test_a_rejection_without_a_reassignable_reason_excludes_for_good(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "rejected"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a2", "rejected", reassignable=False))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a3", "timed_out"))
    item = await sim.item("w1") or {}
    assert item["excluded"] == ["sim-a1", "sim-a2"]
    assert item["status"] == "waiting"
    assert len(sim.fake.offers) == 3


@pytest.mark.parametrize("world", [make_world(agents=2)])
async def test_a_timeout_is_not_for_good(sim: Sim, world: World) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "timed_out"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a2", "timed_out"))
    item = await sim.item("w1") or {}
    assert item["agent_id"] == "sim-a1"
    assert item["excluded"] == []


@pytest.mark.parametrize("world", [make_world(agents=1)])
async def test_a_lone_decliner_is_not_offered_the_same_item_again(sim: Sim, world: World) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "rejected"))
    assert (await sim.item("w1") or {})["status"] == "waiting"
    assert len(sim.fake.offers) == 1


async def test_withdrawn_drops_the_item(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "withdrawn"))
    state = await sim.state()
    assert state["items"] == []
    assert state["counters"]["items_withdrawn"] == 1


async def test_a_stale_outcome_is_ignored(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a3", "rejected"))
    state = await sim.state()
    assert state["items"][0]["agent_id"] == "sim-a1"
    assert state["counters"]["outcomes_stale"] == 1


async def test_end_interaction_frees_the_agent_and_records_the_wrap_up(sim: Sim) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "accepted"))
    end = {
        "document_type": "interaction",
        "document_id": "doc-w1",
        "work_item_id": "w1",
        "state": "closed_complete",
        "wrap_up_code_id": "our-resolved",
        "wrap_up_code_name": "Resolved",
        "notes": "all good",
        "at": "2026-01-01T10:00:00+00:00",
        "agent_id": "alice",
        "provider_agent_id": "sim-a1",
    }
    await sim.post_event("end_interaction", end)
    state = await sim.state()
    assert state["items"] == []
    agents = {a["id"]: a for a in state["agents"]}
    assert agents["sim-a1"]["work"] == []
    assert agents["sim-a1"]["routable"]
    # Just freed, so now the one idle for the shortest time.
    assert agents["sim-a1"]["idle_rank"] > max(agents[a]["idle_rank"] for a in ("sim-a2", "sim-a3"))
    assert state["wrap_ups"] == [
        {
            "document_id": "doc-w1",
            "work_item_id": "w1",
            "provider_agent_id": "sim-a1",
            "state": "closed_complete",
            "wrap_up_code_id": "our-resolved",
            "wrap_up_code_name": "Resolved",
            "provider_wrap_up_code_id": "w-resolved",
            "notes": "all good",
            "at": "2026-01-01T10:00:00+00:00",
        }
    ]
    await sim.post_event("new_interaction", new_interaction("w2"))
    assert (await sim.item("w2") or {})["agent_id"] == "sim-a2"


async def test_end_interaction_of_waiting_work_drops_it(sim: Sim) -> None:
    await sim.client.post("/sim/agents/sim-a1/presence", json={"state": "Away", "notify": False})
    for agent in ("sim-a2", "sim-a3"):
        await sim.client.post(f"/sim/agents/{agent}/presence", json={"state": "Away"})
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.post_event("end_interaction", {"document_id": "doc-w1", "state": "closed_abandoned"})
    state = await sim.state()
    assert state["items"] == []
    assert state["counters"]["items_ended_unassigned"] == 1
    assert state["wrap_ups"][0]["provider_wrap_up_code_id"] is None


def _transfer(
    transfer_id: str, document_id: str, to: str | None, sender: str, kind: str = "blind"
) -> dict[str, object]:
    data = new_interaction(transfer_id, document_id=document_id)
    return data | {
        "transfer_id": transfer_id,
        "transfer_type": kind,
        "from": {"agent_id": None, "provider_agent_id": sender},
        "to": {"agent_id": None, "provider_agent_id": to},
    }


async def _accepted(sim: Sim, work_item_id: str, agent: str) -> None:
    await sim.post_event("new_interaction", new_interaction(work_item_id))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome(work_item_id, agent, "accepted"))


async def test_transfer_to_agent_offers_the_target(sim: Sim) -> None:
    await _accepted(sim, "w1", "sim-a1")
    await sim.post_event("transfer_to_agent", _transfer("t1", "doc-w1", "sim-a3", "sim-a1"))
    item = await sim.item("t1") or {}
    assert item["kind"] == "transfer_agent"
    assert item["agent_id"] == "sim-a3"
    assert sim.fake.offers[-1]["body"]["work_item_id"] == "t1"
    assert sim.fake.offers[-1]["body"]["provider_agent_id"] == "sim-a3"
    await sim.post_event("offer_outcome", outcome("t1", "sim-a3", "accepted", "doc-w1"))
    state = await sim.state()
    agents = {a["id"]: a for a in state["agents"]}
    assert agents["sim-a1"]["work"] == []
    assert agents["sim-a3"]["work"] == [{"work_item_id": "t1", "document_id": "doc-w1"}]
    assert [i["work_item_id"] for i in state["items"]] == ["t1"]


async def test_an_accepted_consult_keeps_the_sender_busy(sim: Sim) -> None:
    await _accepted(sim, "w1", "sim-a1")
    transfer = _transfer("t1", "doc-w1", "sim-a2", "sim-a1", kind="consult")
    await sim.post_event("transfer_to_agent", transfer)
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("t1", "sim-a2", "accepted", "doc-w1"))
    assert (await sim.agent("sim-a1"))["work"] != []
    await sim.post_event("end_interaction", {"document_id": "doc-w1"})
    state = await sim.state()
    assert all(a["work"] == [] for a in state["agents"])


async def test_a_declined_transfer_is_dropped_and_the_sender_keeps_the_work(sim: Sim) -> None:
    await _accepted(sim, "w1", "sim-a1")
    await sim.post_event("transfer_to_agent", _transfer("t1", "doc-w1", "sim-a2", "sim-a1"))
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("t1", "sim-a2", "rejected", "doc-w1"))
    state = await sim.state()
    assert [i["work_item_id"] for i in state["items"]] == ["w1"]
    assert state["counters"]["items_transfer_declined"] == 1
    assert {a["id"]: a["work"] != [] for a in state["agents"]}["sim-a1"]


async def test_a_transfer_to_an_unknown_agent_is_not_routed(sim: Sim) -> None:
    await _accepted(sim, "w1", "sim-a1")
    await sim.post_event("transfer_to_agent", _transfer("t1", "doc-w1", "sim-ghost", "sim-a1"))
    state = await sim.state()
    assert state["counters"]["items_unknown_target"] == 1
    assert "t1" not in {i["work_item_id"] for i in state["items"]}


async def test_transfer_to_queue_routes_within_the_queue_without_the_sender(sim: Sim) -> None:
    await _accepted(sim, "w1", "sim-a1")
    await sim.post_event("transfer_to_queue", _transfer("t1", "doc-w1", None, "sim-a1"))
    item = await sim.item("t1") or {}
    assert item["kind"] == "transfer_queue"
    assert item["from_agent_id"] == "sim-a1"
    assert item["agent_id"] == "sim-a2"


async def test_cancel_transfer_drops_it(sim: Sim) -> None:
    await _accepted(sim, "w1", "sim-a1")
    transfer = _transfer("t1", "doc-w1", "sim-a2", "sim-a1")
    await sim.post_event("transfer_to_agent", transfer)
    await sim.platform.settle()
    await sim.post_event("cancel_transfer", transfer)
    state = await sim.state()
    assert [i["work_item_id"] for i in state["items"]] == ["w1"]
    assert {a["id"]: a["offering"] for a in state["agents"]}["sim-a2"] == []
    assert state["counters"]["items_transfer_cancelled"] == 1


async def test_agent_presence_older_than_the_platform_state_is_ignored(sim: Sim) -> None:
    before = (await sim.agent("sim-a1"))["state"]
    await sim.post_event(
        "agent_presence",
        {
            "agent_id": "alice",
            "provider_agent_id": "sim-a1",
            "presence_id": "away",
            "provider_state": "Away",
            "channel_available": {},
            "at": "2020-01-01T10:00:00+00:00",
        },
        ordering_key="agent:alice",
    )
    assert (await sim.agent("sim-a1"))["state"] == before != "Away"
    assert (await sim.state())["counters"]["presence_stale"] == 1


async def test_agent_presence_sets_the_state_and_links(sim: Sim) -> None:
    await sim.post_event(
        "agent_presence",
        {
            "agent_id": "alice",
            "provider_agent_id": "sim-a1",
            "presence_id": "away",
            "provider_state": "Away",
            "channel_available": {},
            "at": datetime.now(UTC).isoformat(),
        },
        ordering_key="agent:alice",
    )
    agent = await sim.agent("sim-a1")
    assert agent["state"] == "Away"
    assert agent["omniroute_agent_id"] == "alice"
    assert not agent["routable"]
    await sim.post_event("new_interaction", new_interaction("w1"))
    assert (await sim.item("w1") or {})["agent_id"] == "sim-a2"


@pytest.mark.parametrize("world", [make_world(agents=1)])
async def test_agent_presence_on_queue_routes_waiting_work(sim: Sim, world: World) -> None:
    sim.platform.agents["sim-a1"].linked = False
    await sim.post_event("new_interaction", new_interaction("w1"))
    assert (await sim.item("w1") or {})["status"] == "waiting"
    await sim.post_event(
        "agent_presence", {"provider_agent_id": "sim-a1", "provider_state": "On Queue"}
    )
    agent = await sim.agent("sim-a1")
    assert agent["linked"]
    assert (await sim.item("w1") or {})["agent_id"] == "sim-a1"


async def test_agent_presence_for_an_unknown_agent_is_counted(sim: Sim) -> None:
    await sim.post_event("agent_presence", {"provider_agent_id": "ghost", "provider_state": "Away"})
    assert (await sim.state())["counters"]["presence_unknown_agent"] == 1


async def test_webhook_status_fault_answers_the_next_n(sim: Sim) -> None:
    response = await sim.client.post("/sim/faults", json={"webhook_status": 503, "count": 2})
    assert response.json()["webhook_status"] == 503
    statuses = []
    for _ in range(3):
        reply = await sim.post_event("new_interaction", new_interaction("w1"), id="e1")
        statuses.append(reply.status_code)
    assert statuses == [503, 503, 200]
    state = await sim.state()
    assert state["counters"]["webhooks_failed_by_fault"] == 2
    assert state["faults"]["webhook_status"] is None
    assert [e["id"] for e in state["events"]] == ["e1"]


async def test_delay_fault_delays_webhook_answers(sim: Sim) -> None:
    await sim.client.post("/sim/faults", json={"delay_ms": 250})
    reply = await sim.post_event("new_interaction", new_interaction("w1"))
    assert reply.status_code == 200
    assert 0.25 in sim.sleeps
    faults = (await sim.client.get("/sim/faults")).json()
    assert faults["delay_ms"] == 250
    cleared = (await sim.client.post("/sim/faults", json={})).json()
    assert cleared == {
        "webhook_status": None,
        "count": 0,
        "delay_ms": 0,
        "duplicate_work_offers": False,
        "drop_offers": False,
    }


async def test_faults_are_validated(sim: Sim) -> None:
    assert (await sim.client.post("/sim/faults", json={"webhook_status": 200})).status_code == 422
    assert (await sim.client.post("/sim/faults", json={"colour": 1})).status_code == 422


async def test_restart_forgets_routing_state_but_not_the_world(sim: Sim) -> None:
    await sim.client.post("/sim/agents/sim-a3/presence", json={"state": "Away"})
    await sim.post_event("new_interaction", new_interaction("w1"), id="e1")
    await sim.platform.settle()
    await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "accepted"))
    response = await sim.client.post("/sim/restart")
    assert response.json() == {"restarted": True, "restarts": 1}
    state = await sim.state()
    assert state["items"] == []
    agents = {a["id"]: a for a in state["agents"]}
    assert agents["sim-a1"]["work"] == []
    assert agents["sim-a3"]["state"] == "Away"
    assert all(a["linked"] for a in state["agents"])
    # Seen ids are forgotten too: a redelivery is processed again.
    again = await sim.post_event("new_interaction", new_interaction("w1"), id="e1", attempt=2)
    assert again.json()["status"] == "processed"
    assert (await sim.item("w1") or {})["status"] == "offered"


async def test_healthz(sim: Sim) -> None:
    assert (await sim.client.get("/healthz")).json() == {"status": "ok"}


async def test_unusable_data_is_refused_and_not_remembered(sim: Sim) -> None:
    bad = new_interaction("w1") | {"priority": "high"}
    response = await sim.post_event("new_interaction", bad, id="e1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_DATA"
    state = await sim.state()
    assert state["items"] == []
    assert state["events"] == []
    retry = await sim.post_event("new_interaction", new_interaction("w1"), id="e1")
    assert retry.json()["status"] == "processed"
