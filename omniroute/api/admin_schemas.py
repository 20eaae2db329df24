"""Request and response bodies of the administration API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from omniroute.api.auth import Role
from omniroute.api.bounds import Capacity, Seconds
from omniroute.api.schemas import Body, Out, SkillRequirementIn
from omniroute.domain.bounds import MAX_SECONDS
from omniroute.domain.calendar import OutOfHoursAction
from omniroute.domain.escalation import StepAction
from omniroute.domain.model import RoutingMode, Strategy

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _unique(values: list[str]) -> list[str]:
    """The values without repeats, in their first order."""
    return list(dict.fromkeys(values))


EntityId = Annotated[
    str, Field(pattern=ID_PATTERN, description="Lower-case letters, digits, '_', '.', '-'")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=10_000)]
Level = Annotated[int, Field(ge=1, le=10)]
# Checked by the rule itself, which answers INVALID_TIMEOUT; the range is shown in the schema.
OfferTimeout = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_SECONDS})]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"
    ),
]
Password = Annotated[str, Field(min_length=8, max_length=1_024)]
IdSet = Annotated[list[str], AfterValidator(_unique)]
ProviderRef = Annotated[str, Field(min_length=1, max_length=200)]


class NewRecord(Body):
    """A new record: without an id, one is made from its name."""

    id: EntityId | None = None
    name: Name


class ChannelCreate(NewRecord):
    """A new service channel."""

    default_capacity: int = Field(1, ge=1, le=10_000)


class ChannelUpdate(Body):
    """Changes to a service channel."""

    name: Name | None = None
    default_capacity: int | None = Field(None, ge=1, le=10_000)


class ChannelOut(Out):
    """A service channel."""

    id: str
    name: str
    default_capacity: int


class PresenceStateCreate(NewRecord):
    """A new presence state."""

    is_available: bool = False


class PresenceStateUpdate(Body):
    """Changes to a presence state."""

    name: Name | None = None
    is_available: bool | None = None


class PresenceStateOut(Out):
    """A presence state."""

    id: str
    name: str
    is_available: bool


class SkillCreate(NewRecord):
    """A new skill."""

    description: Description = ""


class SkillUpdate(Body):
    """Changes to a skill."""

    name: Name | None = None
    description: Description | None = None


class SkillOut(Out):
    """A skill; `spoke` and `provider_id` are set when it was imported from a provider."""

    id: str
    name: str
    description: str
    spoke: str | None = None
    provider_id: str | None = None


class GroupCreate(NewRecord):
    """A new agent group."""


class GroupUpdate(Body):
    """Changes to an agent group."""

    name: Name | None = None


class GroupOut(Out):
    """An agent group."""

    id: str
    name: str


class RuleCreate(NewRecord):
    """A new assignment rule; `offer_timeout_s` null means offers never time out."""

    strategy: Strategy = Strategy.MOST_CAPACITY
    offer_timeout_s: OfferTimeout | None = 30
    allowed_to_decline: bool = True
    auto_accept: bool = False
    presence_after_timeout: str | None = None
    reassign_on_timeout: bool = False
    primary_group_id: str | None = None
    overflow_group_id: str | None = None
    overflow_after_s: Seconds | None = None


class RuleUpdate(Body):
    """Changes to an assignment rule."""

    name: Name | None = None
    strategy: Strategy | None = None
    offer_timeout_s: OfferTimeout | None = None
    allowed_to_decline: bool | None = None
    auto_accept: bool | None = None
    presence_after_timeout: str | None = None
    reassign_on_timeout: bool | None = None
    primary_group_id: str | None = None
    overflow_group_id: str | None = None
    overflow_after_s: Seconds | None = None


class RuleOut(Out):
    """An assignment rule."""

    id: str
    name: str
    strategy: Strategy
    offer_timeout_s: int | None
    allowed_to_decline: bool
    auto_accept: bool
    presence_after_timeout: str | None
    reassign_on_timeout: bool
    primary_group_id: str | None
    overflow_group_id: str | None
    overflow_after_s: int | None


Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]
Reason = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]


class EscalationStepIn(Body):
    """One escalation step: after `after_s` seconds in the queue, do `action`."""

    after_s: Seconds
    action: StepAction
    drop_skills: IdSet = Field(default_factory=list, max_length=50)
    add_groups: IdSet = Field(default_factory=list, max_length=50)
    raise_by: int = Field(0, ge=0, le=1_000_000)
    queue_id: str | None = None
    reason: Reason | None = None
    message: Message | None = None


class QueueCreate(NewRecord):
    """A new queue; lower `priority` routes first; `external` needs a spoke and its queue id."""

    channels: IdSet = Field(min_length=1)
    priority: int = Field(100, ge=0, le=1_000_000)
    routing_mode: RoutingMode = RoutingMode.INTERNAL
    rule_id: str
    max_wait_s: Seconds | None = None
    skills: list[SkillRequirementIn] = Field(default_factory=list)
    spoke: EntityId | None = None
    provider_queue_id: ProviderRef | None = None
    calendar_id: str | None = None
    out_of_hours_action: OutOfHoursAction = OutOfHoursAction.KEEP_QUEUED
    out_of_hours_queue_id: str | None = None
    out_of_hours_message: Message | None = None
    escalation: list[EscalationStepIn] = Field(default_factory=list, max_length=20)
    aging_per_min: float = Field(0.0, ge=0, le=1_000_000)
    exclusion_ttl_s: Seconds | None = None
    reject_cooldown_s: int = Field(0, ge=0, le=MAX_SECONDS)
    affinity_wait_s: int = Field(0, ge=0, le=MAX_SECONDS)


class QueueUpdate(Body):
    """Changes to a queue; `channels` and `skills` replace the whole list."""

    name: Name | None = None
    channels: IdSet | None = Field(None, min_length=1)
    priority: int | None = Field(None, ge=0, le=1_000_000)
    routing_mode: RoutingMode | None = None
    rule_id: str | None = None
    max_wait_s: Seconds | None = None
    skills: list[SkillRequirementIn] | None = None
    spoke: EntityId | None = None
    provider_queue_id: ProviderRef | None = None
    calendar_id: str | None = None
    out_of_hours_action: OutOfHoursAction | None = None
    out_of_hours_queue_id: str | None = None
    out_of_hours_message: Message | None = None
    escalation: list[EscalationStepIn] | None = Field(None, max_length=20)
    aging_per_min: float | None = Field(None, ge=0, le=1_000_000)
    exclusion_ttl_s: Seconds | None = None
    reject_cooldown_s: int | None = Field(None, ge=0, le=MAX_SECONDS)
    affinity_wait_s: int | None = Field(None, ge=0, le=MAX_SECONDS)


class EscalationStepOut(Out):
    """One escalation step."""

    after_s: int
    action: StepAction
    drop_skills: list[str] = Field(default_factory=list)
    add_groups: list[str] = Field(default_factory=list)
    raise_by: int = 0
    queue_id: str | None = None
    reason: str | None = None
    message: str | None = None


class SkillRequirementOut(Out):
    """A skill a queue requires."""

    skill_id: str
    min_level: int
    mandatory: bool
    widen_after_s: int | None


class QueueOut(Out):
    """A queue."""

    id: str
    name: str
    channels: list[str]
    priority: int
    routing_mode: RoutingMode
    rule_id: str
    max_wait_s: int | None
    skills: list[SkillRequirementOut]
    spoke: str | None
    provider_queue_id: str | None
    calendar_id: str | None
    out_of_hours_action: OutOfHoursAction
    out_of_hours_queue_id: str | None
    out_of_hours_message: str | None
    escalation: list[EscalationStepOut]
    aging_per_min: float
    exclusion_ttl_s: int | None
    reject_cooldown_s: int
    affinity_wait_s: int


Span = Annotated[str, Field(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$", examples=["09:00-17:00"])]
Spans = Annotated[list[Span], Field(max_length=12)]


class WeeklyHours(Body):
    """Opening spans per weekday, wall-clock in the calendar's time zone; absent: closed."""

    mon: Spans = Field(default_factory=list)
    tue: Spans = Field(default_factory=list)
    wed: Spans = Field(default_factory=list)
    thu: Spans = Field(default_factory=list)
    fri: Spans = Field(default_factory=list)
    sat: Spans = Field(default_factory=list)
    sun: Spans = Field(default_factory=list)


