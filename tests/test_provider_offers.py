"""Routing decisions carried by provider callbacks: WORK_OFFERED and WORK_RESCINDED events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from omniroute.core.messages import AcceptOffer, ApplyInboundEvents
from omniroute.domain.model import DisplayOption, OfferState, WorkItemState
from omniroute.domain.outbound import TransferType
from omniroute.engine.engine import Engine
from omniroute.spokes.base import InboundEvent, InboundEventType, InboundOffer, InboundTransfer
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.seed import NOW
from tests.test_external_flow import SPOKE, engine, new_external_item, outbox

__all__ = ["engine"]


def offered(event_id: str, item_id: str, segment: str, agent: str = "P-alice") -> InboundEvent:
    return InboundEvent(
        id=event_id,
        type=InboundEventType.WORK_OFFERED,
        provider_agent_id=agent,
        occurred_at=NOW,
        offer=InboundOffer(external_segment_id=segment, work_item_id=item_id, timeout_s=30),
    )


def rescinded(event_id: str, segment: str) -> InboundEvent:
    return InboundEvent(
        id=event_id,
        type=InboundEventType.WORK_RESCINDED,
        provider_agent_id="P-alice",
        offer=InboundOffer(external_segment_id=segment),
    )


async def apply(engine: Engine, *events: InboundEvent) -> list[dict[str, object]]:
    return await engine.execute(ApplyInboundEvents(SPOKE, tuple(events)))


async def test_callback_offers_once_per_event_and_per_segment(engine: Engine) -> None:
    _, item_id = await new_external_item(engine)
    [first] = await apply(engine, offered("ev-1", item_id, "res-1"))
    assert first["outcome"] == "offered"
    offer = engine.state.offers[str(first["offer_id"])]
    assert (offer.agent_id, offer.external_segment_id) == ("alice", "res-1")
    assert offer.expires_at == NOW + timedelta(seconds=30)
    # The provider retries the same callback, then sends it again under a new event id.
    [again] = await apply(engine, offered("ev-1", item_id, "res-1"))
    assert again["outcome"] == "duplicate"
    [resent] = await apply(engine, offered("ev-2", item_id, "res-1"))
    assert resent == {"id": "ev-2", "outcome": "offered", "offer_id": first["offer_id"]}
    assert len(engine.state.offers) == 1


async def test_refused_callback_changes_nothing_and_tells_the_provider(
    engine: Engine, db: Database
) -> None:
    doc_id, item_id = await new_external_item(engine)
    [outcome] = await apply(engine, offered("ev-1", item_id, "res-9", agent="P-nobody"))
    assert outcome["outcome"] == "refused"
    error = outcome["error"]
    assert isinstance(error, dict)
    assert error["code"] == "NOT_FOUND"
    assert "P-nobody" in error["message"]
    assert engine.state.offers == {}
    assert engine.state.work_items[item_id].state is WorkItemState.QUEUED
    kind, payload = (await outbox(db))[-1]
    assert kind == "offer_refused"
    assert payload["external_segment_id"] == "res-9"
    assert payload["document_id"] is None
    assert payload["work_item_id"] == item_id
    assert payload["provider_agent_id"] == "P-nobody"
    assert payload["error_code"] == "NOT_FOUND"
    async with db.session() as s:
        keys = (await s.scalars(select(t.OutboxEventRow.ordering_key))).all()
    # Keyed by the interaction, so it is delivered in order with its other events.
    assert keys == [doc_id, doc_id]


async def test_rescind_withdraws_the_pending_offer_and_frees_the_agent(
    engine: Engine, db: Database
) -> None:
    _, item_id = await new_external_item(engine)
    [made] = await apply(engine, offered("ev-1", item_id, "res-1"))
    offer_id = str(made["offer_id"])
    [gone] = await apply(engine, rescinded("ev-2", "res-1"))
    assert gone == {"id": "ev-2", "outcome": "withdrawn", "offer_id": offer_id}
    assert offer_id not in engine.state.offers
    assert engine.state.ended_offers[offer_id] == ("alice", OfferState.WITHDRAWN)
    assert engine.state.work_items[item_id].state is WorkItemState.QUEUED
    assert engine.state.index.is_routable("alice", "chat")
    kind, payload = (await outbox(db))[-1]
    assert (kind, payload["outcome"], payload["offer_id"]) == (
        "offer_outcome",
        "withdrawn",
        offer_id,
    )
    # The same agent may be offered the item again: a rescind is not a reject.
    [again] = await apply(engine, offered("ev-3", item_id, "res-2"))
    assert again["outcome"] == "offered"
    [late] = await apply(engine, rescinded("ev-4", "res-1"))
    assert late["outcome"] == "not_pending"


async def test_a_callback_transfer_moves_accepted_work_to_the_target_agent(
    engine: Engine, db: Database
) -> None:
    doc_id, item_id = await new_external_item(engine)
    [first] = await apply(engine, offered("ev-1", item_id, "res-1"))
    await engine.execute(AcceptOffer(str(first["offer_id"]), "alice"))
    transfer = InboundEvent(
        id="ev-2",
        type=InboundEventType.WORK_OFFERED,
        provider_agent_id="P-bob",
        occurred_at=NOW,
        offer=InboundOffer(
            external_segment_id="res-2",
            document_id=doc_id,
            auto_accept=True,
            display_option=DisplayOption.CARD_AND_TAB,
            transfer=InboundTransfer(TransferType.BLIND, from_provider_agent_id="P-alice"),
        ),
    )
    [moved] = await apply(engine, transfer)
    assert moved["outcome"] == "offered", moved
    offer = engine.state.offers.get(str(moved["offer_id"]))
    assert offer is None or offer.state is OfferState.ACCEPTED
    doc = engine.state.documents[doc_id]
    item = engine.state.work_items[doc.accepted_item_id or ""]
    assert (item.agent_id, item.previous_id, item.transfer_type) == ("bob", item_id, "blind")
    kinds = [kind for kind, _ in await outbox(db)]
    assert kinds.count("offer_outcome") == 2
