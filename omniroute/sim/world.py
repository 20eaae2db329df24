"""The simulated platform's world: agents, queues, skills, wrap-up codes and settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEMO_DOMAIN = "demo.omniroute.local"
ON_QUEUE = "On Queue"


class _Strict(BaseModel):
    """Scenario entries refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class SimSkill(_Strict):
    """A skill as the platform names it."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = ""


class SimQueue(_Strict):
    """A platform queue and the skills an agent needs to take its work."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    skills: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)


class SimWrapUpCode(_Strict):
    """A disposition, optionally with a time limit for wrap-up."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = ""
    time_limit_s: int | None = Field(None, ge=1)


class SimAgent(_Strict):
    """A platform agent: identity, starting presence state, skills and capacity."""

    id: str = Field(min_length=1)
    email: str = Field(min_length=3)
    name: str = Field(min_length=1)
    state: str = "Offline"
    skills: list[str] = Field(default_factory=list)
    capacity: int = Field(1, ge=1)
    linked: bool = Field(default=False, description="Omniroute already knows this provider id")


class SimSettings(_Strict):
    """How the simulated platform behaves."""

    page_size: int = Field(50, ge=1, le=1000)
    offer_timeout_s: float = Field(30, gt=0)
    think_ms: int = Field(0, ge=0)
    retry_attempts: int = Field(5, ge=1)
    retry_base_s: float = Field(0.2, ge=0)
    retry_cap_s: float = Field(5.0, ge=0)
    reroute_after_s: float = Field(1.0, ge=0)


class World(_Strict):
    """Everything a scenario configures; kept across a simulated restart."""

    on_queue_state: str = ON_QUEUE
    presence_states: list[str] = Field(
        default_factory=lambda: [ON_QUEUE, "Available", "Away", "Break", "Offline"]
    )
    skills: list[SimSkill] = Field(default_factory=list)
    queues: list[SimQueue] = Field(default_factory=list)
    wrap_up_codes: list[SimWrapUpCode] = Field(default_factory=list)
    agents: list[SimAgent] = Field(default_factory=list)
    settings: SimSettings = Field(default_factory=SimSettings)

    @model_validator(mode="after")
    def _consistent(self) -> World:
        for kind, ids in (
            ("skill", [s.id for s in self.skills]),
            ("queue", [q.id for q in self.queues]),
            ("wrap-up code", [w.id for w in self.wrap_up_codes]),
            ("agent", [a.id for a in self.agents]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                msg = f"duplicate {kind} id(s): {', '.join(dupes)}"
                raise ValueError(msg)
        known = {s.id for s in self.skills}
        owners: list[SimQueue | SimAgent] = [*self.queues, *self.agents]
        for owner in owners:
            unknown = sorted(set(owner.skills) - known)
            if unknown:
                msg = f"'{owner.id}' names unknown skill(s): {', '.join(unknown)}"
                raise ValueError(msg)
        if self.on_queue_state not in self.presence_states:
            self.presence_states.insert(0, self.on_queue_state)
        return self

    def queue(self, queue_id: str) -> SimQueue | None:
        """The queue with this provider id, if any."""
        return next((q for q in self.queues if q.id == queue_id), None)

    def wrap_up_by_name(self, name: str | None) -> SimWrapUpCode | None:
        """The wrap-up code with this name (case-insensitive), if any."""
        if not name:
            return None
        return next((w for w in self.wrap_up_codes if w.name.lower() == name.lower()), None)


class ScenarioError(Exception):
    """A scenario file cannot be read or is invalid."""


def default_world() -> World:
    """A small world whose agents share emails with Omniroute's demo agents."""
    skills = [
        SimSkill(id="sim-skill-english", name="English"),
        SimSkill(id="sim-skill-billing", name="Billing"),
        SimSkill(id="sim-skill-technical", name="Technical"),
        SimSkill(id="sim-skill-french", name="French"),
    ]
    queues = [
        SimQueue(id="sim-queue-general", name="General", channels=["chat", "voice"]),
        SimQueue(
            id="sim-queue-billing",
            name="Billing",
            skills=["sim-skill-billing"],
            channels=["chat", "email"],
        ),
        SimQueue(
            id="sim-queue-technical",
            name="Technical support",
            skills=["sim-skill-technical"],
            channels=["chat", "voice"],
        ),
    ]
    codes = [
        SimWrapUpCode(id="sim-wrap-resolved", name="Resolved", description="Issue resolved"),
        SimWrapUpCode(
            id="sim-wrap-follow-up",
            name="Follow-up",
            description="Needs a follow-up",
            time_limit_s=120,
        ),
        SimWrapUpCode(
            id="sim-wrap-escalated", name="Escalated", description="Handed on", time_limit_s=300
        ),
    ]
    people = [
        ("alice", ["sim-skill-english", "sim-skill-french", "sim-skill-billing"]),
        ("bob", ["sim-skill-english", "sim-skill-technical"]),
        ("carol", ["sim-skill-english", "sim-skill-french", "sim-skill-billing"]),
        ("dave", ["sim-skill-english", "sim-skill-technical", "sim-skill-billing"]),
    ]
    agents = [
        SimAgent(id=f"sim-agent-{n}", email=f"{who}@{DEMO_DOMAIN}", name=who.title(), skills=skills)
        for n, (who, skills) in enumerate(people, start=1)
    ]
    return World(skills=skills, queues=queues, wrap_up_codes=codes, agents=agents)


def world_from_dict(data: dict[str, Any]) -> World:
    """A world from a parsed scenario; ScenarioError names what is wrong."""
    try:
        return World.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}" for e in err.errors()
        )
        raise ScenarioError(f"invalid scenario: {problems}") from err


def load_world(path: Path | str) -> World:
    """A world from a JSON scenario file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ScenarioError(f"cannot read scenario {path}: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {path} must hold a JSON object")
    return world_from_dict(data)


def build_world(scenario: Path | str | None = None, think_ms: int | None = None) -> World:
    """The scenario's world (or the default one), with the think time overridden if given."""
    world = load_world(scenario) if scenario else default_world()
    if think_ms is not None:
        if think_ms < 0:
            raise ScenarioError("think time must be zero or more milliseconds")
        world.settings.think_ms = think_ms
    return world
