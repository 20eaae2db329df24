"""Inbound provider events: agent sign-in (identity linking) and presence from the provider."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from omniroute.core import outbound
from omniroute.core.routing import new_id, set_presence_state
from omniroute.core.rows import AgentIdentityRecord, InboundEventRecord, NewAgentRecord
from omniroute.core.state import Tx
from omniroute.domain.model import Agent


@dataclass(frozen=True, slots=True)
class SignIn:
    """An agent signed in through the provider's panel."""

    spoke: str
    provider_agent_id: str
    email: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class ProviderPresence:
    """The provider changed an agent's state."""

    spoke: str
    provider_agent_id: str
    state_name: str
    occurred_at: datetime | None = None


def _by_email(tx: Tx, email: str) -> Agent | None:
    wanted = email.strip().casefold()
    for agent in tx.state.agents.values():
        if agent.email.casefold() == wanted:
            return agent
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "agent"


def sign_in(tx: Tx, event: SignIn) -> str | None:
    """Link the provider's agent to ours by email, or provision one if the spoke allows."""
    linked = tx.state.identities.get((event.spoke, event.provider_agent_id))
    if linked is not None:
        return linked
    agent = _by_email(tx, event.email) if event.email else None
    config = tx.state.spokes.get(event.spoke)
    if agent is None and config is not None and config.allow_provisioning and event.email:
        agent = _provision(tx, event)
    if agent is None:
        outbound.incident(
            tx,
            event.spoke,
            "unknown_agent",
            f"provider agent '{event.provider_agent_id}' signed in but no agent has email "
            f"'{event.email}' and provisioning is off",
            {"provider_agent_id": event.provider_agent_id, "email": event.email},
        )
        return None
    link(tx, event.spoke, event.provider_agent_id, agent)
    return agent.id


def link(tx: Tx, spoke: str, provider_agent_id: str, agent: Agent) -> None:
    """Record that the provider's agent is ours, and give the provider the agent's presence."""
    tx.state.link_identity(spoke, provider_agent_id, agent.id)
    tx.insert(AgentIdentityRecord(spoke, provider_agent_id, agent.id, tx.now))
    outbound.agent_presence(tx, agent)


def _provision(tx: Tx, event: SignIn) -> Agent:
    email = (event.email or "").strip().lower()
    agent_id = f"{_slug(email.split('@')[0])}-{new_id()[-6:]}"
    presence = (
        "offline" if "offline" in tx.state.config.presence else next(iter(tx.state.config.presence))
    )
    agent = Agent(id=agent_id, name=event.name or email, presence_id=presence, email=email)
    tx.insert(NewAgentRecord(agent.id, agent.name, email, presence, tx.now, allow_external=True))
    tx.state.index.refresh_agent(agent)
    return agent


def provider_presence(tx: Tx, event: ProviderPresence) -> tuple[str, str | None]:
    """Apply the provider's state to the linked agent: (outcome, our presence state)."""
    agent_id = tx.state.identities.get((event.spoke, event.provider_agent_id))
    agent = tx.state.agents.get(agent_id or "")
    if agent is None:
        outbound.incident(
            tx,
            event.spoke,
            "unknown_agent",
            f"presence for provider agent '{event.provider_agent_id}', who is not linked",
            {"provider_agent_id": event.provider_agent_id, "state_name": event.state_name},
        )
        return "incident", None
    if (
        event.occurred_at is not None
        and agent.presence_since is not None
        and event.occurred_at < agent.presence_since
    ):
        # Our own later change is on its way to the provider: the newer state wins.
        return "stale", agent.presence_id
    config = tx.state.spokes.get(event.spoke)
    ours = config.our_state(event.state_name) if config is not None else None
    if ours is None or ours not in tx.state.config.presence:
        outbound.incident(
            tx,
            event.spoke,
            "unmapped_presence",
            f"provider state '{event.state_name}' has no mapping to an Omniroute presence",
            {"agent_id": agent.id, "state_name": event.state_name},
        )
        return "incident", None
    set_presence_state(tx, agent, ours, reason="provider", origin_spoke=event.spoke)
    return "applied", ours


def first_time(tx: Tx, spoke: str, event_id: str, event_type: str) -> bool:
    """Record an inbound event id; False if it was already processed (a provider retry)."""
    key = (spoke, event_id)
    if key in tx.state.inbound_seen:
        return False
    tx.state.inbound_seen.add(key)
    tx.insert(InboundEventRecord(spoke, event_id, event_type, tx.now))
    return True
