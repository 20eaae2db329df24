"""Escalation steps, priority aging, exclusion expiry and agent affinity: pure routing policy.

A queue's steps are ordered by their wait, counted from when the item entered the queue. Each
step widens who may take the item (drops skill requirements, adds agent groups), raises its
priority, moves it to another queue, or (only the final step) abandons it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omniroute.domain.model import SkillRequirement


class StepAction(StrEnum):
    """What an escalation step does when its wait has passed."""

    WIDEN = "widen"
    RAISE_PRIORITY = "raise_priority"
    MOVE_QUEUE = "move_queue"
    ABANDON = "abandon"


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step: after `after_s` seconds in the queue, do `action`."""

    after_s: int
    action: StepAction
    # widen: skill ids no longer required
    drop_skills: tuple[str, ...] = ()
    # widen: agent groups that become eligible besides the rule's groups
    add_groups: tuple[str, ...] = ()
    # raise_priority: how many priority points the item gains (lower priority routes first)
    raise_by: int = 0
    # move_queue: the queue the item moves to
    queue_id: str | None = None
    # abandon: the reason recorded and the message the customer gets
    reason: str | None = None
    message: str | None = None


class StepError(ValueError):
    """A list of steps that breaks a rule; `index` and `field` say where."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.field = field


def check_steps(steps: tuple[EscalationStep, ...]) -> None:
    """Raise StepError unless the waits increase and only the last step abandons."""
    previous = -1
    for index, step in enumerate(steps):
        if step.after_s <= previous:
            raise StepError(index, "after_s", "each step must wait longer than the one before")
        previous = step.after_s
        if step.action is StepAction.ABANDON and index != len(steps) - 1:
            raise StepError(index, "action", "only the final step may abandon")
        if step.action is StepAction.MOVE_QUEUE and not step.queue_id:
            raise StepError(index, "queue_id", "a move_queue step names the queue")
        if step.action is StepAction.RAISE_PRIORITY and step.raise_by <= 0:
            raise StepError(index, "raise_by", "a raise_priority step raises by at least 1")
        if step.action is StepAction.ABANDON and not step.reason:
            raise StepError(index, "reason", "an abandon step gives a reason")


def step_due(steps: tuple[EscalationStep, ...], done: int, entered_at: datetime) -> datetime | None:
    """When the next step after the `done` already applied falls due (None when no step is left)."""
    if done >= len(steps):
        return None
    return entered_at + timedelta(seconds=steps[done].after_s)


def widened_skills(
    skills: tuple[SkillRequirement, ...], applied: Iterable[EscalationStep]
) -> tuple[SkillRequirement, ...]:
    """The item's skill requirements once the applied widen steps dropped theirs."""
    result = skills
    for step in applied:
        if step.action is not StepAction.WIDEN:
            continue
        dropped = set(step.drop_skills)
        result = tuple(req for req in result if req.skill_id not in dropped)
    return result


def moved_skills(
    skills: tuple[SkillRequirement, ...], target: tuple[SkillRequirement, ...]
) -> tuple[SkillRequirement, ...]:
    """An item's requirements in a new queue: the target queue's, plus the document's own."""
    return target + tuple(req for req in skills if req.from_document)


def document_skills(skills: tuple[SkillRequirement, ...]) -> tuple[SkillRequirement, ...]:
    """Requirements a document's route asks for, marked so that a move keeps them."""
    return tuple(replace(req, from_document=True) for req in skills)


_NO_GROUPS: frozenset[str] = frozenset()


def added_groups(applied: Iterable[EscalationStep]) -> frozenset[str]:
    """Agent groups the applied widen steps made eligible."""
    groups: set[str] = set()
    for step in applied:
        if step.action is StepAction.WIDEN:
            groups.update(step.add_groups)
    # Most items have none: one shared empty set, not one each (216 bytes an item at load).
    return frozenset(groups) if groups else _NO_GROUPS


def aged_priority(priority: int, per_minute: float, waited_s: float) -> float:
    """An item's effective priority after waiting: lower ranks first, so aging subtracts."""
    if per_minute <= 0 or waited_s <= 0:
        return float(priority)
    return priority - per_minute * waited_s / 60.0


def expired_exclusions(until: Mapping[str, datetime], now: datetime) -> frozenset[str]:
    """Agents whose exclusion has run out at `now`."""
    return frozenset(agent for agent, end in until.items() if end <= now)


def affinity_allows(agent_id: str, preferred: str | None, wait_s: int, waited_s: float) -> bool:
    """Whether an agent may take an item whose preferred agent is `preferred`."""
    if preferred is None or wait_s <= 0 or agent_id == preferred:
        return True
    return waited_s >= wait_s


def steps_from_json(rows: list[dict[str, object]]) -> tuple[EscalationStep, ...]:
    """Steps from their stored form (the admin API's body)."""
    steps = []
    for row in rows:
        steps.append(
            EscalationStep(
                after_s=int(str(row["after_s"])),
                action=StepAction(str(row["action"])),
                drop_skills=tuple(str(s) for s in _list(row.get("drop_skills"))),
                add_groups=tuple(str(g) for g in _list(row.get("add_groups"))),
                raise_by=int(str(row.get("raise_by") or 0)),
                queue_id=_text(row.get("queue_id")),
                reason=_text(row.get("reason")),
                message=_text(row.get("message")),
            )
        )
    return tuple(steps)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return None if value is None else str(value)
