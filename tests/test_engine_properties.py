"""Property-based tests of the engine: random programs of commands against a real store."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from omniroute.cluster.commit_fence import EpochFence
from omniroute.cluster.lease import LeaderLease
from omniroute.core import routing, transfers
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.door import Message
from omniroute.core.messages import (
    AcceptOffer,
    CancelTransfer,
    CloseCase,
    CompleteConsult,
    CreateInteraction,
    EndInteraction,
    FileCaseForm,
    RejectOffer,
    RouteDocument,
    SetCapacity,
    SetPresence,
    StartTransfer,
    SubmitWrapUp,
)
from omniroute.core.state import EngineState
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.escalation import step_due
from omniroute.domain.model import (
    CAPACITY_HOLDING_STATES,
    LIVE_WORK_ITEM_STATES,
    CaseState,
    DocumentType,
    InteractionState,
    OfferState,
    RoutingMode,
    SkillRequirement,
    WorkItemState,
)
from omniroute.domain.outbound import TransferType
from omniroute.engine.clock import ManualClock
from omniroute.engine.engine import Engine
from omniroute.engine.loader import load_state
from omniroute.engine.standby import Standby
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.conftest import reset_schema
from tests.door_commands import create_command, create_document, start_transfer
from tests.seed import NOW, add_agent, add_queue, add_rule, seed_catalog

CHANNELS = ("chat", "email", "case", "voice")
SKILLS = ("english", "french", "billing")
RULES: dict[str, dict[str, Any]] = {
    "mc": {"strategy": "most_capacity", "offer_timeout_s": 30, "presence_after_timeout": "away"},
    "li": {"strategy": "longest_idle", "offer_timeout_s": 20, "reassign_on_timeout": True},
    "ovf": {
        "strategy": "most_capacity",
        "offer_timeout_s": 25,
        "allowed_to_decline": False,
        "primary_group_id": "tier1",
        "overflow_group_id": "tier2",
        "overflow_after_s": 15,
    },
    "auto": {"strategy": "longest_idle", "offer_timeout_s": None, "auto_accept": True},
    "open": {"strategy": "most_capacity", "offer_timeout_s": None},
}
QUEUES: dict[str, dict[str, Any]] = {
    "general": {"channels": ["chat", "email", "case", "voice"], "rule_id": "open"},
    "sales": {
        "channels": ["chat", "email"],
        "rule_id": "mc",
        "priority": 50,
        "skills": [{"skill_id": "english", "min_level": 1, "mandatory": True}],
    },
    "support": {
        "channels": ["chat", "email", "case"],
        "rule_id": "li",
        "priority": 100,
        "skills": [
            {"skill_id": "billing", "min_level": 2, "mandatory": False, "widen_after_s": 10}
        ],
    },
    "vip": {"channels": ["chat", "voice"], "rule_id": "ovf", "priority": 10},
    "backoffice": {"channels": ["case", "email"], "rule_id": "auto", "priority": 100},
    # Escalation: French speakers first, then anyone; priority rises; the final step abandons.
    "escalating": {
        "channels": ["chat", "email"],
        "rule_id": "mc",
        "priority": 60,
        "skills": [{"skill_id": "french", "min_level": 2, "mandatory": True}],
        "escalation": [
            {"after_s": 15, "action": "widen", "drop_skills": ["french"]},
            {"after_s": 25, "action": "raise_priority", "raise_by": 50},
            {"after_s": 60, "action": "abandon", "reason": "no_agent", "message": "Sorry"},
        ],
        "aging_per_min": 2.0,
    },
}
FINAL_STEP = 2
STEP_KINDS = (
    ["arrive"] * 5
    + ["accept"] * 3
    + ["reject"] * 2
    + ["advance"] * 2
    + ["presence", "availability", "capacity", "end", "end", "reroute", "restart", "stale"]
    + ["transfer", "transfer", "cancel_transfer", "complete_consult", "poisoned_batch"]
)
TIMED_KINDS = {"advance", "transfer"}
CLOSED_DOC_STATES = {"closed_complete", "closed_abandoned", "resolved", "closed"}
ANY_OUTCOME = "any"


class Ids:
    """Deterministic identifiers, so that hypothesis can replay a program exactly."""

    def __init__(self) -> None:
        self.counter = itertools.count()

    def reset(self) -> None:
        """Start numbering again for a new example."""
        self.counter = itertools.count()

    def __call__(self) -> str:
        """The next identifier; sorting ids sorts them by creation."""
        return f"id{next(self.counter):07d}"


@pytest.fixture
def ids(monkeypatch: pytest.MonkeyPatch) -> Ids:
    """Patch the services' id generator, wherever it was imported, with a deterministic one."""
    gen = Ids()
    original = routing.new_id
    for name, module in list(sys.modules.items()):
        if name.startswith("omniroute.") and getattr(module, "new_id", None) is original:
            monkeypatch.setattr(module, "new_id", gen)
    return gen


# -- views of the state ------------------------------------------------------------------


def view(state: EngineState) -> dict[str, Any]:
    """A normalised, comparable picture of the engine state (what a reload must reproduce)."""
    index = state.index
    return {
        "items": {
            i.id: (
                i.document_type,
                i.document_id,
                i.queue_id,
                i.channel_id,
                i.priority,
                i.created_at,
                i.skills,
                i.state,
                i.rejected,
                i.timed_out,
                i.offer_count,
                i.previous_id,
                i.transfer_type,
                i.transfer_from_agent_id,
                i.transfer_to_agent_id,
                i.agent_id,
                i.offer_id,
                frozenset(i.excluded_agents),
                i.accepted_at,
            )
            for i in state.work_items.values()
        },
        "offers": {
            o.id: (
                o.work_item_id,
                o.agent_id,
                o.created_at,
                o.expires_at,
                o.allowed_to_decline,
                o.auto_accept,
                o.presence_after_timeout,
                o.state,
            )
            for o in state.offers.values()
        },
        "documents": {
            d.id: (
                d.type,
                d.channel_id,
                str(d.state),
                d.work_item_id,
                d.accepted_item_id,
                d.agent_id,
                d.wrap_up_due_at,
            )
            for d in state.documents.values()
        },
        "agents": {
            a.id: (
                a.presence_id,
                a.presence_since,
                a.capacity_cap,
                dict(a.capacity_overrides),
                frozenset(ch for ch, ok in a.channel_available.items() if not ok),
                dict(a.skills),
                a.groups,
                {ch: n for ch, n in a.load.items() if n},
                a.last_assigned_at,
            )
            for a in state.agents.values()
        },
        "queued": sorted(index.items),
        "routable": {a: sorted(index.routable_channels(a)) for a in state.agents},
        "next_seq": state.next_seq,
    }


