"""Routing events Omniroute sends to a provider through its spoke (schema version 1)."""

from __future__ import annotations

from enum import StrEnum

SCHEMA_VERSION = 1


class RoutingEventType(StrEnum):
    """Routing events Omniroute sends to a provider."""

    NEW_INTERACTION = "new_interaction"
    END_INTERACTION = "end_interaction"
    TRANSFER_TO_AGENT = "transfer_to_agent"
    TRANSFER_TO_QUEUE = "transfer_to_queue"
    CANCEL_TRANSFER = "cancel_transfer"
    OFFER_OUTCOME = "offer_outcome"
    OFFER_REFUSED = "offer_refused"
    AGENT_PRESENCE = "agent_presence"


class TransferType(StrEnum):
    """A blind transfer hands the work over; a consult keeps the sender until it completes."""

    BLIND = "blind"
    CONSULT = "consult"


class OutboxState(StrEnum):
    """Delivery state of an outgoing routing event."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    DISCARDED = "discarded"
