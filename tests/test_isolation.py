"""Isolation: one command's failure never fails the others of its batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from omniroute.core.documents import RouteRequest
from omniroute.core.door import Command, Message, handles
from omniroute.core.guard import IsolationError
from omniroute.core.messages import CreateInteraction, FileCaseForm, SetCapacity, SetPresence
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.engine.loader import load_state
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog
from tests.test_engine_properties import assert_same_view, view

# Beyond every integer column of both stores (SQLite: 64 bits, PostgreSQL: 32).
TOO_BIG = 2**70


def case_form(key: str) -> FileCaseForm:
    """File a case from the form with a one-time key (stored, so a second use is refused)."""
    return FileCaseForm({"subject": f"case {key}"}, "cases", key, "hash")


@dataclass(frozen=True, slots=True)
class HalfDone(Command[None]):
    """Test only: changes an agent's presence in memory, then refuses (a broken command)."""

    agent_id: str
    crash: bool = False


@handles(HalfDone)
def _half_done(tx: Tx, c: HalfDone) -> None:
    tx.state.agents[c.agent_id].presence_id = "away"
    if c.crash:
        raise KeyError(c.agent_id)
    raise DomainError(ErrorCode.CONFLICT, "refused after changing state")


@pytest.fixture
async def seeded(db: Database) -> Database:
    await seed_catalog(db)
    await add_rule(db)
    await add_queue(db, "support", ["chat"])
    await add_queue(db, "cases", ["case"])
    for name in ("alice", "bob", "carol"):
        await add_agent(db, name, presence="offline")
    return db


@pytest.fixture
async def engine(seeded: Database) -> AsyncIterator[Engine]:
    eng = Engine(seeded, ManualClock(NOW))
    await eng.start()
    yield eng
    await eng.stop()


def new_chat(subject: str) -> CreateInteraction:
    return CreateInteraction("chat", {"subject": subject}, RouteRequest("support"))


async def one_batch(engine: Engine, commands: list[Message[Any]]) -> list[Any]:
    """Submit the commands together (they share a batch); each one's result or exception."""
    return await asyncio.gather(*(engine.execute(c) for c in commands), return_exceptions=True)


async def assert_memory_is_the_store(engine: Engine) -> None:
    async with engine.db.session() as s:
        fresh = await load_state(s)
    assert_same_view(view(engine.state), view(fresh), "memory vs store")


async def test_a_command_the_store_refuses_fails_alone(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "omniroute.engine.engine")
    # The second use of a one-time key: memory does not track these keys, the store refuses it.
    commands: list[Message[Any]] = [
        SetPresence("alice", "available"),
        case_form("k1"),
        new_chat("first"),
        case_form("k1"),
        SetPresence("carol", "away"),
        new_chat("second"),
    ]
    results = await one_batch(engine, commands)
    refused = results[3]
    assert isinstance(refused, DomainError), refused
    assert refused.code is ErrorCode.CONFLICT
    assert "nothing was changed" in refused.message
    others = [r for i, r in enumerate(results) if i != 3]
    assert not [r for r in others if isinstance(r, BaseException)], others
    # They shared a batch: the store refused it, and the engine ran its commands one by one.
    assert "running its commands one by one" in caplog.text
    async with engine.db.session() as s:
        interactions = set(await s.scalars(select(t.InteractionRow.id)))
        cases = list(await s.scalars(select(t.CaseRow.id)))
        presence = dict((await s.execute(select(t.AgentRow.id, t.AgentRow.presence_id))).all())
        keys = list(await s.scalars(select(t.IdempotencyKeyRow.result_id)))
    assert {results[2].id, results[5].id} <= interactions
    assert cases == [results[1].id] == keys
    assert presence == {"alice": "available", "bob": "offline", "carol": "away"}
    # The work went to alice, the only available agent, as if the refused command never came.
    assert engine.state.agents["alice"].load == {"chat": 2, "case": 1}
    await assert_memory_is_the_store(engine)
    # The engine keeps serving afterwards.
    assert (await engine.execute(SetPresence("bob", "available"))).presence_id == "available"


async def test_a_value_no_store_can_hold_is_refused_at_the_door(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "omniroute.engine.engine")
    commands: list[Message[Any]] = [
        SetPresence("alice", "available"),
        SetCapacity("bob", {"chat": TOO_BIG}),
        CreateInteraction("chat", {"subject": "nul \x00 inside"}, RouteRequest("support")),
        new_chat("fine"),
    ]
    results = await one_batch(engine, commands)
    for refused, field in ((results[1], "channels.chat"), (results[2], "fields.subject")):
        assert isinstance(refused, DomainError), refused
        assert (refused.code, refused.field) == (ErrorCode.VALIDATION_ERROR, field)
    assert results[0].presence_id == "available"
    assert results[3].work_item_id is not None
    # Refused before anything changed: no reload, no one-by-one re-run.
    assert "one by one" not in caplog.text
    assert "chat" not in engine.state.agents["bob"].capacity_overrides
    await assert_memory_is_the_store(engine)


async def test_the_guard_fails_a_command_that_refuses_after_changing_state(
    engine: Engine,
) -> None:
    assert engine.guard, "the test suite runs every engine with the isolation guard"
    results = await one_batch(
        engine, [SetPresence("alice", "away"), HalfDone("bob"), SetPresence("carol", "away")]
    )
    assert isinstance(results[1], IsolationError)
    assert "HalfDone" in str(results[1])
    assert [r.presence_id for r in (results[0], results[2])] == ["away", "away"]
    assert engine.state.agents["bob"].presence_id == "offline"
    await assert_memory_is_the_store(engine)


async def test_a_crashing_command_fails_alone_without_the_guard(seeded: Database) -> None:
    engine = Engine(seeded, ManualClock(NOW), guard=False)
    await engine.start()
    try:
        results = await one_batch(
            engine, [SetPresence("alice", "away"), HalfDone("bob", crash=True), new_chat("c")]
        )
        crashed = results[1]
        assert isinstance(crashed, DomainError)
        assert crashed.code is ErrorCode.STORE_UNAVAILABLE
        assert "KeyError" in crashed.message
        assert results[0].presence_id == "away"
        assert results[2].work_item_id is not None
        # The half-done change was never stored, and memory was reloaded from the store.
        assert engine.state.agents["bob"].presence_id == "offline"
        await assert_memory_is_the_store(engine)
    finally:
        await engine.stop()
