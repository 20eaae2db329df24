"""Routing events built by the real services/outbound.py functions, on an in-memory state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from omniroute.core import call_controls, outbound, provider_offers
from omniroute.core.state import EngineState, SpokeConfig, Tx
from omniroute.domain.model import (
    Agent,
    CaseState,
    Channel,
    Document,
    DocumentType,
    InteractionState,
    Offer,
    OfferState,
    PresenceState,
    Queue,
    RoutingMode,
    Rule,
    SkillRequirement,
    WorkItem,
    WrapUpCode,
)
from omniroute.domain.outbound import RoutingEventType
from omniroute.domain.routing import RoutingConfig, RoutingIndex
from omniroute.spokes.base import InboundEvent, InboundEventType, InboundOffer, RoutingEvent
from tests.spokes.call_payloads import dial_request

SPOKE = "acme"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CUSTOMER = {"customer_name": "Ann Lee", "customer_email": "ann@example.test", "subject": "Refund"}


@dataclass(frozen=True, slots=True)
class World:
    """An engine state with one external spoke, two linked agents and a chat in a queue."""

    state: EngineState
    doc: Document
    item: WorkItem
    alice: Agent


def world() -> World:
    """The state the events below are raised from."""
    config = RoutingConfig(
        channels={"chat": Channel("chat", "Chat", 2)},
        presence={
            "available": PresenceState("available", "Available", is_available=True),
            "away": PresenceState("away", "Away", is_available=False),
        },
        queues={
            q: Queue(
                id=q,
                name=q.title(),
                channels=("chat",),
                rule_id="standard",
                routing_mode=RoutingMode.EXTERNAL,
                spoke=SPOKE,
                provider_queue_id=f"PQ-{q}",
            )
            for q in ("support", "billing")
        },
        rules={"standard": Rule("standard", "Standard")},
    )
    state = EngineState(config=config, index=RoutingIndex(config))
    state.spokes[SPOKE] = SpokeConfig(SPOKE, {"available": "On Queue", "away": "Away"})
    state.link_identity(SPOKE, "P-alice", "alice")
    state.link_identity(SPOKE, "P-bob", "bob")
    state.wrap_up_codes["resolved"] = WrapUpCode("resolved", "Resolved")
    doc = Document(
        id="doc-1",
        type=DocumentType.INTERACTION,
        channel_id="chat",
        state=InteractionState.ON_HOLD,
        work_item_id="wi-1",
        spoke=SPOKE,
        summary=dict(CUSTOMER),
    )
    state.documents[doc.id] = doc
    item = WorkItem(
        id="wi-1",
        document_type=DocumentType.INTERACTION,
        document_id=doc.id,
        queue_id="support",
        channel_id="chat",
        priority=50,
        created_at=NOW,
        skills=(
            SkillRequirement("english", 2),
            SkillRequirement("billing", 1, mandatory=False, widen_after_s=60),
        ),
    )
    state.work_items[item.id] = item
    alice = Agent("alice", "Alice", "available", channel_available={"chat": True})
    state.agents[alice.id] = alice
    return World(state, doc, item, alice)


def _transfer_item(base: WorkItem, item_id: str, queue_id: str, to: str | None) -> WorkItem:
    return WorkItem(
        id=item_id,
        document_type=base.document_type,
        document_id=base.document_id,
        queue_id=queue_id,
        channel_id=base.channel_id,
        priority=100,
        created_at=NOW + timedelta(minutes=2),
        previous_id=base.id,
        transfer_type="consult" if to is not None else "blind",
        transfer_from_agent_id="alice",
        transfer_to_agent_id=to,
    )


def routing_events() -> dict[RoutingEventType, RoutingEvent]:
    """One event of each type, exactly as the services raise them."""
    w = world()
    tx = Tx(w.state, NOW + timedelta(minutes=5))
    outbound.new_interaction(tx, w.item)
    offer = Offer(
        id="of-1",
        work_item_id=w.item.id,
        agent_id="alice",
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=30),
        state=OfferState.REJECTED,
        reject_reason_id="busy",
        note="on another call",
        ended_at=NOW + timedelta(seconds=4),
        external_segment_id="seg-1",
    )
    outbound.offer_outcome(tx, offer, w.item)
    refused = InboundEvent(
        id="cb-1",
        type=InboundEventType.WORK_OFFERED,
        provider_agent_id="P-unknown",
        offer=InboundOffer(external_segment_id="res-1", work_item_id=w.item.id),
    )
    provider_offers.work_offered(tx, SPOKE, refused)
    to_agent = _transfer_item(w.item, "wi-2", "support", "bob")
    outbound.transfer(tx, RoutingEventType.TRANSFER_TO_AGENT, SPOKE, to_agent)
    outbound.transfer(tx, RoutingEventType.CANCEL_TRANSFER, SPOKE, to_agent)
    to_queue = _transfer_item(w.item, "wi-3", "billing", None)
    outbound.transfer(tx, RoutingEventType.TRANSFER_TO_QUEUE, SPOKE, to_queue)
    outbound.agent_presence(tx, w.alice)
    w.doc.agent_id = "alice"
    call_controls.invoke(tx, dial_request(w.doc.id))
    w.doc.state = InteractionState.CLOSED_COMPLETE
    w.doc.accepted_item_id = w.item.id
    w.doc.agent_id = "alice"
    outbound.end_interaction(
        tx, w.doc, {"wrap_up_code_id": "resolved", "wrap_up_notes": "refund issued"}
    )
    return {
        RoutingEventType(ev.type): RoutingEvent(
            id=ev.id,
            type=RoutingEventType(ev.type),
            spoke=ev.spoke,
            ordering_key=ev.ordering_key,
            created_at=ev.created_at,
            attempt=1,
            payload=ev.payload,
        )
        for ev in tx.outbox
    }


def closed_case_event() -> RoutingEvent:
    """end_interaction for a case, which has its own closed state."""
    w = world()
    w.doc.type = DocumentType.CASE
    w.doc.state = CaseState.CLOSED
    tx = Tx(w.state, NOW)
    outbound.end_interaction(tx, w.doc, {})
    (ev,) = tx.outbox
    return RoutingEvent(
        ev.id, RoutingEventType(ev.type), ev.spoke, ev.ordering_key, ev.created_at, 1, ev.payload
    )