def assert_same_view(actual: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    """Compare two views part by part, for readable failures."""
    for key, value in expected.items():
        assert actual[key] == value, f"{what}: '{key}' differs"


# -- the world one program runs in -------------------------------------------------------


@dataclass
class World:
    """One example's database, clock, engine and bookkeeping."""

    db: Database
    clock: ManualClock
    engine: Engine
    agent_ids: list[str]
    docs: list[str] = field(default_factory=list)
    seen_offers: set[str] = field(default_factory=set)
    loads: dict[tuple[str, str], int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    live_items: dict[str, str] = field(default_factory=dict)
    active_docs: dict[str, str] = field(default_factory=dict)
    closed_by_step: set[str] = field(default_factory=set)
    rerouted_by_step: set[str] = field(default_factory=set)
    cancelled_by_step: set[str] = field(default_factory=set)
    kind: str = "start"
    last_result: Any = None
    # On PostgreSQL the engine leads under a lease and a hot standby follows its changes.
    standby: Standby | None = None

    @property
    def state(self) -> EngineState:
        """The live engine state."""
        return self.engine.state

    def begin_step(self, kind: str) -> None:
        """Reset the per-step bookkeeping."""
        self.closed_by_step = set()
        self.rerouted_by_step = set()
        self.cancelled_by_step = set()
        self.kind = kind


async def attempt(
    world: World, command: Message[Any], expect: ErrorCode | str | None = None
) -> bool:
    """Run a command; a refused one must change nothing. `expect`: None, a code, or any."""
    before = view(world.state)
    refused: DomainError | None = None
    try:
        world.last_result = await world.engine.execute(command)
    except DomainError as err:
        refused = err
    if refused is not None:
        event(f"{world.kind}: {refused.code}")
        assert_same_view(view(world.state), before, f"refused command ({refused.code}) leaked")
        if expect is None:
            pytest.fail(f"unexpected refusal {refused.code}: {refused.message}")
        if expect != ANY_OUTCOME:
            assert refused.code == expect
        return False
    event(f"{world.kind}: ok")
    assert expect in (None, ANY_OUTCOME), f"expected {expect}, but the command succeeded"
    return True


# -- steps -------------------------------------------------------------------------------

requirement_st = st.builds(
    SkillRequirement,
    skill_id=st.sampled_from(SKILLS),
    min_level=st.integers(1, 3),
    mandatory=st.booleans(),
    widen_after_s=st.one_of(st.none(), st.sampled_from([5, 10, 30])),
)


def queues_for(channel_id: str) -> list[str]:
    """Queues serving a channel."""
    return [q for q, spec in QUEUES.items() if channel_id in spec["channels"]]


async def step_arrive(world: World, data: st.DataObject) -> None:
    """A new interaction or case, usually routed to a queue."""
    doc_type = data.draw(st.sampled_from([DocumentType.INTERACTION, DocumentType.CASE]))
    channels = ["case", "email"] if doc_type is DocumentType.CASE else ["chat", "email", "voice"]
    channel = data.draw(st.sampled_from(channels))
    route: RouteRequest | None = None
    if data.draw(st.integers(0, 5)) < 5:
        route = RouteRequest(
            data.draw(st.sampled_from(queues_for(channel))),
            priority=data.draw(st.one_of(st.none(), st.sampled_from([5, 50, 200]))),
            skills=tuple(data.draw(st.lists(requirement_st, max_size=1))),
        )
    new = NewDocument(doc_type, channel, {"subject": "property"}, route)
    if await attempt(world, create_command(new)):
        world.docs.append(world.last_result.id)


def pick_agent(world: World, data: st.DataObject) -> str:
    """One of the example's agents."""
    return data.draw(st.sampled_from(world.agent_ids))


async def step_presence(world: World, data: st.DataObject) -> None:
    """An agent changes presence state."""
    agent_id = pick_agent(world, data)
    presence = data.draw(st.sampled_from(["available", "available", "away", "offline"]))
    await attempt(world, SetPresence(agent_id, presence, None))


async def step_availability(world: World, data: st.DataObject) -> None:
    """An agent turns channels on or off."""
    agent_id = pick_agent(world, data)
    flags = data.draw(st.dictionaries(st.sampled_from(CHANNELS), st.booleans(), min_size=1))
    await attempt(world, SetPresence(agent_id, None, flags))


async def step_capacity(world: World, data: st.DataObject) -> None:
    """An administrator changes an agent's capacities or universal cap."""
    agent_id = pick_agent(world, data)
    channels = data.draw(
        st.dictionaries(st.sampled_from(CHANNELS), st.one_of(st.none(), st.integers(0, 3)))
    )
    cap_given = data.draw(st.booleans())
    cap = data.draw(st.one_of(st.none(), st.integers(0, 4)))
    await attempt(world, SetCapacity(agent_id, channels, cap_given=cap_given, capacity_cap=cap))


def pick_offer(world: World, data: st.DataObject) -> str | None:
    """One of the pending offers, if any."""
    pending = sorted(world.state.offers)
    return data.draw(st.sampled_from(pending)) if pending else None


def other_agent(world: World, agent_id: str) -> str | None:
    """An agent other than the given one, if the example has one."""
    others = [a for a in world.agent_ids if a != agent_id]
    return others[0] if others else None


async def step_accept(world: World, data: st.DataObject) -> None:
    """The offered agent (or an integration, or a wrong agent) accepts a pending offer."""
    offer_id = pick_offer(world, data)
    if offer_id is None:
        return
    offer = world.state.offers[offer_id]
    item = world.state.work_items[offer.work_item_id]
    who = data.draw(st.sampled_from(["owner", "owner", "integration", "other"]))
    agent_id: str | None = offer.agent_id
    expect: ErrorCode | None = None
    if who == "integration":
        agent_id = None
    elif who == "other" and (other := other_agent(world, offer.agent_id)) is not None:
        agent_id, expect = other, ErrorCode.FORBIDDEN
    if await attempt(world, AcceptOffer(offer_id, agent_id), expect):
        assert item.state is WorkItemState.ACCEPTED
        doc = world.state.documents[item.document_id]
        assert doc.accepted_item_id == item.id
        assert doc.agent_id == offer.agent_id


async def step_reject(world: World, data: st.DataObject) -> None:
    """The offered agent declines a pending offer, with or without a reason."""
    offer_id = pick_offer(world, data)
    if offer_id is None:
        return
    offer = world.state.offers[offer_id]
    item = world.state.work_items[offer.work_item_id]
    reason = data.draw(st.sampled_from([None, "busy", "wrong", "email-only"]))
    expect: ErrorCode | None = None
    if not offer.allowed_to_decline:
        expect = ErrorCode.DECLINE_NOT_ALLOWED
    elif reason == "email-only" and item.channel_id != "email":
        expect = ErrorCode.INVALID_REJECT_REASON
    ok = await attempt(world, RejectOffer(offer_id, offer.agent_id, reason, "n"), expect)
    if not ok:
        return
    assert item.rejected
    if reason != "busy":
        assert offer.agent_id in item.excluded_agents
        assert item.agent_id != offer.agent_id or item.state in (
            WorkItemState.QUEUED,
            WorkItemState.CANCELLED,
        )
    if item.transfer_to_agent_id is not None:
        assert item.state is WorkItemState.CANCELLED
        assert item.cancel_reason == "transfer_rejected"


async def step_advance(world: World, data: st.DataObject) -> None:
    """Time passes; due offer timeouts, wrap-up limits and re-checks fire."""
    seconds = data.draw(st.sampled_from([1, 5, 10, 15, 20, 25, 30, 31, 61]))
    world.clock.advance(seconds)
    now = world.clock.now()
    due = {
        o.id: o
        for o in world.state.offers.values()
        if o.expires_at is not None and o.expires_at <= now
    }
    await world.engine.tick()
    async with world.db.session() as s:
        rows = (await s.scalars(select(t.OfferRow).where(t.OfferRow.id.in_(list(due))))).all()
    ended = {r.id: r.state for r in rows}
    assert set(ended) == set(due)
    for offer in due.values():
        if ended[offer.id] == OfferState.WITHDRAWN.value:
            # A wrap-up limit that fell due earlier closed the document first.
            item = world.state.work_items.get(offer.work_item_id)
            assert item is None
            continue
        assert ended[offer.id] == OfferState.TIMED_OUT.value
        event("advance: offer timed out")
        if offer.presence_after_timeout is not None:
            assert world.state.agents[offer.agent_id].presence_id == offer.presence_after_timeout


async def step_end(world: World, data: st.DataObject) -> None:
    """End, wrap up or close an active document (by its agent, an integration, or a stranger)."""
    active = [d for d in world.docs if d in world.state.documents]
    if not active:
        return
    doc = world.state.documents[data.draw(st.sampled_from(active))]
    doc_id = doc.id
    owner = doc.agent_id
    who = data.draw(st.sampled_from(["owner", "owner", "integration", "other"]))
    agent_id = None if who == "integration" else owner
    stranger = who == "other" and (other := other_agent(world, owner or "")) is not None
    if stranger:
        agent_id = other
    expect: ErrorCode | str | None = ErrorCode.FORBIDDEN if stranger else None
    closes = False
    command: Message[None]
    if doc.type is DocumentType.CASE:
        closes = True
        command = CloseCase(doc_id, agent_id, "done")
    elif doc.state in (InteractionState.NEW, InteractionState.ON_HOLD):
        closes = True
        command = EndInteraction(doc_id, agent_id)
    elif doc.state == InteractionState.WORK_IN_PROGRESS:
        code = data.draw(st.sampled_from([None, "resolved", "follow-up", "bogus"]))
        closes = code == "resolved"
        if code == "bogus" and not stranger:
            expect = ErrorCode.INVALID_WRAP_UP_CODE
        command = EndInteraction(doc_id, agent_id, code, "n")
    else:
        closes = True
        wrap_code = data.draw(st.sampled_from(["resolved", "follow-up"]))
        command = SubmitWrapUp(doc_id, wrap_code, agent_id, "w")
    ok = await attempt(world, command, expect)
    if ok and closes:
        world.closed_by_step.add(doc_id)
        assert doc_id not in world.state.documents
    elif ok:
        assert world.state.documents[doc_id].state == InteractionState.WRAP_UP


async def step_reroute(world: World, data: st.DataObject) -> None:
    """Route an active document to a queue again (or for the first time)."""
    active = [d for d in world.docs if d in world.state.documents]
    if not active:
        return
    doc = world.state.documents[data.draw(st.sampled_from(active))]
    doc_id = doc.id
    queue_id = data.draw(st.sampled_from(sorted(QUEUES)))
    expect: ErrorCode | None = None
    if doc.channel_id not in QUEUES[queue_id]["channels"]:
        expect = ErrorCode.QUEUE_CHANNEL_MISMATCH
    elif doc.state == InteractionState.WRAP_UP:
        expect = ErrorCode.INVALID_STATE_TRANSITION
    elif consult_open(world, doc_id):
        expect = ErrorCode.TRANSFER_PENDING
    route = RouteRequest(queue_id, skills=tuple(data.draw(st.lists(requirement_st, max_size=1))))
    if await attempt(world, RouteDocument(doc_id, route), expect):
        world.rerouted_by_step.add(doc_id)


async def step_restart(world: World, data: st.DataObject) -> None:
    """Stop the engine and start a new one on the same store and clock.

    On PostgreSQL the standby takes over in a new term from its warm state, and a new standby
    starts following.
    """
    before = view(world.state)
    await world.engine.stop()
    if world.standby is None:
        world.engine = Engine(world.db, world.clock)
        await world.engine.start()
    else:
        world.engine = await lead(world.db, world.clock, world.standby)
        assert world.standby.full_loads == 1, "the takeover loaded the whole state"
        world.standby = await stand_by(world.db)
    event(f"restart with {len(before['offers'])} offers, {len(before['items'])} items")
    assert_same_view(view(world.state), before, "state after restart")


async def step_stale(world: World, data: st.DataObject) -> None:
    """Accept or reject an offer that already ended: refused, nothing changes."""
    ended = sorted(world.seen_offers - set(world.state.offers))
    if not ended:
        return
    offer_id = data.draw(st.sampled_from(ended))
    async with world.db.session() as s:
        row = await s.get(t.OfferRow, offer_id)
    assert row is not None
    remembered = world.state.ended_offers.get(offer_id)
    if remembered is None:
        # Only live items' outcomes are reloaded; the API answers older ones from the store.
        expect: ErrorCode | str = ANY_OUTCOME
    elif row.state == OfferState.ACCEPTED.value:
        expect = ErrorCode.WORK_ITEM_ALREADY_ACCEPTED
    else:
        expect = ErrorCode.OFFER_NOT_PENDING
    stale: Message[Any]
    if data.draw(st.booleans()):
        stale = AcceptOffer(offer_id, row.agent_id)
    else:
        stale = RejectOffer(offer_id, row.agent_id)
    ok = await attempt(world, stale, expect)
    assert not ok, "an ended offer was accepted or rejected again"


def pick_active(world: World, data: st.DataObject, *, worked: bool = False) -> str | None:
    """One of the active documents (being worked, if asked), if any."""
    docs = world.state.documents
    active = [d for d in world.docs if d in docs and (docs[d].accepted_item_id or not worked)]
    return data.draw(st.sampled_from(active)) if active else None


def consult_open(world: World, doc_id: str) -> bool:
    """Whether a consult sender still holds the document's work."""
    state = world.state
    current = state.work_items.get(state.documents[doc_id].accepted_item_id or "")
    if current is None or current.transfer_type != TransferType.CONSULT.value:
        return False
    sender = state.work_items.get(current.previous_id or "")
    return sender is not None and sender.state is WorkItemState.ACCEPTED


def worker(world: World, doc_id: str) -> str | None:
    """The agent holding a document's current accepted work item."""
    doc = world.state.documents[doc_id]
    item = world.state.work_items.get(doc.accepted_item_id or "")
    return item.agent_id if item is not None else None


async def step_transfer(world: World, data: st.DataObject) -> None:
    """The working agent transfers a document, blind or consult, to an agent or a queue."""
    doc_id = pick_active(world, data, worked=data.draw(st.integers(0, 3)) > 0)
    if doc_id is None:
        return
    request = transfers.TransferRequest(
        document_id=doc_id,
        by_agent_id=data.draw(st.sampled_from([worker(world, doc_id), None])),
        target_agent_id=data.draw(st.one_of(st.none(), st.sampled_from(world.agent_ids))),
        target_queue_id=data.draw(st.one_of(st.none(), st.sampled_from(sorted(QUEUES)))),
        type=data.draw(st.sampled_from([TransferType.BLIND, TransferType.CONSULT])),
    )
    await attempt(world, StartTransfer(request), ANY_OUTCOME)


async def step_cancel_transfer(world: World, data: st.DataObject) -> None:
    """The sender cancels a pending transfer."""
    doc_id = pick_active(world, data, worked=data.draw(st.booleans()))
    if doc_id is None:
        return
    by = data.draw(st.sampled_from([worker(world, doc_id), None]))
    if await attempt(world, CancelTransfer(doc_id, by), ANY_OUTCOME):
        world.cancelled_by_step.add(doc_id)


async def step_complete_consult(world: World, data: st.DataObject) -> None:
    """The consulting sender leaves an accepted consult transfer."""
    doc_id = pick_active(world, data, worked=True)
    if doc_id is None:
        return
    await attempt(world, CompleteConsult(doc_id, None), ANY_OUTCOME)


POISON_KEYS = itertools.count()


async def step_poisoned_batch(world: World, data: st.DataObject) -> None:
    """A batch with a command the store refuses: the others are applied as if it never came.

    The poison is the second use of a case form's one-time key: memory does not track these
    keys, so only the store's unique key refuses it, and the whole batch's write with it.
    """
    presence = {
        a: data.draw(st.sampled_from(["available", "away", "offline"]))
        for a in data.draw(st.lists(st.sampled_from(world.agent_ids), unique=True, max_size=2))
    }
    commands: list[Message[Any]] = [SetPresence(a, p) for a, p in presence.items()]
    for _ in range(data.draw(st.integers(0, 2))):
        route = RouteRequest(data.draw(st.sampled_from(queues_for("chat"))))
        commands.append(create_command(NewDocument(DocumentType.INTERACTION, "chat", {}, route)))
    key = f"form-{next(POISON_KEYS)}"
    queue_id = data.draw(st.sampled_from(queues_for("case")))
    first = FileCaseForm({"subject": "form"}, queue_id, key, "h")
    poison = FileCaseForm({"subject": "again"}, queue_id, key, "h")
    commands.insert(data.draw(st.integers(0, len(commands))), first)
    after_first = commands.index(first) + 1
    commands.insert(data.draw(st.integers(after_first, len(commands))), poison)
    results = await asyncio.gather(
        *(world.engine.execute(c) for c in commands), return_exceptions=True
    )
    event(f"poisoned batch of {len(commands)}")
    for command, result in zip(commands, results, strict=True):
        if command is poison:
            assert isinstance(result, DomainError), result
            assert result.code is ErrorCode.CONFLICT
        else:
            assert not isinstance(result, BaseException), f"{command.name} failed: {result!r}"
            if isinstance(command, CreateInteraction | FileCaseForm):
                world.docs.append(result.id)
    for agent_id, presence_id in presence.items():
        assert world.state.agents[agent_id].presence_id == presence_id
    async with world.db.session() as s:
        stored = await s.get(t.IdempotencyKeyRow, key)
    assert stored is not None
    filed = results[commands.index(first)]
    assert not isinstance(filed, BaseException)
    assert stored.result_id == filed.id


STEPS = {
    "poisoned_batch": step_poisoned_batch,
    "arrive": step_arrive,
    "presence": step_presence,
    "availability": step_availability,
    "capacity": step_capacity,
    "accept": step_accept,
    "reject": step_reject,
    "advance": step_advance,
    "end": step_end,
    "reroute": step_reroute,
    "restart": step_restart,
    "stale": step_stale,
    "transfer": step_transfer,
    "cancel_transfer": step_cancel_transfer,
    "complete_consult": step_complete_consult,
}


# -- invariants --------------------------------------------------------------------------


async def check_invariants(world: World, kind: str) -> None:
    """Every invariant the engine promises, in memory, in the store, and between them."""
    state = world.state
    index = state.index
    now = world.clock.now()
    async with world.db.session() as s:
        fresh = await load_state(s)
        item_rows = {r.id: r for r in (await s.scalars(select(t.WorkItemRow))).all()}
        offer_rows = {r.id: r for r in (await s.scalars(select(t.OfferRow))).all()}
        doc_states: dict[str, str] = {}
        for row_type in (t.InteractionRow, t.CaseRow):
            for doc_id, doc_state in await s.execute(select(row_type.id, row_type.state)):
                doc_states[doc_id] = doc_state
        max_seq = await s.scalar(select(func.max(t.AgentEventRow.seq)))

    # State + events == freshly fetched state.
    assert_same_view(view(state), view(fresh), f"memory vs store after '{kind}'")
    # A hot standby that applied the committed changes holds the same, without reloading.
    if world.standby is not None:
        await world.standby.follow()
        assert world.standby.state is not None
        assert_same_view(view(world.standby.state), view(fresh), f"standby after '{kind}'")
        assert world.standby.full_loads == 1, f"the standby reloaded after '{kind}'"
    assert state.next_seq == (max_seq or 0) + 1

    # A work item never has two live offers, in the store or in memory.
    pending = Counter(o.work_item_id for o in offer_rows.values() if o.state == "pending")
    assert all(n == 1 for n in pending.values()), pending
    assert Counter(o.work_item_id for o in state.offers.values()) == pending
    for offer in state.offers.values():
        item = state.work_items[offer.work_item_id]
        assert item.state is WorkItemState.PENDING_ACCEPT
        assert (item.offer_id, item.agent_id) == (offer.id, offer.agent_id)
        # Offer timeouts are armed and none is overdue.
        if offer.expires_at is not None:
            assert offer.expires_at > now
            assert (offer.expires_at, "offer_timeout", offer.id) in state.timers

    # Work items: live ones in memory, queued internal ones indexed, others not.
    live_rows = {i: r for i, r in item_rows.items() if r.state in LIVE_WORK_ITEM_STATES}
    assert set(state.work_items) == set(live_rows)
    internal_queued = set()
    for item in state.work_items.values():
        if item.state is WorkItemState.PENDING_ACCEPT:
            assert item.offer_id in state.offers
        else:
            assert item.offer_id is None
        queue = state.config.queues[item.queue_id]
        if item.state is WorkItemState.QUEUED and queue.routing_mode is RoutingMode.INTERNAL:
            internal_queued.add(item.id)
            assert index.items[item.id] is item
    assert set(index.items) == internal_queued

    # Loads equal the store's count of capacity-holding items per agent and channel.
    held = Counter(
        (r.agent_id, r.channel_id) for r in item_rows.values() if r.state in CAPACITY_HOLDING_STATES
    )
    assert {k for k in held if k[0] not in state.agents} == set()
    channels = state.config.channels
    for agent in state.agents.values():
        for channel_id in channels:
            assert agent.load.get(channel_id, 0) == held[(agent.id, channel_id)]

    # Capacity: a new offer never takes an agent past capacity or cap, and load never grows
    # beyond capacity (it may exceed it only when an administrator lowered the capacity).
    new_offers = [o for o in offer_rows.values() if o.id not in world.seen_offers]
    for new_offer in new_offers:
        agent = state.agents[new_offer.agent_id]
        channel = channels[item_rows[new_offer.work_item_id].channel_id]
        assert agent.load.get(channel.id, 0) <= agent.capacity_for(channel), new_offer.id
        if agent.capacity_cap is not None:
            assert agent.total_load <= agent.capacity_cap, new_offer.id
    for agent in state.agents.values():
        if agent.total_load < world.totals.get(agent.id, 0) and index.items:
            event("capacity freed while items wait")
        for channel in channels.values():
            load = agent.load.get(channel.id, 0)
            assert load <= max(
                agent.capacity_for(channel), world.loads.get((agent.id, channel.id), 0)
            )
            world.loads[(agent.id, channel.id)] = load
        if agent.capacity_cap is not None:
            assert agent.total_load <= max(agent.capacity_cap, world.totals.get(agent.id, 0))
        world.totals[agent.id] = agent.total_load
    world.seen_offers.update(o.id for o in new_offers)

    # The index's routable lists agree with presence, availability and free capacity.
    for agent in state.agents.values():
        presence = state.config.presence[agent.presence_id]
        expected = sorted(
            ch.id
            for ch in channels.values()
            if presence.is_available
            and agent.channel_available.get(ch.id, True)
            and agent.free_on(ch) > 0
        )
        assert sorted(index.routable_channels(agent.id)) == expected

    # Fixpoint: no queued item and routable agent form an eligible pair.
    for item in index.items.values():
        assert index.best_agent_for(item, now) is None, f"{item.id} left waiting"
    for agent in state.agents.values():
        assert index.best_item_for(agent, now) is None, f"{agent.id} left idle"

    # Nothing is lost: documents and their work items.
    live_by_doc: dict[str, list[Any]] = defaultdict(list)
    for row in live_rows.values():
        live_by_doc[row.document_id].append(row)
    active = {d for d, st_ in doc_states.items() if st_ not in CLOSED_DOC_STATES}
    assert set(world.docs) <= set(doc_states)
    assert set(state.documents) == active
    for doc_id in set(doc_states) - active:
        assert live_by_doc[doc_id] == [], f"closed document {doc_id} keeps live work"
    for doc in state.documents.values():
        live = {r.id: r for r in live_by_doc[doc.id]}
        # Beside the current item and the accepted one, only a consult sender stays live.
        current = state.work_items.get(doc.accepted_item_id or "")
        sender = None
        if current is not None and current.transfer_type == TransferType.CONSULT.value:
            sender = current.previous_id
        assert set(live) <= {doc.work_item_id, doc.accepted_item_id, sender}, doc
        accepted = {i for i, r in live.items() if r.state == WorkItemState.ACCEPTED.value}
        if doc.accepted_item_id is None:
            assert accepted == set()
        else:
            assert doc.accepted_item_id in accepted
            assert accepted <= {doc.accepted_item_id, sender}
            assert live[doc.accepted_item_id].agent_id == doc.agent_id
        in_progress = doc.state in (
            InteractionState.WORK_IN_PROGRESS,
            InteractionState.WRAP_UP,
            CaseState.IN_PROGRESS,
        )
        assert in_progress == (doc.accepted_item_id is not None), doc
        if doc.work_item_id is not None:
            assert doc.work_item_id in live, f"{doc.id} lost its current item"

    # Escalation: only the final step abandons, and only once its wait has passed.
    abandoned_docs = set()
    for row in item_rows.values():
        if row.cancel_reason == "abandoned":
            steps = QUEUES[row.queue_id]["escalation"]
            assert row.escalation_step == FINAL_STEP, (
                f"{row.id} abandoned at step {row.escalation_step}"
            )
            assert row.cancel_detail == steps[FINAL_STEP]["reason"]
            assert row.ended_at is not None
            waited = (row.ended_at - (row.entered_at or row.created_at)).total_seconds()
            assert waited >= steps[FINAL_STEP]["after_s"], f"{row.id} abandoned after {waited} s"
            abandoned_docs.add(row.document_id)
            event("escalation: abandoned at the final step")
        elif row.escalation_step:
            event(f"escalation: step {row.escalation_step} applied")
    # No item waits past a step that fell due: it has taken the step, or the step's timer is
    # armed to fire now (an item offered when its step fell due takes it once it is back).
    for item in state.work_items.values():
        queue = state.config.queues[item.queue_id]
        due = step_due(queue.steps, item.escalation_step, item.queued_since())
        if item.state is WorkItemState.QUEUED and due is not None and due <= now:
            armed = [d for d, k, i in state.timers.entries() if k == "escalate" and i == item.id]
            assert armed, f"{item.id} waits past step {item.escalation_step}"
            assert min(armed) <= now, f"{item.id} waits past step {item.escalation_step}"
        # At rest, no queued item has an eligible routable agent.
        if item.state is WorkItemState.QUEUED and item.id in index.items:
            assert index.best_agent_for(item, now) is None, f"{item.id} has a free agent"

    # Documents close, and items end, only for a reason the step gives.
    for doc_id, was in world.active_docs.items():
        if doc_id in active:
            continue
        allowed = doc_id in world.closed_by_step or (kind in TIMED_KINDS and was == "wrap_up")
        # An unanswered interaction closes when the final escalation step abandons its item
        # (a step that fell due while the item was offered fires in whatever batch comes next).
        allowed = allowed or doc_id in abandoned_docs
        assert allowed, f"document {doc_id} ({was}) closed by '{kind}'"
    world.active_docs = {d: doc_states[d] for d in active}
    for item_id, doc_id in world.live_items.items():
        if item_id in live_rows:
            continue
        row = item_rows[item_id]
        if row.state == WorkItemState.CANCELLED.value:
            reason = row.cancel_reason
            allowed_reason = {
                "document_closed": True,
                "rerouted": doc_id in world.rerouted_by_step,
                "transfer_cancelled": doc_id in world.cancelled_by_step,
                "transfer_rejected": kind == "reject",
                "transfer_timed_out": kind in TIMED_KINDS,
                "abandoned": True,  # checked against the steps above
            }
            assert allowed_reason.get(reason or ""), f"{item_id} cancelled ({reason}) by '{kind}'"
            if reason == "document_closed":
                assert doc_id not in active or doc_states[doc_id] == "wrap_up"
        else:
            assert row.state == WorkItemState.CLOSED.value
            holder = state.documents.get(doc_id)
            assert holder is None or holder.accepted_item_id != item_id
    world.live_items = {i: r.document_id for i, r in live_rows.items()}


# -- the properties ----------------------------------------------------------------------


agent_spec = st.fixed_dictionaries(
    {
        "skills": st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3), min_size=1),
        "groups": st.lists(st.sampled_from(["tier1", "tier2"]), unique=True),
        "capacity_cap": st.one_of(st.none(), st.integers(1, 3)),
        "capacities": st.dictionaries(st.sampled_from(CHANNELS), st.integers(0, 2), max_size=2),
        "presence": st.sampled_from(["available", "available", "available", "away"]),
    }
)


async def seed_config(db: Database) -> None:
    """The catalog, rules and queues every example shares."""
    await seed_catalog(db)
    for rule_id, fields in RULES.items():
        await add_rule(db, rule_id, **fields)
    for queue_id, spec in QUEUES.items():
        await add_queue(db, queue_id, **spec)


@pytest.fixture
async def template(db_url: str, tmp_path: Path) -> Path | None:
    """On SQLite, a database file with the shared configuration, copied for each example."""
    if not db_url.startswith("sqlite"):
        return None
    path = tmp_path / "template.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await reset_schema(db)
    await seed_config(db)
    await db.dispose()
    return path


@asynccontextmanager
async def example_db(
    db_url: str, template: Path | None, n: int, specs: list[dict[str, Any]]
) -> AsyncIterator[tuple[Database, list[str]]]:
    """A configured database for one example, with its agents; removed afterwards."""
    copy: Path | None = None
    if template is not None:
        copy = template.with_name(f"example-{n}.db")
        shutil.copyfile(template, copy)
        db = Database(f"sqlite+aiosqlite:///{copy}")
    else:
        db = Database(db_url)
        await reset_schema(db)
        await seed_config(db)
    agent_ids = [f"agent{i}" for i in range(len(specs))]
    for agent_id, spec in zip(agent_ids, specs, strict=True):
        await add_agent(db, agent_id, **spec)
    try:
        yield db, agent_ids
    finally:
        await db.dispose()
        if copy is not None:
            for leftover in copy.parent.glob(f"{copy.name}*"):
                leftover.unlink()


async def lead(
    db: Database, clock: ManualClock, standby: Standby | None = None, timer_batch: int = 1000
) -> Engine:
    """An engine leading under the cluster lease in a new term (from a standby's state)."""
    lease = LeaderLease(db, "leader", 3600)
    await lease.ensure_row()
    term = await lease.try_acquire()
    assert term is not None
    engine = Engine(db, clock, timer_batch=timer_batch, fence=EpochFence(lease, term.epoch))
    engine.standby = standby
    await engine.start()
    return engine


async def stand_by(db: Database) -> Standby:
    """A hot standby with the whole state loaded."""
    standby = Standby(db)
    await standby.follow()
    return standby


@pytest.fixture
def examples() -> itertools.count[int]:
    """A counter of examples within one test."""
    return itertools.count()


@pytest.mark.timeout(900)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_programs_keep_the_invariants(
    db_url: str,
    template: Path | None,
    ids: Ids,
    examples: itertools.count[int],
    data: st.DataObject,
) -> None:
    """Random programs never exceed capacity, never double-offer, never lose work."""
    ids.reset()
    specs = data.draw(st.lists(agent_spec, min_size=2, max_size=4), label="agents")
    async with example_db(db_url, template, next(examples), specs) as (db, agent_ids):
        clock = ManualClock(NOW)
        if db.dialect == "postgresql":
            engine = await lead(db, clock)
            world = World(db, clock, engine, agent_ids, standby=await stand_by(db))
        else:
            engine = Engine(db, clock)
            await engine.start()
            world = World(db, clock, engine, agent_ids)
        try:
            await check_invariants(world, "start")
            program = data.draw(
                st.lists(st.sampled_from(STEP_KINDS), min_size=8, max_size=30), label="program"
            )
            for kind in program:
                world.begin_step(kind)
                await STEPS[kind](world, data)
                await check_invariants(world, kind)
            made = len(world.seen_offers)
            event("offers made: " + ("0" if not made else "1-4" if made < 5 else "5+"))
        finally:
            await world.engine.stop()


