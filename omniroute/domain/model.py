"""Pure domain entities of the work-assignment engine. No I/O, no framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from omniroute.domain.calendar import OutOfHoursAction
from omniroute.domain.escalation import EscalationStep


class Strategy(StrEnum):
    """How an assignment rule orders eligible agents."""

    MOST_CAPACITY = "most_capacity"
    LONGEST_IDLE = "longest_idle"


class RoutingMode(StrEnum):
    """Who picks the agent for a queue's work items."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class WorkItemState(StrEnum):
    """Life cycle of a work item; `closed` means the accepted work is finished."""

    QUEUED = "queued"
    PENDING_ACCEPT = "pending_accept"
    ACCEPTED = "accepted"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class CancelReason(StrEnum):
    """Why a work item left routing without being worked."""

    TIMED_OUT = "timed_out"
    REJECTED = "rejected"
    TRANSFER_CANCELLED = "transfer_cancelled"
    DISQUALIFIED = "disqualified"
    MANUALLY_ASSIGNED = "manually_assigned"
    REROUTED = "rerouted"
    TRANSFER_REJECTED = "transfer_rejected"
    TRANSFER_TIMED_OUT = "transfer_timed_out"
    DOCUMENT_CLOSED = "document_closed"
    MAX_WAIT_EXCEEDED = "max_wait_exceeded"
    ABANDONED = "abandoned"
    WITHDRAWN_BY_SUPERVISOR = "withdrawn_by_supervisor"


class OfferState(StrEnum):
    """Outcome of one offer of a work item to one agent."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    WITHDRAWN = "withdrawn"


class DocumentType(StrEnum):
    """What a work item points at."""

    INTERACTION = "interaction"
    CASE = "case"


class InteractionState(StrEnum):
    """States of an interaction."""

    NEW = "new"
    ON_HOLD = "on_hold"
    WORK_IN_PROGRESS = "work_in_progress"
    WRAP_UP = "wrap_up"
    CLOSED_COMPLETE = "closed_complete"
    CLOSED_ABANDONED = "closed_abandoned"


class CaseState(StrEnum):
    """States of a case."""

    NEW = "new"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class CaseStatus(StrEnum):
    """Where an open case stands, as the agents working it say (routing uses `CaseState`)."""

    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"


class CasePriority(StrEnum):
    """How urgent a case is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


CLOSED_INTERACTION_STATES = frozenset(
    {InteractionState.CLOSED_COMPLETE, InteractionState.CLOSED_ABANDONED}
)
CLOSED_CASE_STATES = frozenset({CaseState.RESOLVED, CaseState.CLOSED})
LIVE_WORK_ITEM_STATES = frozenset(
    {WorkItemState.QUEUED, WorkItemState.PENDING_ACCEPT, WorkItemState.ACCEPTED}
)
CAPACITY_HOLDING_STATES = frozenset({WorkItemState.PENDING_ACCEPT, WorkItemState.ACCEPTED})


@dataclass(frozen=True, slots=True)
class Channel:
    """A service channel with its default per-agent capacity."""

    id: str
    name: str
    default_capacity: int


@dataclass(frozen=True, slots=True)
class PresenceState:
    """An agent presence state and whether it makes the agent routable."""

    id: str
    name: str
    is_available: bool


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    """A skill a queue or work item asks for; a preferred one widens after a wait."""

    skill_id: str
    min_level: int = 1
    mandatory: bool = True
    widen_after_s: int | None = None
    # Asked for by the document itself (its route), not by its queue: kept when the work moves.
    from_document: bool = False

    def applies_at(self, age_s: float) -> bool:
        """Whether this requirement still restricts eligibility at the given item age."""
        if self.mandatory or self.widen_after_s is None:
            return True
        return age_s < self.widen_after_s


@dataclass(frozen=True, slots=True)
class Rule:
    """An assignment rule: agent ordering and the terms of the offers it makes."""

    id: str
    name: str
    strategy: Strategy = Strategy.MOST_CAPACITY
    offer_timeout_s: int | None = 30
    allowed_to_decline: bool = True
    auto_accept: bool = False
    presence_after_timeout: str | None = None
    reassign_on_timeout: bool = False
    primary_group_id: str | None = None
    overflow_group_id: str | None = None
    overflow_after_s: int | None = None

    def group_allows(self, groups: frozenset[str], age_s: float) -> bool:
        """Whether an agent in these groups is eligible for an item of this age."""
        if self.primary_group_id is None or self.primary_group_id in groups:
            return True
        if self.overflow_group_id is None or self.overflow_group_id not in groups:
            return False
        return self.overflow_after_s is None or age_s >= self.overflow_after_s


@dataclass(frozen=True, slots=True)
class Queue:
    """Where work items wait; lower `priority` is routed first."""

    id: str
    name: str
    channels: tuple[str, ...]
    rule_id: str
    priority: int = 100
    routing_mode: RoutingMode = RoutingMode.INTERNAL
    max_wait_s: int | None = None
    skills: tuple[SkillRequirement, ...] = ()
    spoke: str | None = None
    provider_queue_id: str | None = None
    calendar_id: str | None = None
    out_of_hours: OutOfHoursAction = OutOfHoursAction.KEEP_QUEUED
    out_of_hours_queue_id: str | None = None
    out_of_hours_message: str | None = None
    steps: tuple[EscalationStep, ...] = ()
    aging_per_min: float = 0.0
    exclusion_ttl_s: int | None = None
    reject_cooldown_s: int = 0
    affinity_wait_s: int = 0


