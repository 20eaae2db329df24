"""Request and response bodies of the Work Offer API, transfers and spoke administration."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from omniroute.api.schemas import Body, Out


class TransferIn(Body):
    """A provider-side transfer: whose work, to whom, blind or consult."""

    type: Literal["blind", "consult"] = "blind"
    from_agent_id: str | None = None
    from_provider_agent_id: str | None = None
    source_queue_id: str | None = Field(
        None, description="our queue for a call that has no work item yet"
    )
    source_provider_queue_id: str | None = None


class WorkOfferIn(Body):
    """The provider's routing decision: offer this work to this agent on these terms."""

    spoke: str | None = Field(None, description="the spoke whose provider ids are used")
    document_id: str | None = None
    work_item_id: str | None = None
    queue_id: str | None = None
    provider_queue_id: str | None = None
    agent_id: str | None = None
    provider_agent_id: str | None = None
    allowed_to_decline: bool = True
    auto_accept: bool = Field(default=False, description="accept on the agent's behalf, no click")
    display_option: Literal["card_only", "card_and_tab"] = Field(
        "card_only",
        description="auto-accepted work: a card only, or the card and its tab opened at once",
    )
    timeout: float | None = Field(None, description="seconds; null = no limit")
    after_timeout_presence: str | None = None
    offered_at: str | None = Field(
        None, description="ISO 8601 with offset, when the provider offered"
    )
    external_segment_id: str | None = Field(None, max_length=200)
    transfer: TransferIn | None = None

    @model_validator(mode="after")
    def _targets(self) -> WorkOfferIn:
        if (self.document_id is None) == (self.work_item_id is None):
            msg = "give exactly one of document_id and work_item_id"
            raise ValueError(msg)
        if (self.agent_id is None) == (self.provider_agent_id is None):
            msg = "give exactly one of agent_id and provider_agent_id"
            raise ValueError(msg)
        uses_provider_ids = self.provider_agent_id is not None or self.provider_queue_id is not None
        if uses_provider_ids and self.spoke is None:
            msg = "provider ids need the spoke they belong to"
            raise ValueError(msg)
        return self


class WorkOfferOut(Out):
    """The offer the Work Offer API made (or had made for the same request)."""

    offer_id: str
    work_item_id: str
    document_id: str
    agent_id: str
    state: str
    auto_accept: bool
    display_option: str
    created_at: datetime
    expires_at: datetime | None
    external_segment_id: str | None
    replayed: bool = False


class TransferStartIn(Body):
    """Transfer accepted work to an agent or a queue."""

    target_agent_id: str | None = None
    target_queue_id: str | None = None
    type: Literal["blind", "consult"] = "blind"
    note: str | None = Field(None, max_length=2000, description="the handover note the target sees")

    @model_validator(mode="after")
    def _one_target(self) -> TransferStartIn:
        if (self.target_agent_id is None) == (self.target_queue_id is None):
            msg = "give exactly one of target_agent_id and target_queue_id"
            raise ValueError(msg)
        return self


class SpokeIn(Body):
    """A configured spoke."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    kind: str
    settings: dict[str, Any] = Field(default_factory=dict)
    presence_map: dict[str, str] = Field(default_factory=dict)
    allow_provisioning: bool = False
    enabled: bool = True


class SpokePatch(Body):
    """Changes to a configured spoke."""

    settings: dict[str, Any] | None = None
    presence_map: dict[str, str] | None = None
    allow_provisioning: bool | None = None
    enabled: bool | None = None


class SpokeOut(Out):
    """A configured spoke; secret settings are masked."""

    name: str
    kind: str
    settings: dict[str, Any]
    presence_map: dict[str, str]
    allow_provisioning: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime
