"""The simulated platform's routing decision: longest idle among on-queue, linked agents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    """What routing needs to know about one agent."""

    id: str
    state: str
    linked: bool
    load: int
    capacity: int
    skills: frozenset[str]
    idle_since: float


def routable(agent: Candidate, on_queue_state: str) -> bool:
    """Whether the agent can be offered work at all."""
    return agent.state == on_queue_state and agent.linked and agent.load < agent.capacity


def ranked(
    agents: Iterable[Candidate],
    *,
    on_queue_state: str,
    required_skills: Iterable[str] = (),
    exclude: Iterable[str] = (),
    only: str | None = None,
) -> list[str]:
    """Eligible agent ids, longest idle first (ties by id)."""
    needed = frozenset(required_skills)
    excluded = frozenset(exclude)
    eligible = [
        a
        for a in agents
        if routable(a, on_queue_state)
        and a.id not in excluded
        and (only is None or a.id == only)
        and needed <= a.skills
    ]
    eligible.sort(key=lambda a: (a.idle_since, a.id))
    return [a.id for a in eligible]


def pick_agent(
    agents: Iterable[Candidate],
    *,
    on_queue_state: str,
    required_skills: Iterable[str] = (),
    exclude: Iterable[str] = (),
    avoid: Iterable[str] = (),
    only: str | None = None,
) -> str | None:
    """The longest-idle eligible agent; `avoid`ed agents only when nobody else is eligible."""
    order = ranked(
        agents,
        on_queue_state=on_queue_state,
        required_skills=required_skills,
        exclude=exclude,
        only=only,
    )
    if not order:
        return None
    avoided = frozenset(avoid)
    return next((a for a in order if a not in avoided), order[0])