# -- targeted sequences ------------------------------------------------------------------


@pytest.fixture
async def configured(db: Database) -> Database:
    """The shared configuration on a fresh database."""
    await seed_config(db)
    return db


def chat_in(queue_id: str) -> NewDocument:
    """A chat interaction routed to a queue."""
    return NewDocument(DocumentType.INTERACTION, "chat", {"subject": "s"}, RouteRequest(queue_id))


async def create(engine: Engine, new: NewDocument) -> tuple[str, str]:
    """Create a routed document; its id and its work item's id."""
    doc, item = await create_document(engine, new)
    assert item is not None
    return doc.id, item.id


async def restarted(engine: Engine) -> Engine:
    """Stop an engine and start a new one on the same store and clock."""
    await engine.stop()
    fresh = Engine(engine.db, engine.clock)
    await fresh.start()
    return fresh


async def test_freed_capacity_routes_the_waiting_item(configured: Database) -> None:
    """Closing accepted work offers the next waiting item to the freed agent at once."""
    await add_agent(configured, "solo", capacity_cap=1)
    engine = Engine(configured, ManualClock(NOW))
    await engine.start()
    try:
        first_doc, first = await create(engine, chat_in("general"))
        _, second = await create(engine, chat_in("general"))
        items = engine.state.work_items
        assert items[first].state is WorkItemState.PENDING_ACCEPT
        assert items[second].state is WorkItemState.QUEUED
        offer_id = items[first].offer_id
        assert offer_id is not None
        await engine.execute(AcceptOffer(offer_id, "solo"))
        await engine.execute(EndInteraction(first_doc, "solo", "resolved", None))
        assert items[second].state is WorkItemState.PENDING_ACCEPT
        assert items[second].agent_id == "solo"
    finally:
        await engine.stop()


