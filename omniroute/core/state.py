"""In-memory engine state and the transaction that records what a command changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omniroute.core.rows import NewRow
from omniroute.core.timers import TimerHeap, TimerKind
from omniroute.domain.events import Event
from omniroute.domain.model import (
    Agent,
    Document,
    Offer,
    OfferState,
    RejectReason,
    WorkItem,
    WrapUpCode,
)
from omniroute.domain.routing import RoutingConfig, RoutingIndex


@dataclass(frozen=True, slots=True)
class SpokeConfig:
    """What the engine needs of a configured spoke."""

    name: str
    presence_map: dict[str, str]
    allow_provisioning: bool = False
    enabled: bool = True

    def provider_state(self, presence_id: str) -> str | None:
        """The provider's state name for one of our presence states."""
        return self.presence_map.get(presence_id)

    def our_state(self, provider_state: str) -> str | None:
        """Our presence state for a provider's state name (case-insensitive)."""
        wanted = provider_state.casefold()
        for ours, theirs in self.presence_map.items():
            if theirs.casefold() == wanted:
                return ours
        return None


@dataclass
class EngineState:
    """Everything routing decisions need, kept in memory and rebuilt from the store."""

    config: RoutingConfig
    index: RoutingIndex
    documents: dict[str, Document] = field(default_factory=dict)
    work_items: dict[str, WorkItem] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    reject_reasons: dict[str, RejectReason] = field(default_factory=dict)
    wrap_up_codes: dict[str, WrapUpCode] = field(default_factory=dict)
    skill_ids: set[str] = field(default_factory=set)
    ended_offers: dict[str, tuple[str, OfferState]] = field(default_factory=dict)
    spokes: dict[str, SpokeConfig] = field(default_factory=dict)
    identities: dict[tuple[str, str], str] = field(default_factory=dict)
    agent_identities: dict[str, dict[str, str]] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, str]] = field(default_factory=dict)
    segment_offers: dict[tuple[str, str], str] = field(default_factory=dict)
    inbound_seen: set[tuple[str, str]] = field(default_factory=set)
    items_by_document: dict[str, set[str]] = field(default_factory=dict)
    next_outbox_seq: int = 1
    timers: TimerHeap = field(default_factory=TimerHeap)
    next_seq: int = 1
    next_chat_message_id: int = 1
    next_case_number: int = 1001
    # The agent who last accepted work for each stable customer id (agent affinity).
    last_agents: dict[str, str] = field(default_factory=dict)
    # Business hours: the queue config the closed queues were computed for, and when a
    # calendar next opens or closes.
    hours_config: object | None = None
    hours_due: datetime | None = None

    def add_item(self, item: WorkItem) -> None:
        """Track a live work item."""
        self.work_items[item.id] = item
        self.items_by_document.setdefault(item.document_id, set()).add(item.id)

    def drop_item(self, item: WorkItem) -> None:
        """Stop tracking a work item that is no longer live."""
        self.work_items.pop(item.id, None)
        ids = self.items_by_document.get(item.document_id)
        if ids is not None:
            ids.discard(item.id)
            if not ids:
                del self.items_by_document[item.document_id]

    def live_items(self, document_id: str) -> list[WorkItem]:
        """A document's live work items, oldest first."""
        ids = self.items_by_document.get(document_id, ())
        items = [self.work_items[i] for i in ids if i in self.work_items]
        return sorted(items, key=lambda i: (i.created_at, i.id))

    def take_chat_message_id(self) -> int:
        """The next chat message id (numbered by the engine, so never twice)."""
        value = self.next_chat_message_id
        self.next_chat_message_id += 1
        return value

    def take_case_number(self) -> int:
        """The next case number (CS-<number>), handed out once."""
        value = self.next_case_number
        self.next_case_number += 1
        return value

    def link_identity(self, spoke: str, provider_agent_id: str, agent_id: str) -> None:
        """Record that a provider's agent id is one of our agents."""
        self.identities[(spoke, provider_agent_id)] = agent_id
        self.agent_identities.setdefault(agent_id, {})[spoke] = provider_agent_id

    def provider_agent_id(self, spoke: str, agent_id: str | None) -> str | None:
        """An agent's id at a provider, if linked."""
        if agent_id is None:
            return None
        return self.agent_identities.get(agent_id, {}).get(spoke)

    def remember_ended(self, offer: Offer, limit: int = 100_000) -> None:
        """Keep recent offer outcomes so a late accept or reject gets a precise error."""
        self.ended_offers[offer.id] = (offer.agent_id, offer.state)
        if len(self.ended_offers) > limit:
            del self.ended_offers[next(iter(self.ended_offers))]

    @property
    def agents(self) -> dict[str, Agent]:
        """Agents by id."""
        return self.index.agents


