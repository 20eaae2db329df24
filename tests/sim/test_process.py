"""The `omniroute sim` command as a real process on 127.0.0.1, calling a fake Omniroute."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from omniroute.spokes.signing import sign
from tests.procs import free_port
from tests.sim.conftest import SECRET, FakeOmniroute, make_envelope, new_interaction
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