async def test_offer_timeouts_that_fell_due_while_down_fire_on_start(
    configured: Database,
) -> None:
    """Offers whose timeout passed while stopped time out on start and are re-offered."""
    await add_agent(configured, "ann", skills={"english": 1})
    await add_agent(configured, "bob", skills={"english": 1})
    clock = ManualClock(NOW)
    engine = Engine(configured, clock)
    await engine.start()
    _, item_id = await create(engine, chat_in("sales"))
    first = engine.state.work_items[item_id]
    assert first.agent_id == "ann"
    first_offer = first.offer_id
    await engine.stop()
    clock.advance(31)
    engine = Engine(configured, clock)
    await engine.start()
    try:
        item = engine.state.work_items[item_id]
        assert item.timed_out
        assert item.offer_count == 2
        assert item.agent_id == "bob"
        assert item.excluded_agents == {"ann"}
        assert engine.state.agents["ann"].presence_id == "away"
        assert engine.state.agents["ann"].load == {"chat": 0}
        async with configured.session() as s:
            row = await s.get(t.OfferRow, first_offer)
            assert row is not None
            assert row.state == "timed_out"
    finally:
        await engine.stop()


async def test_max_wait_holds_for_an_item_returned_after_its_wait(db: Database) -> None:
    """An item back in its queue after its max wait is cancelled, with or without a restart."""
    await seed_catalog(db)
    await add_rule(db, "slow", offer_timeout_s=30)
    await add_queue(db, "brief", ["chat"], "slow", max_wait_s=20)
    await add_agent(db, "ann")
    clock = ManualClock(NOW)
    engine = Engine(db, clock)
    await engine.start()
    _, item_id = await create(engine, chat_in("brief"))
    assert engine.state.work_items[item_id].agent_id == "ann"
    clock.advance(31)  # the offer times out at 30 s; the item, 31 s old, returns queued
    await engine.tick()
    live = engine.state.work_items.get(item_id)
    engine = await restarted(engine)
    try:
        after = engine.state.work_items.get(item_id)
        assert (live is None) == (after is None), "a restart changed the item's fate"
        assert live is None, "the item waits past its queue's max wait"
    finally:
        await engine.stop()


