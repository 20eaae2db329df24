"""Routing events of one interaction's life, built from the typed event models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from pydantic import BaseModel

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes import events_schema as es
from omniroute.spokes.base import Capability, RoutingEvent

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CUSTOMER = {"customer_name": "Ann Lee", "customer_email": "ann@example.test", "subject": "Refund"}


def event(spoke: str, kind: RoutingEventType, data: BaseModel, key: str, n: int) -> RoutingEvent:
    """A routing event as the dispatcher hands it to a spoke."""
    return RoutingEvent(
        id=f"kit-{key}-{n}",
        type=kind,
        spoke=spoke,
        ordering_key=key,
        created_at=START + timedelta(seconds=n),
        attempt=1,
        payload=data.model_dump(mode="json", by_alias=True),
    )


def _item(
    document_id: str, work_item_id: str, queue: tuple[str, str], previous: str | None
) -> dict[str, object]:
    return {
        "work_item_id": work_item_id,
        "document_type": "interaction",
        "document_id": document_id,
        "channel_id": "chat",
        "queue_id": queue[0],
        "provider_queue_id": queue[1],
        "priority": 50,
        "skills": [{"skill_id": "english", "min_level": 2, "mandatory": True}],
        "previous_work_item_id": previous,
        "created_at": START,
        "customer": CUSTOMER,
    }


def story(
    spoke: str,
    supports: frozenset[Capability],
    *,
    document_id: str = "kit-doc-1",
    agent: tuple[str, str] = ("alice", "P-alice"),
    queues: tuple[str, str] = ("PQ-support", "PQ-billing"),
    provider_state: str = "On Queue",
) -> list[RoutingEvent]:
    """One chat's events, in delivery order, limited to what the spoke supports.

    new_interaction, offer_outcome (accepted), transfer_to_queue and cancel_transfer (with
    `transfers`), agent_presence (with `presence.out`), end_interaction with a wrap-up code.
    `agent` is our agent id and the provider's; `queues` the provider's ids of the first queue
    and of the transfer's target queue; `provider_state` the presence the provider is told.
    """
    first_queue, target_queue = ("support", queues[0]), ("billing", queues[1])
    agent_id, provider_agent_id = agent
    n = count(1)
    events: list[RoutingEvent] = []
    if Capability.ROUTING in supports:
        first = es.NewInteractionData.model_validate(
            _item(document_id, "kit-wi-1", first_queue, None)
        )
        events.append(event(spoke, RoutingEventType.NEW_INTERACTION, first, document_id, next(n)))
        accepted = es.OfferOutcomeData(
            work_item_id="kit-wi-1",
            document_id=document_id,
            provider_queue_id=queues[0],
            offer_id="kit-offer-1",
            external_segment_id=None,
            outcome="accepted",
            reject_reason_id=None,
            reassignable=None,
            note=None,
            at=START + timedelta(seconds=5),
            agent_id=agent_id,
            provider_agent_id=provider_agent_id,
        )
        events.append(event(spoke, RoutingEventType.OFFER_OUTCOME, accepted, document_id, next(n)))
    if Capability.TRANSFERS in supports and Capability.ROUTING in supports:
        transfer = es.TransferData.model_validate(
            _item(document_id, "kit-wi-2", target_queue, "kit-wi-1")
            | {
                "transfer_id": "kit-wi-2",
                "transfer_type": "blind",
                "from": {"agent_id": agent_id, "provider_agent_id": provider_agent_id},
                "to": {"agent_id": None, "provider_agent_id": None},
            }
        )
        for kind in (RoutingEventType.TRANSFER_TO_QUEUE, RoutingEventType.CANCEL_TRANSFER):
            events.append(event(spoke, kind, transfer, document_id, next(n)))
    if Capability.PRESENCE_OUT in supports:
        presence = es.AgentPresenceData(
            agent_id=agent_id,
            provider_agent_id=provider_agent_id,
            presence_id="available",
            provider_state=provider_state,
            channel_available={"chat": True},
            at=START + timedelta(seconds=7),
        )
        key = f"agent:{agent_id}@{spoke}"
        events.append(event(spoke, RoutingEventType.AGENT_PRESENCE, presence, key, next(n)))
    if Capability.ROUTING in supports:
        end = es.EndInteractionData(
            document_type="interaction",
            document_id=document_id,
            work_item_id="kit-wi-1",
            state="closed_complete",
            wrap_up_code_id="resolved",
            wrap_up_code_name="Resolved",
            notes="refund issued",
            at=START + timedelta(minutes=5),
            agent_id=agent_id,
            provider_agent_id=provider_agent_id,
        )
        events.append(event(spoke, RoutingEventType.END_INTERACTION, end, document_id, next(n)))
    return events
