"""The simulator's world: the default one and scenario files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omniroute.demo import AGENTS as DEMO_AGENTS
from omniroute.sim.world import (
    ON_QUEUE,
    ScenarioError,
    build_world,
    default_world,
    load_world,
    world_from_dict,
)


def test_default_world_matches_demo_agents() -> None:
    world = default_world()
    assert {a.email for a in world.agents} == {a.email for a in DEMO_AGENTS}
    assert [a.id for a in world.agents] == [f"sim-agent-{n}" for n in range(1, 5)]
    assert all(a.state == "Offline" and not a.linked for a in world.agents)
    assert len(world.skills) >= 3
    assert len(world.queues) >= 3
    assert any(w.time_limit_s for w in world.wrap_up_codes)
    assert any(w.time_limit_s is None for w in world.wrap_up_codes)
    assert world.on_queue_state == ON_QUEUE
    assert world.settings.page_size == 50
    assert world.settings.offer_timeout_s == 30


def test_load_scenario(tmp_path: Path) -> None:
    scenario = {
        "on_queue_state": "Ready",
        "skills": [{"id": "sk1", "name": "Skill 1"}],
        "queues": [{"id": "q1", "name": "Queue 1", "skills": ["sk1"], "channels": ["chat"]}],
        "wrap_up_codes": [{"id": "w1", "name": "Done", "time_limit_s": 30}],
        "agents": [
            {"id": "p1", "email": "p1@example.test", "name": "P1", "skills": ["sk1"]},
            {"id": "p2", "email": "p2@example.test", "name": "P2", "capacity": 3, "linked": True},
        ],
        "settings": {"page_size": 2, "think_ms": 15},
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    world = load_world(path)
    assert world.on_queue_state == "Ready"
    assert "Ready" in world.presence_states
    assert world.queue("q1") is not None
    assert world.queue("nope") is None
    assert world.agents[1].capacity == 3
    assert world.agents[1].linked
    assert world.settings.page_size == 2
    assert world.settings.think_ms == 15
    wrap = world.wrap_up_by_name("done")
    assert wrap is not None
    assert wrap.id == "w1"
    assert build_world(path, think_ms=0).settings.think_ms == 0
    assert build_world(path).settings.think_ms == 15
    assert build_world(None).agents[0].id == "sim-agent-1"


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"skills": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "duplicate skill"),
        ({"queues": [{"id": "q", "name": "Q", "skills": ["ghost"]}]}, "unknown skill"),
        ({"agents": [{"id": "p", "email": "p@x.y", "name": "P", "colour": "red"}]}, "colour"),
        ({"settings": {"page_size": 0}}, "page_size"),
        ({"agents": [{"id": "p", "email": "p@x.y", "name": "P", "capacity": 0}]}, "capacity"),
    ],
)
def test_invalid_scenarios(scenario: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        world_from_dict(scenario)


def test_unreadable_scenarios(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_world(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_world(bad)
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(ScenarioError, match="JSON object"):
        load_world(listed)
    with pytest.raises(ScenarioError, match="think time"):
        build_world(None, think_ms=-1)
