"""The sender of a transfer hears how it goes: pending, offered, then the target's answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from omniroute.core.messages import AcceptOffer, CancelTransfer, RejectOffer
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.door_commands import start_transfer
from tests.test_external_flow import accepted_local_chat, engine, transfer_to

__all__ = ["engine"]


async def transfer_events(db: Database, agent_id: str) -> list[dict[str, Any]]:
    ev = t.AgentEventRow
    async with db.session() as s:
        rows = await s.scalars(
            select(ev)
            .where(ev.agent_id == agent_id, ev.type == "transfer.changed")
            .order_by(ev.seq)
        )
        return [r.payload for r in rows]


async def test_agent_transfer_cancelled_then_rejected(engine: Engine, db: Database) -> None:
    doc_id, sender = await accepted_local_chat(engine)
    target = "bob" if sender != "bob" else "alice"
    first = await start_transfer(engine, transfer_to(doc_id, sender, agent=target))
    await engine.execute(CancelTransfer(doc_id, sender))
    second = await start_transfer(engine, transfer_to(doc_id, sender, agent=target))
    offer_id = engine.state.work_items[second.id].offer_id
    assert offer_id is not None
    await engine.execute(RejectOffer(offer_id, target, None, None))
    events = await transfer_events(db, sender)
    assert [(e["transfer_id"], e["state"], e["offered_to"]) for e in events] == [
        (first.id, "pending", None),
        (first.id, "offered", target),
        (first.id, "withdrawn", target),
        (first.id, "cancelled", target),
        (second.id, "pending", None),
        (second.id, "offered", target),
        (second.id, "rejected", target),
    ]
    assert {e["target_agent_id"] for e in events} == {target}
    assert {e["target_queue_id"] for e in events} == {None}
    assert {(e["document_id"], e["transfer_type"]) for e in events} == {(doc_id, "blind")}
    # The target hears nothing about the sender's transfer bookkeeping.
    assert await transfer_events(db, target) == []


async def test_queue_transfer_reports_who_got_it_and_the_accept(
    engine: Engine, db: Database
) -> None:
    doc_id, sender = await accepted_local_chat(engine)
    item = await start_transfer(engine, transfer_to(doc_id, sender, queue="local"))
    live = engine.state.work_items[item.id]
    assert live.offer_id is not None
    assert live.agent_id is not None
    target, offer_id = live.agent_id, live.offer_id
    await engine.execute(AcceptOffer(offer_id, target))
    events = await transfer_events(db, sender)
    assert [(e["state"], e["offered_to"], e["target_queue_id"]) for e in events] == [
        ("pending", None, "local"),
        ("offered", target, "local"),
        ("accepted", target, "local"),
    ]
