"""External routing in the engine: outbound events, the Work Offer use case, transfers, identity."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from omniroute.core import transfers
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.messages import (
    AcceptOffer,
    ApplyInboundEvents,
    CancelTransfer,
    CompleteConsult,
    EndInteraction,
    RejectOffer,
    SetPresence,
    StartTransfer,
    SubmitWorkOffer,
)
from omniroute.core.work_offers import WorkOffer
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.inbound import InboundEvent, InboundEventType
from omniroute.domain.model import DocumentType, WorkItemState
from omniroute.domain.outbound import TransferType
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.door_commands import create_document, start_transfer
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog

SPOKE = "acme"


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    await seed_catalog(db)
    await add_rule(db, presence_after_timeout="away")
    await add_queue(db, "local", ["chat"])
    await add_queue(
        db, "ext", ["chat"], routing_mode="external", spoke=SPOKE, provider_queue_id="PQ1"
    )
    async with db.session() as s, s.begin():
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="webhook",
                settings={},
                presence_map={"available": "On Queue", "away": "Away", "offline": "Offline"},
                allow_provisioning=False,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    for name in ("alice", "bob", "carol"):
        await add_agent(db, name)
    async with db.session() as s, s.begin():
        for name in ("alice", "bob"):
            s.add(
                t.AgentIdentityRow(
                    spoke=SPOKE, provider_agent_id=f"P-{name}", agent_id=name, linked_at=NOW
                )
            )
    eng = Engine(db, ManualClock(NOW))
    await eng.start()
    yield eng
    await eng.stop()


def chat(queue: str = "ext") -> NewDocument:
    fields = {"customer_name": "Ann", "customer_email": "ann@x.test", "subject": "hi"}
    return NewDocument(DocumentType.INTERACTION, "chat", fields, RouteRequest(queue))


def offer_req(**fields: Any) -> WorkOffer:
    base = WorkOffer(
        spoke=SPOKE,
        document_id=None,
        work_item_id=None,
        queue_id=None,
        provider_queue_id=None,
        agent_id=None,
        provider_agent_id="P-alice",
        allowed_to_decline=True,
        auto_accept=False,
        timeout_s=30,
        after_timeout_presence=None,
        offered_at=None,
        external_segment_id=None,
        transfer=None,
        idempotency_key=None,
        request_hash="h",
    )
    return dataclasses.replace(base, **fields)


async def outbox(db: Database) -> list[tuple[str, dict[str, Any]]]:
    async with db.session() as s:
        rows = (await s.scalars(select(t.OutboxEventRow).order_by(t.OutboxEventRow.seq))).all()
        return [(r.type, r.payload) for r in rows]


async def incidents(db: Database) -> list[str]:
    async with db.session() as s:
        return [r.kind for r in (await s.scalars(select(t.SpokeIncidentRow))).all()]


def signed_in(provider_agent_id: str, email: str, name: str) -> InboundEvent:
    return InboundEvent(
        f"in-{uuid.uuid4().hex}", InboundEventType.AGENT_SIGNED_IN, provider_agent_id, email, name
    )


def presence(provider_agent_id: str, state_name: str) -> InboundEvent:
    kind = InboundEventType.AGENT_PRESENCE
    return InboundEvent(f"in-{uuid.uuid4().hex}", kind, provider_agent_id, state_name=state_name)


async def inbound(engine: Engine, event: InboundEvent) -> dict[str, Any]:
    """Apply one provider event through the door; its outcome."""
    (outcome,) = await engine.execute(ApplyInboundEvents(SPOKE, (event,)))
    return outcome


async def new_external_item(engine: Engine) -> tuple[str, str]:
    doc, item = await create_document(engine, chat())
    assert item is not None
    return doc.id, item.id


async def test_external_item_goes_to_provider_not_to_our_agents(
    engine: Engine, db: Database
) -> None:
    _, item_id = await new_external_item(engine)
    assert engine.state.work_items[item_id].state is WorkItemState.QUEUED
    assert engine.state.offers == {}
    events = await outbox(db)
    assert [e[0] for e in events] == ["new_interaction"]
    payload = events[0][1]
    assert payload["provider_queue_id"] == "PQ1"
    assert payload["work_item_id"] == item_id
    assert payload["customer"]["customer_email"] == "ann@x.test"


async def test_work_offer_accept_reports_outcome(engine: Engine, db: Database) -> None:
    _, item_id = await new_external_item(engine)
    result = await engine.execute(
        SubmitWorkOffer(offer_req(work_item_id=item_id, external_segment_id="s1"))
    )
    assert not result.replayed
    offer = engine.state.offers[result.offer_id]
    assert offer.agent_id == "alice"
    await engine.execute(AcceptOffer(result.offer_id, "alice"))
    outcome = (await outbox(db))[-1]
    assert outcome[0] == "offer_outcome"
    assert outcome[1]["outcome"] == "accepted"
    assert outcome[1]["provider_agent_id"] == "P-alice"
    assert outcome[1]["external_segment_id"] == "s1"


async def test_work_offer_is_idempotent(engine: Engine, db: Database) -> None:
    _, item_id = await new_external_item(engine)
    req = offer_req(work_item_id=item_id, external_segment_id="seg", idempotency_key="k1")
    first = await engine.execute(SubmitWorkOffer(req))
    again = await engine.execute(SubmitWorkOffer(req))
    by_segment = await engine.execute(
        SubmitWorkOffer(dataclasses.replace(req, idempotency_key=None))
    )
    assert again.offer_id == first.offer_id == by_segment.offer_id
    assert again.replayed
    async with db.session() as s:
        assert len((await s.scalars(select(t.OfferRow))).all()) == 1
    with pytest.raises(DomainError) as err:
        await engine.execute(SubmitWorkOffer(dataclasses.replace(req, request_hash="other")))
    assert err.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED


async def test_offered_at_shortens_the_countdown(engine: Engine) -> None:
    _, item_id = await new_external_item(engine)
    req = offer_req(work_item_id=item_id, offered_at=NOW - timedelta(seconds=10))
    result = await engine.execute(SubmitWorkOffer(req))
    assert engine.state.offers[result.offer_id].expires_at == NOW + timedelta(seconds=20)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"timeout_s": -1}, ErrorCode.INVALID_TIMEOUT),
        ({"offered_at": NOW + timedelta(minutes=5)}, ErrorCode.INVALID_OFFERED_AT),
        ({"offered_at": NOW - timedelta(seconds=31)}, ErrorCode.OFFER_EXPIRED),
        ({"provider_agent_id": "P-nobody"}, ErrorCode.NOT_FOUND),
        ({"provider_agent_id": None, "agent_id": "carol"}, None),
    ],
)
async def test_work_offer_validation(
    engine: Engine, db: Database, change: dict[str, Any], code: ErrorCode | None
) -> None:
    _, item_id = await new_external_item(engine)
    req = offer_req(work_item_id=item_id, **change)
    if code is None:
        result = await engine.execute(SubmitWorkOffer(req))
        assert engine.state.offers[result.offer_id].agent_id == "carol"
        return
    with pytest.raises(DomainError) as err:
        await engine.execute(SubmitWorkOffer(req))
    assert err.value.code is code
    assert engine.state.offers == {}
    async with db.session() as s:
        assert (await s.scalars(select(t.OfferRow))).all() == []


async def test_work_offer_agent_state_errors(engine: Engine, db: Database) -> None:
    doc_id, item_id = await new_external_item(engine)
    await engine.execute(SetPresence("bob", "away", None))
    with pytest.raises(DomainError) as err:
        await engine.execute(
            SubmitWorkOffer(offer_req(work_item_id=item_id, provider_agent_id="P-bob"))
        )
    assert err.value.code is ErrorCode.AGENT_NOT_AVAILABLE
    engine.state.agents["carol"].allow_external = False
    with pytest.raises(DomainError) as err:
        await engine.execute(
            SubmitWorkOffer(
                offer_req(work_item_id=item_id, provider_agent_id=None, agent_id="carol")
            )
        )
    assert err.value.code is ErrorCode.AGENT_NOT_ALLOWED_EXTERNAL
    first = await engine.execute(SubmitWorkOffer(offer_req(document_id=doc_id)))
    with pytest.raises(DomainError) as err:
        await engine.execute(SubmitWorkOffer(offer_req(work_item_id=item_id)))
    assert err.value.code is ErrorCode.WORK_ITEM_ASSIGNED
    await engine.execute(AcceptOffer(first.offer_id, "alice"))
    with pytest.raises(DomainError) as err:
        await engine.execute(SubmitWorkOffer(offer_req(work_item_id=item_id)))
    assert err.value.code is ErrorCode.WORK_ITEM_ALREADY_ACCEPTED
    await engine.execute(EndInteraction(doc_id, "alice", "resolved", "fine"))
    with pytest.raises(DomainError) as err:
        await engine.execute(SubmitWorkOffer(offer_req(document_id=doc_id)))
    assert err.value.code is ErrorCode.DOCUMENT_NOT_ACTIVE
    end = (await outbox(db))[-1]
    assert end[0] == "end_interaction"
    assert end[1]["wrap_up_code_id"] == "resolved"
    assert end[1]["notes"] == "fine"
    assert end[1]["state"] == "closed_complete"


async def test_reject_returns_item_to_provider(engine: Engine, db: Database) -> None:
    _, item_id = await new_external_item(engine)
    result = await engine.execute(SubmitWorkOffer(offer_req(work_item_id=item_id)))
    await engine.execute(RejectOffer(result.offer_id, "alice", "busy", None))
    item = engine.state.work_items[item_id]
    assert item.state is WorkItemState.QUEUED
    assert engine.state.offers == {}
    outcome = (await outbox(db))[-1][1]
    assert outcome["outcome"] == "rejected"
    assert outcome["reject_reason_id"] == "busy"


async def accepted_local_chat(engine: Engine) -> tuple[str, str]:
    doc, item = await create_document(engine, chat("local"))
    assert item is not None
    live = engine.state.work_items[item.id]
    assert live.offer_id is not None
    agent = live.agent_id
    assert agent is not None
    offer_id = live.offer_id
    await engine.execute(AcceptOffer(offer_id, agent))
    return doc.id, agent


def transfer_to(
    doc_id: str,
    by: str,
    agent: str | None = None,
    queue: str | None = None,
    kind: TransferType = TransferType.BLIND,
) -> transfers.TransferRequest:
    return transfers.TransferRequest(doc_id, by, agent, queue, kind)


async def test_transfer_to_agent_cancel_and_accept(engine: Engine) -> None:
    doc_id, sender = await accepted_local_chat(engine)
    target = "bob" if sender != "bob" else "alice"
    item = await start_transfer(engine, transfer_to(doc_id, sender, agent=target))
    assert item.state is WorkItemState.PENDING_ACCEPT
    assert item.agent_id == target
    with pytest.raises(DomainError) as err:
        await engine.execute(StartTransfer(transfer_to(doc_id, sender, agent=target)))
    assert err.value.code is ErrorCode.TRANSFER_PENDING
    cancelled = await engine.execute(CancelTransfer(doc_id, sender))
    assert cancelled == item.id
    assert item.cancel_reason == "transfer_cancelled"
    assert engine.state.agents[target].load.get("chat", 0) == 0
    again = await start_transfer(engine, transfer_to(doc_id, sender, agent=target))
    offer_id = again.offer_id
    assert offer_id is not None
    await engine.execute(AcceptOffer(offer_id, target))
    doc = engine.state.documents[doc_id]
    assert doc.agent_id == target
    assert engine.state.agents[sender].load.get("chat", 0) == 0


async def test_rejected_transfer_leaves_work_with_sender(engine: Engine) -> None:
    doc_id, sender = await accepted_local_chat(engine)
    target = "bob" if sender != "bob" else "alice"
    item = await start_transfer(engine, transfer_to(doc_id, sender, agent=target))
    offer_id = item.offer_id
    assert offer_id is not None
    await engine.execute(RejectOffer(offer_id, target, None, None))
    assert item.state is WorkItemState.CANCELLED
    doc = engine.state.documents[doc_id]
    assert doc.agent_id == sender
    assert doc.work_item_id == doc.accepted_item_id
    with pytest.raises(DomainError) as err:
        await engine.execute(CancelTransfer(doc_id, sender))
    assert err.value.code is ErrorCode.NO_PENDING_TRANSFER


async def test_consult_keeps_sender_until_complete(engine: Engine) -> None:
    doc_id, sender = await accepted_local_chat(engine)
    target = "bob" if sender != "bob" else "alice"
    item = await start_transfer(
        engine, transfer_to(doc_id, sender, agent=target, kind=TransferType.CONSULT)
    )
    offer_id = item.offer_id
    assert offer_id is not None
    await engine.execute(AcceptOffer(offer_id, target))
    assert engine.state.agents[sender].load["chat"] == 1
    await engine.execute(CompleteConsult(doc_id, sender))
    assert engine.state.agents[sender].load["chat"] == 0
    assert engine.state.agents[target].load["chat"] == 1


async def test_transfer_to_external_queue_is_announced(engine: Engine, db: Database) -> None:
    doc_id, sender = await accepted_local_chat(engine)
    item = await start_transfer(engine, transfer_to(doc_id, sender, queue="ext"))
    assert item.state is WorkItemState.QUEUED
    kind, payload = (await outbox(db))[-1]
    assert kind == "transfer_to_queue"
    assert payload["transfer_id"] == item.id
    assert payload["from"]["agent_id"] == sender
    await engine.execute(CancelTransfer(doc_id, sender))
    assert (await outbox(db))[-1][0] == "cancel_transfer"


async def test_sign_in_links_by_email_and_presence_flows_both_ways(
    engine: Engine, db: Database
) -> None:
    linked = await inbound(engine, signed_in("P-carol", "CAROL@example.test", "Carol"))
    assert (linked["outcome"], linked["agent_id"]) == ("linked", "carol")
    await engine.execute(SetPresence("carol", "away", None))
    kind, payload = (await outbox(db))[-1]
    assert kind == "agent_presence"
    assert payload["provider_state"] == "Away"
    assert payload["provider_agent_id"] == "P-carol"
    before = len(await outbox(db))
    applied = await inbound(engine, presence("P-carol", "on queue"))
    assert (applied["outcome"], applied["presence_id"]) == ("applied", "available")
    assert engine.state.agents["carol"].presence_id == "available"
    assert len(await outbox(db)) == before
    unmapped = await inbound(engine, presence("P-carol", "Meal"))
    assert (unmapped["outcome"], unmapped["presence_id"]) == ("incident", None)
    assert "unmapped_presence" in await incidents(db)


async def test_unknown_sign_in_is_an_incident_unless_provisioning(
    engine: Engine, db: Database
) -> None:
    result = await inbound(engine, signed_in("P-zed", "zed@x.test", "Zed"))
    assert (result["outcome"], result["agent_id"]) == ("incident", None)
    assert await incidents(db) == ["unknown_agent"]
    async with db.session() as s, s.begin():
        row = await s.get(t.SpokeRow, SPOKE)
        assert row is not None
        row.allow_provisioning = True
    await engine.reload_config()
    outcome = await inbound(engine, signed_in("P-zed", "zed@x.test", "Zed"))
    created = outcome["agent_id"]
    assert outcome["outcome"] == "linked"
    assert created is not None
    async with db.session() as s:
        agent = await s.get(t.AgentRow, created)
        assert agent is not None
        assert agent.email == "zed@x.test"
        link = await s.get(t.AgentIdentityRow, (SPOKE, "P-zed"))
        assert link is not None
        assert link.agent_id == created