async def test_repeated_accept_after_restart_says_already_accepted(
    configured: Database,
) -> None:
    """Accepting an accepted offer again is WORK_ITEM_ALREADY_ACCEPTED, restart or not."""
    await add_agent(configured, "ann")
    engine = Engine(configured, ManualClock(NOW))
    await engine.start()
    _, item_id = await create(engine, chat_in("general"))
    offer_id = engine.state.work_items[item_id].offer_id
    assert offer_id is not None
    await engine.execute(AcceptOffer(offer_id, "ann"))
    with pytest.raises(DomainError) as before:
        await engine.execute(AcceptOffer(offer_id, "ann"))
    assert before.value.code is ErrorCode.WORK_ITEM_ALREADY_ACCEPTED
    engine = await restarted(engine)
    try:
        with pytest.raises(DomainError) as after:
            await engine.execute(AcceptOffer(offer_id, "ann"))
        assert after.value.code is ErrorCode.WORK_ITEM_ALREADY_ACCEPTED
    finally:
        await engine.stop()


async def refusal(engine: Engine, command: Message[Any]) -> ErrorCode | None:
    """The code a command is refused with, or None when it succeeds."""
    try:
        await engine.execute(command)
    except DomainError as err:
        return err.code
    return None


async def accept_current(engine: Engine, item_id: str) -> str:
    """Accept the pending offer of an item; the accepting agent's id."""
    item = engine.state.work_items[item_id]
    offer_id, agent_id = item.offer_id, item.agent_id
    assert offer_id is not None
    assert agent_id is not None
    await engine.execute(AcceptOffer(offer_id, agent_id))
    return agent_id


