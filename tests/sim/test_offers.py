"""The simulator's Work Offer calls against a fake Omniroute: request shape and error handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omniroute.sim.world import World
from tests.sim.conftest import SPOKE, TOKEN, Sim, error, make_world, new_interaction, outcome


async def test_the_request_follows_the_work_offer_contract(sim: Sim) -> None:
    before = datetime.now(UTC)
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    [call] = sim.fake.offers
    headers, body = call["headers"], call["body"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json"
    segment = body.pop("external_segment_id")
    offered_at = datetime.fromisoformat(body.pop("offered_at"))
    assert body == {
        "spoke": SPOKE,
        "work_item_id": "w1",
        "provider_agent_id": "sim-a1",
        "timeout": 30,
        "allowed_to_decline": True,
        "auto_accept": False,
    }
    assert offered_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= offered_at <= datetime.now(UTC)
    assert headers["idempotency-key"] == f"sim-offer-{segment}"
    [record] = state["offers"]
    assert record["external_segment_id"] == segment
    assert record["result"] == "offered"
    assert record["http_status"] == 201
    assert record["offer_id"]
    assert record["statuses"] == [[201]]


@pytest.mark.parametrize("world", [make_world(offer_timeout_s=12.5, think_ms=40)])
async def test_settings_shape_the_offer(sim: Sim, world: World) -> None:
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle()
    assert sim.fake.offers[0]["body"]["timeout"] == 12.5
    assert sim.sleeps == [0.04]


async def test_agent_not_available_moves_on_to_the_next_agent(sim: Sim) -> None:
    sim.fake.scripted["sim-a1"] = [error("AGENT_NOT_AVAILABLE", field="provider_agent_id")]
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    assert [o["body"]["provider_agent_id"] for o in sim.fake.offers] == ["sim-a1", "sim-a2"]
    item = state["items"][0]
    assert item["agent_id"] == "sim-a2"
    assert item["status"] == "offered"
    assert item["skipped"] == ["sim-a1"]
    assert [o["result"] for o in state["offers"]] == ["failed", "offered"]
    assert state["offers"][0]["error_code"] == "AGENT_NOT_AVAILABLE"
    assert state["counters"]["work_offer_error_AGENT_NOT_AVAILABLE"] == 1
    # The skipped agent is not retried for that item, but still gets other work.
    await sim.post_event("new_interaction", new_interaction("w2"))
    assert (await sim.item("w2") or {})["agent_id"] == "sim-a1"


@pytest.mark.parametrize("world", [make_world(agents=1)])
async def test_a_skipped_agent_is_retried_after_news_about_it(sim: Sim, world: World) -> None:
    sim.fake.scripted["sim-a1"] = [error("AGENT_NOT_AVAILABLE")]
    await sim.post_event("new_interaction", new_interaction("w1"))
    assert (await sim.item("w1") or {})["status"] == "waiting"
    await sim.post_event(
        "agent_presence", {"provider_agent_id": "sim-a1", "provider_state": "On Queue"}
    )
    item = await sim.item("w1") or {}
    assert item["status"] == "offered"
    assert item["skipped"] == []


async def test_every_agent_unavailable_leaves_the_item_waiting(sim: Sim) -> None:
    for agent in ("sim-a1", "sim-a2", "sim-a3"):
        sim.fake.scripted[agent] = [error("AGENT_AT_CAPACITY")]
    await sim.post_event("new_interaction", new_interaction("w1"))
    item = await sim.item("w1") or {}
    assert item["status"] == "waiting"
    assert item["skipped"] == ["sim-a1", "sim-a2", "sim-a3"]
    assert len(sim.fake.offers) == 3


async def test_an_agent_omniroute_does_not_know_is_unlinked(sim: Sim) -> None:
    sim.fake.scripted["sim-a1"] = [error("NOT_FOUND", 404, "provider_agent_id")]
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    assert state["items"][0]["agent_id"] == "sim-a2"
    assert not {a["id"]: a["linked"] for a in state["agents"]}["sim-a1"]


@pytest.mark.parametrize(
    "reply",
    [
        error("WORK_ITEM_ALREADY_ACCEPTED"),
        error("WORK_ITEM_ASSIGNED"),
        error("DOCUMENT_NOT_ACTIVE"),
        error("NOT_FOUND", 404, "work_item_id"),
        error("OFFER_EXPIRED", 409, "offered_at"),
    ],
)
async def test_item_errors_drop_the_item(sim: Sim, reply: tuple[int, dict[str, object]]) -> None:
    sim.fake.scripted["sim-a1"] = [reply]
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    assert state["items"] == []
    assert len(sim.fake.offers) == 1
    assert {a["id"]: a["offering"] for a in state["agents"]}["sim-a1"] == []
    assert state["offers"][0]["result"] == "failed"


async def test_5xx_is_retried_with_backoff_and_the_same_key(sim: Sim) -> None:
    sim.fake.scripted["sim-a1"] = [error("STORE_UNAVAILABLE", 503), (502, {})]
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    assert len(sim.fake.offers) == 3
    assert len({o["headers"]["idempotency-key"] for o in sim.fake.offers}) == 1
    assert len({o["body"]["external_segment_id"] for o in sim.fake.offers}) == 1
    assert len({o["body"]["offered_at"] for o in sim.fake.offers}) == 1
    assert state["offers"][0]["statuses"] == [[503, 502, 201]]
    assert state["items"][0]["status"] == "offered"
    assert state["items"][0]["agent_id"] == "sim-a1"
    first, second = sim.sleeps
    assert 0.15 <= first <= 0.25
    assert 0.3 <= second <= 0.5


@pytest.mark.parametrize("world", [make_world(retry_attempts=2, reroute_after_s=2.0)])
async def test_a_call_that_keeps_failing_is_retried_later(sim: Sim, world: World) -> None:
    sim.fake.scripted["sim-a1"] = [error("STORE_UNAVAILABLE", 503)] * 2
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle(timers=True)
    state = await sim.state()
    assert [o["result"] for o in state["offers"]] == ["failed", "offered"]
    assert state["offers"][0]["error_code"] == "STORE_UNAVAILABLE"
    assert 2.0 in sim.sleeps
    item = state["items"][0]
    assert item["status"] == "offered"
    # A new attempt is a new segment, so Omniroute cannot mistake it for the failed one.
    assert state["offers"][0]["external_segment_id"] != state["offers"][1]["external_segment_id"]


async def test_duplicate_work_offers_sends_each_call_twice(sim: Sim) -> None:
    await sim.client.post("/sim/faults", json={"duplicate_work_offers": True})
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    assert len(sim.fake.offers) == 2
    first, second = sim.fake.offers
    assert first["body"] == second["body"]
    assert first["headers"]["idempotency-key"] == second["headers"]["idempotency-key"]
    [record] = state["offers"]
    assert record["statuses"] == [[201], [200]]
    assert record["replayed"] == [False, True]
    assert state["items"][0]["status"] == "offered"
    assert state["counters"]["offers_made"] == 1


async def test_drop_offers_holds_work_until_cleared(sim: Sim) -> None:
    await sim.client.post("/sim/faults", json={"drop_offers": True})
    await sim.post_event("new_interaction", new_interaction("w1"))
    state = await sim.state()
    assert sim.fake.offers == []
    assert state["items"][0]["status"] == "waiting"
    assert state["offers"][0]["result"] == "dropped"
    assert state["counters"]["offers_dropped"] == 1
    await sim.client.post("/sim/faults", json={})
    assert (await sim.item("w1") or {})["status"] == "offered"
    assert len(sim.fake.offers) == 1


async def test_an_outcome_that_overtakes_the_offer_response_wins(sim: Sim) -> None:
    async def accept_before_answering(body: dict[str, object]) -> None:
        reply = await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "accepted"))
        assert reply.json()["status"] == "processed"

    sim.fake.on_offer = accept_before_answering
    await sim.post_event("new_interaction", new_interaction("w1"))
    item = await sim.item("w1") or {}
    assert item["status"] == "accepted"
    assert item["offers"] == 1
    assert (await sim.agent("sim-a1"))["work"] == [{"work_item_id": "w1", "document_id": "doc-w1"}]


@pytest.mark.parametrize("world", [make_world(agents=2)])
async def test_a_reject_that_overtakes_the_offer_response_reroutes(sim: Sim, world: World) -> None:
    async def reject_before_answering(body: dict[str, object]) -> None:
        if body["provider_agent_id"] == "sim-a1":
            await sim.post_event("offer_outcome", outcome("w1", "sim-a1", "rejected"))

    sim.fake.on_offer = reject_before_answering
    await sim.post_event("new_interaction", new_interaction("w1"))
    item = await sim.item("w1") or {}
    assert item["status"] == "offered"
    assert item["agent_id"] == "sim-a2"


async def test_a_cancelled_transfer_ignores_its_late_offer_answer(sim: Sim) -> None:
    transfer = new_interaction("t1") | {
        "transfer_id": "t1",
        "transfer_type": "blind",
        "from": {"provider_agent_id": "sim-a3"},
        "to": {"provider_agent_id": "sim-a2"},
    }
    await sim.post_event("transfer_to_agent", transfer)
    await sim.post_event("cancel_transfer", transfer)
    state = await sim.state()
    assert state["items"] == []
    assert {a["id"]: a["offering"] for a in state["agents"]}["sim-a2"] == []


@pytest.mark.parametrize("world", [make_world(agents=1, retry_attempts=1)])
async def test_omniroute_down_for_a_while_then_back(sim: Sim, world: World) -> None:
    sim.fake.scripted["sim-a1"] = [error("STORE_UNAVAILABLE", 503)] * 3
    await sim.post_event("new_interaction", new_interaction("w1"))
    await sim.platform.settle(timers=True)
    state = await sim.state()
    assert [o["result"] for o in state["offers"]] == ["failed"] * 3 + ["offered"]
    assert state["items"][0]["status"] == "offered"
    assert state["counters"]["work_offer_error_STORE_UNAVAILABLE"] == 3
