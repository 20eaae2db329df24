"""Request and response bodies of the routing and document API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from omniroute.api.bounds import Capacity, check_scalar, storable
from omniroute.domain.model import SkillRequirement


class Body(BaseModel):
    """Request bodies refuse unknown fields, NUL characters and numbers no store can hold."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        # Raises DomainError, not ValueError, so that the answer names the nested spot.
        field = info.field_name or "body"
        if field in cls.model_fields:
            check_scalar(cls.model_fields[field].annotation, value, field)
        return storable(value, field)


class Out(BaseModel):
    """Response bodies are built from rows or domain objects."""

    model_config = ConfigDict(from_attributes=True)


class SkillRequirementIn(Body):
    """A skill a queue or work item requires."""

    skill_id: str
    min_level: int = Field(1, ge=1, le=10)
    mandatory: bool = True
    widen_after_s: int | None = Field(None, ge=1, le=2**31 - 1)

    def to_domain(self) -> SkillRequirement:
        """The domain value."""
        return SkillRequirement(self.skill_id, self.min_level, self.mandatory, self.widen_after_s)


class RouteFields(Body):
    """Where to route a document, optionally with item priority, extra skills, preferred agent."""

    queue_id: str | None = None
    priority: int | None = Field(None, ge=0, le=1_000_000)
    skills: list[SkillRequirementIn] = []
    preferred_agent_id: str | None = Field(None, max_length=64)


class InteractionCreate(RouteFields):
    """A new interaction; given a queue, it is routed at once."""

    channel_id: str
    customer_name: str = Field("", max_length=200)
    customer_email: str = Field("", max_length=320)
    subject: str = Field("", max_length=10_000)
    case_id: str | None = None
    external_id: str | None = Field(None, max_length=200)
    customer_id: str | None = Field(None, min_length=1, max_length=200)


class CaseCreate(RouteFields):
    """A new case; given a queue, it is routed at once."""

    channel_id: str = "case"
    subject: str = Field("", max_length=10_000)
    description: str = Field("", max_length=100_000)
    customer_name: str = Field("", max_length=200)
    customer_email: str = Field("", max_length=320)


class RouteIn(Body):
    """Route a document to a queue: create its work item or re-route the live one."""

    document_id: str
    queue_id: str
    priority: int | None = Field(None, ge=0, le=1_000_000)
    skills: list[SkillRequirementIn] = []
    preferred_agent_id: str | None = Field(None, max_length=64)


class RejectIn(Body):
    """Decline an offer, with a reason from the channel's list."""

    reason_id: str | None = None
    note: str | None = Field(None, max_length=2_000)


class EndIn(Body):
    """End an interaction, optionally with its wrap-up code and notes."""

    wrap_up_code_id: str | None = None
    notes: str | None = Field(None, max_length=10_000)


class WrapUpIn(Body):
    """Submit the wrap-up of an interaction."""

    wrap_up_code_id: str
    notes: str | None = Field(None, max_length=10_000)


class CloseCaseIn(Body):
    """Close a case."""

    resolution: str | None = Field(None, max_length=10_000)
    wrap_up_code_id: str | None = Field(
        None, max_length=64, description="a wrap-up code; a provider that routed the case gets it"
    )


class PresenceIn(Body):
    """Set presence state and/or per-channel availability."""

    presence_id: str | None = None
    channel_available: dict[str, bool] | None = None


class PresenceOut(Out):
    """An agent's presence."""

    agent_id: str
    presence_id: str
    is_available: bool
    since: datetime | None
    channel_available: dict[str, bool]


class CapacityIn(Body):
    """Set capacity overrides per channel (null = the channel's default) and the cap."""

    channels: dict[str, Capacity | None] = {}
    capacity_cap: Capacity | None = None


class ChannelCapacity(Out):
    """An agent's capacity on one channel."""

    capacity: int
    load: int
    free: int
    available: bool


class CapacityOut(Out):
    """An agent's capacities and load."""

    agent_id: str
    capacity_cap: int | None
    total_load: int
    channels: dict[str, ChannelCapacity]


class OfferOut(Out):
    """An offer."""

    id: str
    work_item_id: str
    agent_id: str
    state: str
    created_at: datetime
    expires_at: datetime | None
    allowed_to_decline: bool
    auto_accept: bool
    display_option: str = Field(
        "card_only", description="auto-accepted work: card_only, or card_and_tab (opened at once)"
    )
    presence_after_timeout: str | None
    reject_reason_id: str | None
    note: str | None
    ended_at: datetime | None


class WorkItemOut(Out):
    """A work item."""

    id: str
    document_type: str
    document_id: str
    queue_id: str
    channel_id: str
    state: str
    cancel_reason: str | None
    rejected: bool
    timed_out: bool
    offer_count: int
    previous_id: str | None
    priority: int
    agent_id: str | None
    cancel_detail: str | None = None
    escalation_step: int = 0
    preferred_agent_id: str | None = None
    transfer_type: str | None = None
    transfer_from_agent_id: str | None = None
    transfer_note: str | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None


class InteractionOut(Out):
    """An interaction."""

    id: str
    channel_id: str
    state: str
    case_id: str | None
    agent_id: str | None
    work_item_id: str | None
    customer_name: str
    customer_email: str
    subject: str
    external_id: str | None
    customer_id: str | None = None
    wrap_up_code_id: str | None
    wrap_up_notes: str | None
    wrap_up_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    closed_at: datetime | None


class CaseOut(Out):
    """A case."""

    id: str
    channel_id: str
    state: str
    subject: str
    description: str
    customer_name: str
    customer_email: str
    agent_id: str | None
    work_item_id: str | None
    resolution: str | None
    wrap_up_code_id: str | None = None
    number: int | None = None
    reference: str | None = None
    priority: str = "normal"
    status: str = "open"
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @model_validator(mode="after")
    def _reference(self) -> CaseOut:
        if self.number is not None:
            self.reference = f"CS-{self.number}"
        return self


class RejectReasonOut(Out):
    """A reject reason."""

    id: str
    name: str
    channel_id: str | None
    reassignable: bool