def new_event_id() -> str:
    """A unique id for an outgoing event, usable as the provider's idempotency key."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A routing event for a provider, written in the same transaction as its cause."""

    seq: int
    id: str
    spoke: str
    ordering_key: str
    type: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """An event addressed to one agent, with its feed sequence number."""

    seq: int
    agent_id: str
    event: Event
    created_at: datetime


class Tx:
    """What one batch of commands changed: rows to write and events to publish after commit."""

    def __init__(self, state: EngineState, now: datetime) -> None:
        self.state = state
        self.now = now
        self.new_ids: set[str] = set()
        self.items: dict[str, WorkItem] = {}
        self.offers: dict[str, Offer] = {}
        self.agents: dict[str, Agent] = {}
        self.documents: dict[str, Document] = {}
        self.document_fields: dict[str, dict[str, Any]] = {}
        self.agent_channels: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[FeedEvent] = []
        self.route_agents: dict[str, None] = {}
        self.route_items: dict[str, None] = {}
        self.timers: list[tuple[datetime, TimerKind, str]] = []
        self.outbox: list[OutboxEvent] = []
        self.inserts: list[NewRow] = []

    # -- recording changes ------------------------------------------------------------

    def save_item(self, item: WorkItem, *, new: bool = False) -> None:
        """Mark a work item for writing."""
        self.items[item.id] = item
        if new:
            self.new_ids.add(item.id)

    def save_offer(self, offer: Offer, *, new: bool = False) -> None:
        """Mark an offer for writing."""
        self.offers[offer.id] = offer
        if new:
            self.new_ids.add(offer.id)

    def save_agent(self, agent: Agent) -> None:
        """Mark an agent's routing fields for writing."""
        self.agents[agent.id] = agent

    def route_agent(self, agent_id: str) -> None:
        """Ask for a routing pass for an agent whose availability or free capacity grew."""
        self.route_agents[agent_id] = None

    def save_document(self, doc: Document, *, new: bool = False, **fields: Any) -> None:
        """Mark a document for writing, with any extra columns to set."""
        self.documents[doc.id] = doc
        if new:
            self.new_ids.add(doc.id)
        self.document_fields.setdefault(doc.id, {}).update(fields)

    def save_channel_availability(self, agent_id: str, channel_id: str, available: bool) -> None:
        """Upsert whether an agent takes work on a channel (its per-channel row)."""
        self.agent_channels.setdefault((agent_id, channel_id), {})["available"] = available

    def save_channel_capacity(self, agent_id: str, channel_id: str, capacity: int | None) -> None:
        """Upsert an agent's capacity override on a channel (None: the channel's default)."""
        self.agent_channels.setdefault((agent_id, channel_id), {})["capacity"] = capacity

    def emit(self, agent_id: str, event: Event) -> None:
        """Queue an event for the agent's feed; it is stored now and pushed after commit."""
        seq = self.state.next_seq
        self.state.next_seq += 1
        self.events.append(FeedEvent(seq, agent_id, event, self.now))

    def send(self, spoke: str, event_type: str, ordering_key: str, payload: dict[str, Any]) -> None:
        """Queue a routing event for a provider; it is stored with this transaction."""
        seq = self.state.next_outbox_seq
        self.state.next_outbox_seq += 1
        self.outbox.append(
            OutboxEvent(
                seq, f"ev-{new_event_id()}", spoke, ordering_key, event_type, payload, self.now
            )
        )

    def insert(self, row: NewRow) -> None:
        """Insert a typed row (a chat message, an identity, an incident ...) with this batch."""
        self.inserts.append(row)

    def schedule(self, due: datetime, kind: TimerKind, target_id: str) -> None:
        """Arm a timer once the batch commits."""
        self.timers.append((due, kind, target_id))

    def route_item(self, item_id: str) -> None:
        """Ask for a routing attempt for a queued item at the end of the command."""
        self.route_items[item_id] = None
