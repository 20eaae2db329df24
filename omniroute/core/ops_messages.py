"""Commands and queries of routing operations: hours, stuck work and supervisor actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omniroute.core.door import Command, Query


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a supervisor action, as the audit log names them."""

    id: str
    role: str


@dataclass(frozen=True, slots=True)
class HoursView:
    """Whether a queue is open now and when that next changes (None: no calendar change)."""

    queue_id: str
    open: bool
    next_change: datetime | None
    out_of_hours_action: str = "keep_queued"
    out_of_hours_message: str | None = None


@dataclass(frozen=True, slots=True)
class QueueHours(Query[HoursView]):
    """A queue's opening state by its calendar (always open without one)."""

    queue_id: str


@dataclass(frozen=True, slots=True)
class StuckItem:
    """A queued item that has waited a while, and why no agent has it."""

    work_item_id: str
    document_id: str
    queue_id: str
    channel_id: str
    waited_s: int
    reason: str
    excluded_agents: list[str]
    escalation_step: int


@dataclass(frozen=True, slots=True)
class StuckItems(Query[list[StuckItem]]):
    """Queued items waiting at least `min_wait_s`, oldest first, at most `limit`."""

    min_wait_s: int = 60
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ItemMoved:
    """What a supervisor action left: the live work item and its state."""

    work_item_id: str
    queue_id: str
    state: str
    agent_id: str | None
    offer_id: str | None


@dataclass(frozen=True, slots=True)
class AssignItem(Command[ItemMoved]):
    """Give a queued or offered item to a named agent (the old item ends `manually_assigned`)."""

    work_item_id: str
    agent_id: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class WithdrawOffer(Command[ItemMoved]):
    """Take a pending offer back; the item returns to its queue without that agent."""

    offer_id: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class MoveItem(Command[ItemMoved]):
    """Move a queued or offered item to another queue, where its steps start over."""

    work_item_id: str
    queue_id: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class ForcePresence(Command[str]):
    """Set an agent's presence for them, with a reason the agent is shown."""

    agent_id: str
    presence_id: str
    reason: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class AgentLine:
    """One agent on the supervisor's board: presence, since when, load per channel."""

    agent_id: str
    name: str
    presence_id: str
    presence_since: datetime | None
    load: dict[str, int]
    offers: int


@dataclass(frozen=True, slots=True)
class AgentBoard(Query[list[AgentLine]]):
    """Every agent's presence and load, by name."""
