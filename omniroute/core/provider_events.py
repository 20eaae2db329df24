"""Applying a batch of verified provider events, each once."""

from __future__ import annotations

from typing import Any

from omniroute.core import call_controls, identity, provider_offers
from omniroute.core.state import Tx
from omniroute.domain.inbound import InboundEvent, InboundEventType


def _apply(tx: Tx, spoke: str, event: InboundEvent) -> dict[str, Any]:
    if event.type is InboundEventType.WORK_OFFERED:
        return provider_offers.work_offered(tx, spoke, event)
    if event.type is InboundEventType.WORK_RESCINDED:
        return provider_offers.work_rescinded(tx, spoke, event)
    if event.type is InboundEventType.AGENT_SIGNED_IN:
        agent_id = identity.sign_in(
            tx, identity.SignIn(spoke, event.provider_agent_id, event.email, event.name)
        )
        return {
            "id": event.id,
            "outcome": "linked" if agent_id else "incident",
            "agent_id": agent_id,
        }
    if event.type is InboundEventType.CALL_CONTEXT and event.call is not None:
        return call_controls.apply_context(tx, spoke, event.id, event.call)
    outcome, state = identity.provider_presence(
        tx,
        identity.ProviderPresence(
            spoke, event.provider_agent_id, event.state_name or "", event.occurred_at
        ),
    )
    return {"id": event.id, "outcome": outcome, "presence_id": state}


def apply_events(tx: Tx, spoke: str, events: tuple[InboundEvent, ...]) -> list[dict[str, Any]]:
    """Apply each event not seen before; a repeated one is answered `duplicate`."""
    outcomes: list[dict[str, Any]] = []
    for event in events:
        if not identity.first_time(tx, spoke, event.id, event.type.value):
            outcomes.append({"id": event.id, "outcome": "duplicate"})
            continue
        outcomes.append(_apply(tx, spoke, event))
    return outcomes