class DateHours(Body):
    """A date whose hours replace the weekly hours; no hours: closed that day."""

    date: date
    hours: Spans = Field(default_factory=list)


class CalendarCreate(NewRecord):
    """Business hours: weekly hours in an IANA time zone, holidays (closed) and exceptions."""

    tz: str = Field(min_length=1, max_length=64, examples=["Europe/Berlin"])
    weekly: WeeklyHours = Field(default_factory=WeeklyHours)
    holidays: list[date] = Field(default_factory=list, max_length=1_000)
    exceptions: list[DateHours] = Field(default_factory=list, max_length=1_000)


class CalendarUpdate(Body):
    """Changes to a calendar; lists replace the whole list."""

    name: Name | None = None
    tz: str | None = Field(None, min_length=1, max_length=64)
    weekly: WeeklyHours | None = None
    holidays: list[date] | None = Field(None, max_length=1_000)
    exceptions: list[DateHours] | None = Field(None, max_length=1_000)


class CalendarOut(Out):
    """A calendar."""

    id: str
    name: str
    tz: str
    weekly: dict[str, list[str]]
    holidays: list[date]
    exceptions: list[dict[str, object]]


class RejectReasonCreate(NewRecord):
    """A new reject reason; without a channel it applies to every channel."""

    channel_id: str | None = None
    reassignable: bool = False


