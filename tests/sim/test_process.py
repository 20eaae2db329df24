"""The `omniroute sim` command as a real process on 127.0.0.1, calling a fake Omniroute."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from omniroute.domain.outbound import RoutingEventType
from omniroute.sim.world import default_world
from omniroute.spokes.base import CatalogKind, RoutingEvent, SpokeUnavailableError
from omniroute.spokes.signing import sign
from tests.procs import Server, free_port
from tests.sim.conftest import (
    SECRET,
    SPOKE,
    FakeOmniroute,
    make_envelope,
    new_interaction,
    webhook_spoke,
)
from tests.sim.procs import start_sim

STARTUP_TIMEOUT_S = 10.0


@pytest.fixture
def fake_omniroute() -> Iterator[tuple[FakeOmniroute, str]]:
    """A fake Omniroute served by uvicorn in a thread on 127.0.0.1."""
    fake = FakeOmniroute()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:  # readiness of a server in another thread can only be polled
        assert thread.is_alive(), "fake Omniroute exited"
        assert time.monotonic() < deadline, "fake Omniroute did not start"
        time.sleep(0.01)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_sim_command_serves_and_offers(
    tmp_path: Path, fake_omniroute: tuple[FakeOmniroute, str]
) -> None:
    fake, omniroute_url = fake_omniroute
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "skills": [{"id": "sk", "name": "Skill"}],
                "queues": [{"id": "q-general", "name": "General", "channels": ["chat"]}],
                "agents": [{"id": "p1", "email": "p1@example.test", "name": "P One"}],
                "settings": {"think_ms": 500, "offer_timeout_s": 20},
            }
        )
    )
    sim = start_sim(
        tmp_path / "sim.log",
        omniroute_url=omniroute_url,
        token="tok",
        secret=SECRET,
        spoke="sim",
        think_ms=1,
        scenario=scenario,
    )
    try:
        with httpx.Client(base_url=sim.base_url, timeout=10) as client:
            queues = client.get("/catalog/queues", headers=sign(SECRET, b"")).json()
            assert [q["id"] for q in queues["items"]] == ["q-general"]
            assert client.post("/sim/agents/p1/sign-in").status_code == 200
            presence = client.post("/sim/agents/p1/presence", json={"state": "On Queue"})
            assert presence.status_code == 200
            body = json.dumps(make_envelope("new_interaction", new_interaction("w1"))).encode()
            reply = client.post("/webhook", content=body, headers=sign(SECRET, body))
            assert reply.json()["status"] == "processed"
            state = client.get("/sim/state", params={"settle": "true"}).json()
        assert state["settled"]
        assert state["settings"]["think_ms"] == 1
        assert state["items"][0]["status"] == "offered"
        assert [e["envelope"]["type"] for e in fake.events] == ["agent_signed_in", "agent_presence"]
        [offer] = fake.offers
        assert offer["body"]["provider_agent_id"] == "p1"
        assert offer["body"]["timeout"] == 20
        assert offer["headers"]["authorization"] == "Bearer tok"
    finally:
        # uvicorn shuts down cleanly, then re-raises SIGTERM.
        assert sim.terminate() in (0, -15), sim.log()
    assert "simulator for spoke 'sim'" in sim.log()
    assert "Application shutdown complete" in sim.log()


def test_a_bad_scenario_exits_with_status_2(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.json"
    scenario.write_text('{"agents": [{"id": "x"}]}')
    with pytest.raises(RuntimeError, match="invalid scenario"):
        start_sim(
            tmp_path / "sim.log",
            omniroute_url="http://127.0.0.1:9",
            token="t",
            secret="s",
            spoke="sim",
            scenario=scenario,
        )


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[Server]:
    """A simulator process with the default world and two-item catalog pages."""
    world = default_world()
    world.settings.page_size = 2
    scenario = tmp_path / "scenario.json"
    scenario.write_text(world.model_dump_json())
    server = start_sim(
        tmp_path / "sim.log",
        omniroute_url="http://127.0.0.1:9",
        token="t",
        secret=SECRET,
        spoke=SPOKE,
        scenario=scenario,
    )
    try:
        yield server
    finally:
        server.terminate()


async def test_omniroutes_webhook_spoke_talks_to_the_sim(sim_process: Server) -> None:
    base = sim_process.base_url
    spoke = webhook_spoke(f"{base}/webhook", f"{base}/catalog")
    await spoke.setup()
    try:
        await spoke.health()
        expected = default_world()
        skills = await spoke.list_catalog(CatalogKind.SKILLS)
        assert [s.provider_id for s in skills] == [s.id for s in expected.skills]
        queues = await spoke.list_catalog(CatalogKind.QUEUES)
        assert [q.provider_id for q in queues] == [q.id for q in expected.queues]
        assert queues[1].attributes["skills"] == ["sim-skill-billing"]
        codes = await spoke.list_catalog(CatalogKind.WRAP_UP_CODES)
        assert {c.provider_id: c.attributes["time_limit_s"] for c in codes}[
            "sim-wrap-follow-up"
        ] == 120
        agents = await spoke.list_catalog(CatalogKind.AGENTS)
        assert agents[0].attributes["email"] == "alice@demo.omniroute.local"
        event = RoutingEvent(
            id="ev-1",
            type=RoutingEventType.NEW_INTERACTION,
            spoke=SPOKE,
            ordering_key="doc-w1",
            created_at=datetime.now(UTC),
            attempt=1,
            payload=new_interaction("w1", queue="sim-queue-general"),
        )
        await spoke.deliver(event)
        await spoke.deliver(replace(event, attempt=2))
        async with httpx.AsyncClient(base_url=base) as client:
            fault = {"webhook_status": 503, "count": 1}
            assert (await client.post("/sim/faults", json=fault)).status_code == 200
            with pytest.raises(SpokeUnavailableError):
                await spoke.deliver(replace(event, id="ev-2"))
            state = (await client.get("/sim/state")).json()
        assert [e["id"] for e in state["events"]] == ["ev-1"]
        assert state["counters"]["webhooks_duplicate"] == 1
        assert state["items"][0]["work_item_id"] == "w1"
        # The default world's agents are not signed in, so the item waits.
        assert state["items"][0]["status"] == "waiting"
    finally:
        await spoke.unload()