@dataclass(frozen=True, slots=True)
class RejectReason:
    """Why an agent declined; `reassignable` lets the same agent be offered the item again."""

    id: str
    name: str
    reassignable: bool = False
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class WrapUpCode:
    """A disposition recorded when an interaction ends."""

    id: str
    name: str
    time_limit_s: int | None = None


@dataclass(slots=True)
class Agent:
    """The routing view of an agent: presence, capacity, skills, load."""

    id: str
    name: str
    presence_id: str
    capacity_cap: int | None = None
    capacity_overrides: dict[str, int] = field(default_factory=dict)
    channel_available: dict[str, bool] = field(default_factory=dict)
    skills: dict[str, int] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    load: dict[str, int] = field(default_factory=dict)
    last_assigned_at: datetime | None = None
    presence_since: datetime | None = None
    allow_external: bool = True
    email: str = ""
    # A disabled agent keeps its record and history but is never offered work.
    disabled: bool = False

    @property
    def total_load(self) -> int:
        """Work items holding capacity across all channels."""
        return sum(self.load.values())

    def capacity_for(self, channel: Channel) -> int:
        """This agent's capacity on a channel."""
        return self.capacity_overrides.get(channel.id, channel.default_capacity)

    def free_on(self, channel: Channel) -> int:
        """Free capacity on a channel, bounded by the universal cap."""
        free = self.capacity_for(channel) - self.load.get(channel.id, 0)
        if self.capacity_cap is not None:
            free = min(free, self.capacity_cap - self.total_load)
        return max(free, 0)

    def has_skills(self, requirements: tuple[SkillRequirement, ...], age_s: float) -> bool:
        """Whether this agent meets every requirement still in force at the given age."""
        for req in requirements:
            if req.applies_at(age_s) and self.skills.get(req.skill_id, 0) < req.min_level:
                return False
        return True


@dataclass(slots=True)
class Document:
    """The routing view of an interaction or a case."""

    id: str
    type: DocumentType
    channel_id: str
    state: str
    work_item_id: str | None = None
    accepted_item_id: str | None = None
    agent_id: str | None = None
    wrap_up_due_at: datetime | None = None
    spoke: str | None = None
    summary: dict[str, str] = field(default_factory=dict)
    wrap_up_code_id: str | None = None
    wrap_up_notes: str | None = None
    # The stable customer id affinity matches on, and the case an interaction belongs to.
    customer_id: str | None = None
    case_id: str | None = None

    @property
    def active(self) -> bool:
        """Whether the document can still be routed or worked."""
        if self.type is DocumentType.INTERACTION:
            return self.state not in CLOSED_INTERACTION_STATES
        return self.state not in CLOSED_CASE_STATES


@dataclass(slots=True)
class WorkItem:
    """A routable unit: one document in one queue."""

    id: str
    document_type: DocumentType
    document_id: str
    queue_id: str
    channel_id: str
    priority: int
    created_at: datetime
    skills: tuple[SkillRequirement, ...] = ()
    state: WorkItemState = WorkItemState.QUEUED
    cancel_reason: CancelReason | None = None
    rejected: bool = False
    timed_out: bool = False
    offer_count: int = 0
    previous_id: str | None = None
    transfer_type: str | None = None
    transfer_from_agent_id: str | None = None
    transfer_to_agent_id: str | None = None
    # The sender's handover note; written once with the item, shown on its offer.
    transfer_note: str | None = None
    agent_id: str | None = None
    offer_id: str | None = None
    # Immutable so that the many items nobody declined share the one empty frozenset.
    excluded_agents: frozenset[str] = frozenset()
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    # When each exclusion (a reject, a timeout, a cool-down) runs out; absent: never.
    excluded_until: dict[str, datetime] | None = None
    escalation_step: int = 0
    entered_at: datetime | None = None
    preferred_agent_id: str | None = None
    # Agent groups the applied escalation steps let in besides the rule's groups.
    extra_groups: frozenset[str] = frozenset()
    # Why an escalation step abandoned the item (the step's reason).
    cancel_detail: str | None = None

    def age_s(self, now: datetime) -> float:
        """Seconds since the item was created."""
        return (now - self.created_at).total_seconds()

    def queued_since(self) -> datetime:
        """When the item entered its current queue (escalation steps count from here)."""
        return self.entered_at or self.created_at


class DisplayOption(StrEnum):
    """How the workspace shows work accepted on the agent's behalf (auto-accept)."""

    CARD_ONLY = "card_only"
    CARD_AND_TAB = "card_and_tab"


@dataclass(slots=True)
class Offer:
    """One work item offered to one agent."""

    id: str
    work_item_id: str
    agent_id: str
    created_at: datetime
    expires_at: datetime | None
    allowed_to_decline: bool = True
    auto_accept: bool = False
    presence_after_timeout: str | None = None
    state: OfferState = OfferState.PENDING
    reject_reason_id: str | None = None
    note: str | None = None
    ended_at: datetime | None = None
    external_segment_id: str | None = None
    display_option: DisplayOption = DisplayOption.CARD_ONLY