class RejectReasonUpdate(Body):
    """Changes to a reject reason."""

    name: Name | None = None
    channel_id: str | None = None
    reassignable: bool | None = None


class WrapUpCodeCreate(NewRecord):
    """A new wrap-up code; `time_limit_s` null means no limit."""

    description: Description = ""
    time_limit_s: Seconds | None = None


class WrapUpCodeUpdate(Body):
    """Changes to a wrap-up code."""

    name: Name | None = None
    description: Description | None = None
    time_limit_s: Seconds | None = None


class WrapUpCodeOut(Out):
    """A wrap-up code; `spoke` and `provider_id` are set when it was imported."""

    id: str
    name: str
    description: str
    time_limit_s: int | None
    spoke: str | None = None
    provider_id: str | None = None


class AgentCreate(NewRecord):
    """A new agent with its initial presence, skill levels, groups and sign-in password."""

    email: Email
    presence_id: str = "offline"
    capacity_cap: Capacity | None = None
    allow_external: bool = True
    skills: dict[str, Level] = Field(default_factory=dict)
    groups: IdSet = Field(default_factory=list)
    password: Password | None = None
    supervisor: bool = Field(default=False, description="may open the supervisor view")
    disabled: bool = Field(
        default=False,
        description="a disabled agent cannot sign in, its tokens are refused, its sessions "
        "and sockets end and it is set offline and never offered work",
    )


class AgentUpdate(Body):
    """Changes to an agent; skills and groups are replaced whole; not presence or capacity."""

    name: Name | None = None
    email: Email | None = None
    allow_external: bool | None = None
    skills: dict[str, Level] | None = None
    groups: IdSet | None = None
    password: Password | None = None
    supervisor: bool | None = None
    disabled: bool | None = None


class AgentOut(Out):
    """An agent; the password is never returned."""

    id: str
    name: str
    email: str
    presence_id: str
    capacity_cap: int | None
    allow_external: bool
    skills: dict[str, int]
    groups: list[str]
    has_password: bool
    supervisor: bool
    disabled: bool
    created_at: datetime


class TokenCreate(NewRecord):
    """A new API token; an agent token names its agent."""

    role: Role
    agent_id: str | None = None


class TokenOut(Out):
    """An API token, without its secret."""

    id: str
    name: str
    role: Role
    agent_id: str | None
    created_at: datetime


class TokenCreated(TokenOut):
    """A new API token with its secret, shown only this once."""

    token: str