async def consulted(db: Database, clock: ManualClock) -> tuple[Engine, str, str, str]:
    """Ann works a chat and consults Bob, who accepts: engine, document, sender and target items."""
    await seed_config(db)
    for name in ("ann", "bob", "carl"):
        await add_agent(db, name)
    engine = Engine(db, clock)
    await engine.start()
    doc_id, sender_id = await create(engine, chat_in("general"))
    assert await accept_current(engine, sender_id) == "ann"
    request = transfers.TransferRequest(doc_id, "ann", "bob", None, TransferType.CONSULT)
    target = await start_transfer(engine, request)
    assert await accept_current(engine, target.id) == "bob"
    return engine, doc_id, sender_id, target.id


async def test_consult_sender_is_released_when_work_moves_on(db: Database) -> None:
    """Work under an open consult cannot move; closing it releases sender and target."""
    engine, doc_id, sender_id, _ = await consulted(db, ManualClock(NOW))
    try:
        route = RouteRequest("general")
        with pytest.raises(DomainError) as refused:
            await engine.execute(RouteDocument(doc_id, route))
        assert refused.value.code is ErrorCode.TRANSFER_PENDING
        await engine.execute(EndInteraction(doc_id, None, "resolved", None))
        assert doc_id not in engine.state.documents
        async with db.session() as s:
            live = (
                await s.scalars(
                    select(t.WorkItemRow.id).where(
                        t.WorkItemRow.document_id == doc_id,
                        t.WorkItemRow.state.in_(list(LIVE_WORK_ITEM_STATES)),
                    )
                )
            ).all()
        assert sender_id not in live, "the consult sender's item outlived its document"
        assert engine.state.agents["ann"].total_load == 0
    finally:
        await engine.stop()


async def test_restart_keeps_the_consult_target_current(db: Database) -> None:
    """A restart keeps the consult target as the document's accepted item."""
    engine, doc_id, _, target_id = await consulted(db, ManualClock(NOW))
    assert engine.state.documents[doc_id].accepted_item_id == target_id
    engine = await restarted(engine)
    try:
        assert engine.state.documents[doc_id].accepted_item_id == target_id
    finally:
        await engine.stop()


async def test_cancel_transfer_needs_a_transfer(configured: Database) -> None:
    """Cancelling a transfer of work nobody accepted is refused and keeps the item queued."""
    engine = Engine(configured, ManualClock(NOW))
    await engine.start()
    try:
        doc_id, item_id = await create(engine, chat_in("general"))
        code = await refusal(engine, CancelTransfer(doc_id, None))
        assert item_id in engine.state.work_items, "the queued item was cancelled"
        assert code is ErrorCode.NO_PENDING_TRANSFER
    finally:
        await engine.stop()


async def test_restart_keeps_document_summaries(configured: Database) -> None:
    """A document's summary (customer fields; wrap-up code and notes) survives a restart."""
    await add_agent(configured, "ann")
    engine = Engine(configured, ManualClock(NOW))
    await engine.start()
    new_case = NewDocument(
        DocumentType.CASE, "case", {"subject": "refund", "customer_name": "Zoe"}, None
    )
    await engine.execute(create_command(new_case))
    doc_id, item_id = await create(engine, chat_in("general"))
    await accept_current(engine, item_id)
    await engine.execute(EndInteraction(doc_id, "ann", "follow-up", "call back"))
    before = {d.id: dict(d.summary) for d in engine.state.documents.values()}
    engine = await restarted(engine)
    try:
        after = {d.id: dict(d.summary) for d in engine.state.documents.values()}
        assert after == before
    finally:
        await engine.stop()
