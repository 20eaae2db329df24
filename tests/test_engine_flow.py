"""The engine's main flows against a real store: offer, accept, reject, timeout, wrap-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.messages import AcceptOffer, EndInteraction, RejectOffer, SubmitWrapUp
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.model import DocumentType, WorkItemState
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.door_commands import create_command, create_document
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog


@pytest.fixture
async def engine(db: Database) -> AsyncIterator[Engine]:
    await seed_catalog(db)
    await add_rule(db, presence_after_timeout="away")
    await add_queue(db, "support", ["chat", "email"])
    eng = Engine(db, ManualClock(NOW))
    await eng.start()
    yield eng
    await eng.stop()


def chat(queue: str = "support") -> NewDocument:
    return NewDocument(DocumentType.INTERACTION, "chat", {"subject": "hi"}, RouteRequest(queue))


async def test_offer_accept_end_wrap_up(engine: Engine, db: Database) -> None:
    await add_agent(db, "alice")
    await engine.reload_config()
    doc, item = await create_document(engine, chat())
    assert item is not None
    live = engine.state.work_items[item.id]
    assert live.state is WorkItemState.PENDING_ACCEPT
    assert live.agent_id == "alice"
    offer_id = live.offer_id
    assert offer_id is not None
    await engine.execute(AcceptOffer(offer_id, "alice"))
    assert engine.state.agents["alice"].load == {"chat": 1}
    await engine.execute(EndInteraction(doc.id, "alice", None, "notes"))
    assert engine.state.agents["alice"].load == {"chat": 1}
    await engine.execute(SubmitWrapUp(doc.id, "resolved", "alice", "done"))
    assert engine.state.agents["alice"].load == {"chat": 0}
    async with db.session() as s:
        row = await s.get(t.InteractionRow, doc.id)
        assert row is not None
        assert row.state == "closed_complete"
        assert row.wrap_up_code_id == "resolved"
        wi = await s.get(t.WorkItemRow, item.id)
        assert wi is not None
        assert wi.state == "closed"
        offers = (await s.scalars(select(t.OfferRow))).all()
        assert [o.state for o in offers] == ["accepted"]


async def test_a_batch_wakes_its_feeds_before_its_callers(engine: Engine, db: Database) -> None:
    # The offer frame must not wait behind the answers of the batch that made the offer.
    await add_agent(db, "alice")
    await engine.reload_config()
    woken: list[str] = []
    sub = engine.bus.subscribe("alice")

    async def feed() -> None:
        frames = await sub.take()
        woken.append(frames[0].body["type"])

    reader = asyncio.create_task(feed())
    await asyncio.sleep(0)  # the reader waits on its subscription
    await engine.execute(create_command(chat()))
    woken.append("caller")
    await reader
    assert woken == ["offer.created", "caller"]


async def test_reject_excludes_agent_and_reoffers(engine: Engine, db: Database) -> None:
    await add_agent(db, "alice")
    await engine.reload_config()
    _, item = await create_document(engine, chat())
    assert item is not None
    first = engine.state.work_items[item.id].offer_id
    assert first is not None
    await engine.execute(RejectOffer(first, "alice", "wrong", None))
    live = engine.state.work_items[item.id]
    assert live.state is WorkItemState.QUEUED
    assert live.rejected
    await add_agent(db, "bob")
    await engine.reload_config()
    again = engine.state.work_items[item.id]
    assert again.state is WorkItemState.PENDING_ACCEPT
    assert again.agent_id == "bob"
    assert again.offer_count == 2


async def test_timeout_returns_item_and_sets_presence(engine: Engine, db: Database) -> None:
    await add_agent(db, "alice")
    await engine.reload_config()
    _, item = await create_document(engine, chat())
    assert item is not None
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(31)
    await engine.tick()
    live = engine.state.work_items[item.id]
    assert live.state is WorkItemState.QUEUED
    assert live.timed_out
    assert engine.state.agents["alice"].presence_id == "away"
    assert engine.state.agents["alice"].load == {"chat": 0}


async def test_failed_command_changes_nothing(engine: Engine, db: Database) -> None:
    await add_agent(db, "alice")
    await engine.reload_config()
    bad = NewDocument(DocumentType.INTERACTION, "chat", {}, RouteRequest("nope"))
    with pytest.raises(DomainError) as err:
        await engine.execute(create_command(bad))
    assert err.value.code is ErrorCode.NOT_FOUND
    assert err.value.field == "queue_id"
    async with db.session() as s:
        assert (await s.scalars(select(t.InteractionRow))).all() == []
    assert engine.state.documents == {}


async def test_second_engine_on_same_database_is_refused(engine: Engine, db: Database) -> None:
    second = Engine(Database(db.url), ManualClock(NOW))
    with pytest.raises(DomainError) as err:
        await second.start()
    assert err.value.code is ErrorCode.STORE_UNAVAILABLE
    assert not second.running
    await engine.stop()
    await second.start()
    assert second.running
    await second.stop()
    await second.db.dispose()
    await engine.start()


class StuckFence:
    """A cluster fence whose commit never returns, as on a node frozen mid-commit."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def check(self, session: AsyncSession) -> None:
        """Never reached."""

    async def commit(self, tx: Tx, config_changed: bool, results: list[dict[str, Any]]) -> None:
        self.entered.set()
        await asyncio.Event().wait()

    def close(self) -> None:
        """Holds nothing."""


async def test_a_command_in_flight_when_the_lead_is_lost_is_answered(db: Database) -> None:
    await seed_catalog(db)
    await add_rule(db)
    await add_queue(db, "support", ["chat"])
    fence = StuckFence()
    engine = Engine(db, ManualClock(NOW), fence=fence)
    await engine.start()
    waiting = asyncio.create_task(engine.execute(create_command(chat())))
    await asyncio.wait_for(fence.entered.wait(), 10)
    engine.abandon()  # the node learnt it was deposed while the batch was committing
    # Answered (and with the forwarder a cluster node has, sent on to the new leader).
    with pytest.raises(DomainError) as err:
        await asyncio.wait_for(waiting, 10)
    assert err.value.code is ErrorCode.STORE_UNAVAILABLE
    await engine.stop()
