"""Request and response bodies of the call-control and connector-panel API."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from omniroute.api.schemas import Body, Out
from omniroute.domain.calls import CallAction


class CallContextOut(Out):
    """An interaction's current call context, as the provider last described it."""

    interaction_id: str
    spoke: str
    state: str
    kind: str
    muted: bool
    customer_number: str | None
    available_actions: list[str]
    provider_call_id: str | None
    connected_at: datetime | None
    occurred_at: datetime


class ControlIn(Body):
    """An action on the call; `params` carries number for dial and target for transfer."""

    action: CallAction
    params: dict[str, str] = Field(default_factory=dict, max_length=8)


class ControlOut(Out):
    """The control was queued for the provider; its answer arrives as a new call context."""

    event_id: str
    interaction_id: str
    action: str
    spoke: str


class PanelIn(Body):
    """The provider's agent panel for a spoke and the origins allowed to talk to the workspace."""

    panel_url: str = Field(min_length=1, max_length=2000)
    allowed_origins: list[str] = Field(default_factory=list, max_length=20)
    title: str = Field("", max_length=200)
    enabled: bool = True


class PanelOut(Out):
    """A spoke's connector panel configuration."""

    spoke: str
    panel_url: str
    panel_origin: str
    allowed_origins: list[str]
    title: str
    enabled: bool
    updated_at: datetime


class AgentPanelOut(Out):
    """A panel the agent's workspace should show, with what the protocol needs."""

    spoke: str
    title: str
    panel_url: str
    panel_origin: str
    allowed_origins: list[str]
    protocol_version: int
    provider_agent_id: str | None
    presence_map: dict[str, str]


class PanelSignInIn(Body):
    """The provider's identity of the signed-in agent, as its panel reported it."""

    provider_agent_id: str = Field(min_length=1, max_length=200)


class PanelSignInOut(Out):
    """The outcome of linking the provider's identity to the agent."""

    agent_id: str
    spoke: str
    provider_agent_id: str
    outcome: str


class PanelPresenceIn(Body):
    """A state the agent chose in the provider's panel, in the provider's name."""

    state_name: str = Field(min_length=1, max_length=200)


class PanelPresenceOut(Out):
    """Our presence after applying the provider's state."""

    agent_id: str
    presence_id: str
