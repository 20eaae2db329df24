"""The simulator's longest-idle picker."""

from __future__ import annotations

from omniroute.sim.routing import Candidate, pick_agent, ranked, routable

ON = "On Queue"


def agent(
    agent_id: str,
    idle_since: float,
    *,
    state: str = ON,
    linked: bool = True,
    load: int = 0,
    capacity: int = 1,
    skills: tuple[str, ...] = (),
) -> Candidate:
    return Candidate(agent_id, state, linked, load, capacity, frozenset(skills), idle_since)


def test_longest_idle_wins() -> None:
    agents = [agent("a", 3), agent("b", 1), agent("c", 2)]
    assert pick_agent(agents, on_queue_state=ON) == "b"
    assert ranked(agents, on_queue_state=ON) == ["b", "c", "a"]


def test_ties_break_by_id() -> None:
    assert pick_agent([agent("b", 1), agent("a", 1)], on_queue_state=ON) == "a"


def test_only_on_queue_linked_agents_with_room() -> None:
    agents = [
        agent("away", 1, state="Away"),
        agent("unlinked", 2, linked=False),
        agent("full", 3, load=1),
        agent("ok", 4, load=1, capacity=2),
    ]
    assert [routable(a, ON) for a in agents] == [False, False, False, True]
    assert pick_agent(agents, on_queue_state=ON) == "ok"


def test_on_queue_state_name_is_the_providers() -> None:
    agents = [agent("a", 1, state="Available")]
    assert pick_agent(agents, on_queue_state=ON) is None
    assert pick_agent(agents, on_queue_state="Available") == "a"


def test_required_skills() -> None:
    agents = [agent("a", 1), agent("b", 2, skills=("billing", "french"))]
    assert pick_agent(agents, on_queue_state=ON, required_skills=["billing"]) == "b"
    assert pick_agent(agents, on_queue_state=ON, required_skills=["tech"]) is None


def test_exclude_is_hard() -> None:
    agents = [agent("a", 1), agent("b", 2)]
    assert pick_agent(agents, on_queue_state=ON, exclude={"a"}) == "b"
    assert pick_agent(agents, on_queue_state=ON, exclude={"a", "b"}) is None


def test_avoid_is_soft() -> None:
    agents = [agent("a", 1), agent("b", 2)]
    assert pick_agent(agents, on_queue_state=ON, avoid={"a"}) == "b"
    assert pick_agent(agents, on_queue_state=ON, avoid={"a", "b"}) == "a"
    assert pick_agent(agents, on_queue_state=ON, exclude={"b"}, avoid={"a"}) == "a"


def test_only_one_target() -> None:
    agents = [agent("a", 1), agent("b", 2)]
    assert pick_agent(agents, on_queue_state=ON, only="b") == "b"
    assert pick_agent(agents, on_queue_state=ON, only="b", exclude={"b"}) is None
    assert pick_agent(agents, on_queue_state=ON, only="nobody") is None


def test_no_agents() -> None:
    assert pick_agent([], on_queue_state=ON) is None
