"""In-memory engine state and the transaction that records what a command changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
from omniroute.engine.timers import TimerHeap, TimerKind


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
    timers: TimerHeap = field(default_factory=TimerHeap)
    next_seq: int = 1

    def remember_ended(self, offer: Offer, limit: int = 100_000) -> None:
        """Keep recent offer outcomes so a late accept or reject gets a precise error."""
        self.ended_offers[offer.id] = (offer.agent_id, offer.state)
        if len(self.ended_offers) > limit:
            del self.ended_offers[next(iter(self.ended_offers))]

    @property
    def agents(self) -> dict[str, Agent]:
        """Agents by id."""
        return self.index.agents


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

    def save_agent_channel(self, agent_id: str, channel_id: str, **fields: Any) -> None:
        """Upsert an agent's per-channel row."""
        self.agent_channels.setdefault((agent_id, channel_id), {}).update(fields)

    def emit(self, agent_id: str, event: Event) -> None:
        """Queue an event for the agent's feed; it is stored now and pushed after commit."""
        seq = self.state.next_seq
        self.state.next_seq += 1
        self.events.append(FeedEvent(seq, agent_id, event, self.now))

    def schedule(self, due: datetime, kind: TimerKind, target_id: str) -> None:
        """Arm a timer once the batch commits."""
        self.timers.append((due, kind, target_id))

    def route_item(self, item_id: str) -> None:
        """Ask for a routing attempt for a queued item at the end of the command."""
        self.route_items[item_id] = None
