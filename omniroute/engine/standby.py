"""A hot standby's copy of the engine state, kept current by following the change log.

A standby loads the whole state once, in one snapshot that also notes the newest change, then
applies each later change (`engine/changes.py`) by re-reading the rows it names with the
loader's own queries. Taking over catches up from the last applied change instead of loading
everything. On any doubt (a gap in the log, an epoch going back, a change it does not know, a
failure while applying) it drops the copy and loads the whole state again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.state import EngineState
from omniroute.core.timers import TimerKind
from omniroute.domain.model import (
    CAPACITY_HOLDING_STATES,
    Agent,
    Document,
    Offer,
    OfferState,
    RoutingMode,
    WorkItem,
)
from omniroute.engine.changes import Change, UnknownChange, last_change, read_changes
from omniroute.engine.loader import (
    armed_timers,
    index_item,
    load_agents,
    load_counters,
    load_documents,
    load_ended_offers,
    load_items,
    load_last_agents,
    load_offers,
    load_state,
    mark_accepted,
    paced,
    place_item,
    place_offer,
    read_snapshot,
    reload_config,
)
from omniroute.store.db import Database

log = logging.getLogger(__name__)
PAGE = 500
# A page of changes also ends after the change that brings the ids it names past this: a
# leader working off a backlog writes a thousand items a commit, and a takeover waits for the
# page in hand before its own catch-up.
PAGE_IDS = 5000
# A catch-up taking this long is logged (INFO).
SLOW_S = 1.0


class Doubt(Exception):  # noqa: N818 - a finding, not a failure
    """The copy cannot be trusted to equal the store: load the whole state again."""


@dataclass
class _Progress:
    """What one catch-up applied."""

    changes: int = 0
    items: int = 0
    pages: int = 0


@dataclass
class _Read:
    """Everything one page of changes needs from the store, read before anything changes."""

    changes: list[Change]
    # Whether changes after this page were left for the next one.
    more: bool = False
    documents: list[Document] = field(default_factory=list)
    items: list[WorkItem] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    ended: list[tuple[str, str, OfferState]] = field(default_factory=list)
    agents: dict[str, Agent] = field(default_factory=dict)
    last_agents: dict[str, str] = field(default_factory=dict)


class Standby:
    """The engine state a standby keeps warm, with the last change applied to it."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.state: EngineState | None = None
        self.seq = 0
        self.epoch = 0
        self.full_loads = 0
        self.applied = 0
        # Set from the takeover until the engine stops: the state belongs to the engine.
        self.leading = False
        # A takeover is waiting: a catch-up in hand stops after its page.
        self._taking = False
        # The last catch-up found at most one page of changes.
        self._level = False
        self._lock = asyncio.Lock()

    @property
    def warm(self) -> bool:
        """Whether a copy is loaded and caught up: its last catch-up took at most one page.

        A standby that just loaded, or falls behind a leader working off a backlog, has a copy
        but would spend seconds catching up at a takeover: it is not warm until it is level.
        """
        return self.state is not None and self._level

    async def follow(self) -> None:
        """Apply every change committed since the last one; load everything on doubt."""
        async with self._lock:
            if self.leading:
                return
            if self.state is not None:
                try:
                    started = time.perf_counter()
                    done = await self._catch_up(yielding=True)
                    self._level = done.pages <= 1
                    took = time.perf_counter() - started
                    if took >= SLOW_S:
                        log.info(
                            "standby applied %d changes (%d work items) in %.1f s",
                            done.changes,
                            done.items,
                            took,
                        )
                except (Doubt, UnknownChange) as err:
                    log.warning("standby state in doubt (%s); loading it again", err)
                    self.state = None
            if self.state is None:
                await self._load()

    async def take(self) -> EngineState | None:
        """Catch up and hand the state to the engine that now leads (None: load it whole)."""
        self._taking = True
        async with self._lock:
            self.leading = True
            if self.state is None:
                return None
            try:
                started = time.perf_counter()
                done = await self._catch_up()
                log.info(
                    "takeover: caught up %d changes (%d work items) in %.2f s",
                    done.changes,
                    done.items,
                    time.perf_counter() - started,
                )
                state = self.state
            except Exception as err:  # noqa: BLE001 - any doubt means a full load
                log.warning("standby state in doubt at takeover (%s)", err)
                state = None
            self.state = None
            return state

    def resume(self) -> None:
        """Stand by again after leading: the engine's state may hold what was never committed,
        so the copy is loaded afresh."""
        self.leading = False
        self._taking = False
        self.state = None

    async def _load(self) -> None:
        self._level = False  # changes committed while it loads are still to come
        started = time.perf_counter()
        async with read_snapshot(self._db) as session:
            seq, epoch = await last_change(session)
            state = await load_state(session)
        self.state, self.seq, self.epoch = state, seq, epoch
        self.full_loads += 1
        log.info(
            "standby loaded the whole state (%d work items) in %.1f s",
            len(state.work_items),
            time.perf_counter() - started,
        )

    async def _catch_up(self, *, yielding: bool = False) -> _Progress:
        """Apply every change after the last one applied.

        `yielding`: stop between pages once a takeover waits (it catches up the rest itself).
        """
        done = _Progress()
        while not (yielding and self._taking):
            # One snapshot: the change log and the rows it names are read as of one instant.
            async with read_snapshot(self._db) as session:
                read = await self._read(session)
                state = self.state
                assert state is not None
                if read.changes:
                    self.state = None  # a failure half-way leaves no copy to trust
                    await _apply(state, read)
                    state.timers.compact()
                    self.state = state
                    self.seq, self.epoch = read.changes[-1].seq, read.changes[-1].epoch
                    self.applied += len(read.changes)
                    done.changes += len(read.changes)
                    done.items += len(read.items)
                # Feed events and chat messages move the counters without a change.
                await load_counters(session, state)
            done.pages += 1
            if not read.more:
                break
        return done

    async def _read(self, session: AsyncSession) -> _Read:
        changes = await read_changes(session, self.seq, PAGE)
        more = len(changes) == PAGE
        named = 0
        for n, change in enumerate(changes, 1):
            named += len(change.documents) + len(change.items) + len(change.offers)
            if named >= PAGE_IDS and n < len(changes):
                changes, more = changes[:n], True
                break
        expected, epoch = self.seq + 1, self.epoch
        for change in changes:
            if change.seq != expected:
                msg = f"change {expected} is missing (found {change.seq})"
                raise Doubt(msg)
            if change.epoch < epoch:
                msg = f"change {change.seq} comes from epoch {change.epoch} after {epoch}"
                raise Doubt(msg)
            expected, epoch = expected + 1, change.epoch
        read = _Read(changes, more)
        if not changes:
            newest, _ = await last_change(session)
            if newest < self.seq:
                msg = f"the change log ends at {newest}, before change {self.seq} applied here"
                raise Doubt(msg)
            return read
        if any(change.config for change in changes):
            assert self.state is not None
            # Configuration is small: re-read it whole, as the leader did.
            await reload_config(session, self.state)
        docs = {d for change in changes for d in change.documents}
        items = {i for change in changes for i in change.items}
        offers = {o for change in changes for o in change.offers}
        agents = {a for change in changes for a in change.agents}
        if docs:
            read.documents = await load_documents(session, docs)
            customers = {d.customer_id for d in read.documents if d.customer_id is not None}
            if customers:
                read.last_agents = await load_last_agents(session, customers)
        if items:
            read.items = await load_items(session, items)
        if offers:
            read.offers = await load_offers(session, offers)
            read.ended = await load_ended_offers(session, offers)
        if agents:
            read.agents = await load_agents(session, agents)
        return read


async def _apply(state: EngineState, read: _Read) -> None:
    """Replace what the changes name by what the store holds, keeping the indexes true."""
    changes = read.changes
    touched_docs = {d for change in changes for d in change.documents}
    touched_items = {i for change in changes for i in change.items}
    touched_offers = {o for change in changes for o in change.offers}
    touched_agents = {a for change in changes for a in change.agents}
    for doc_id in touched_docs:
        gone = state.documents.pop(doc_id, None)
        if gone is not None and gone.wrap_up_due_at is not None:
            state.timers.discard(gone.wrap_up_due_at, TimerKind.WRAP_UP_DUE, gone.id)
    for doc in read.documents:
        state.documents[doc.id] = doc
        if doc.wrap_up_due_at is not None:
            state.timers.add(doc.wrap_up_due_at, TimerKind.WRAP_UP_DUE, doc.id)
    for offer_id in touched_offers:
        ended = state.offers.pop(offer_id, None)
        if ended is not None and ended.expires_at is not None:
            state.timers.discard(ended.expires_at, TimerKind.OFFER_TIMEOUT, ended.id)
    # Loads move with the items that hold capacity: count what leaves and what comes.
    held: Counter[tuple[str, str]] = Counter()
    stale: dict[str, list[tuple[datetime, TimerKind, str]]] = {}
    affected = set(touched_docs)
    async for item_id in paced(touched_items):
        old = state.work_items.get(item_id)
        if old is None:
            continue
        state.index.dequeue(item_id)
        # The timers this version armed: those the new version does not arm are disarmed.
        stale[item_id] = armed_timers(state, old)
        state.drop_item(old)
        affected.add(old.document_id)
        if old.agent_id is not None and old.state in CAPACITY_HOLDING_STATES:
            held[(old.agent_id, old.channel_id)] -= 1
    async for item in paced(read.items):
        place_item(state, item)
        affected.add(item.document_id)
        if item.agent_id is not None and item.state in CAPACITY_HOLDING_STATES:
            held[(item.agent_id, item.channel_id)] += 1
    for offer in read.offers:
        place_offer(state, offer)
    pending = {offer.work_item_id: offer.id for offer in state.offers.values()}
    async for item in paced(read.items):
        item.offer_id = pending.get(item.id)
        index_item(state, item)
        # Re-arming what is armed changes nothing (the heap keeps one of each timer).
        fresh = armed_timers(state, item)
        for due, kind, target in fresh:
            state.timers.add(due, kind, target)
        for entry in stale.pop(item.id, ()):
            if entry not in fresh:  # a few entries an item: a list is quicker than sets
                state.timers.discard(*entry)
    for entries in stale.values():  # items no longer live
        for entry in entries:
            state.timers.discard(*entry)
    for offer_id, agent_id, outcome in read.ended:
        state.ended_offers[offer_id] = (agent_id, outcome)
    async for doc_id in paced(affected):
        holder = state.documents.get(doc_id)
        if holder is not None:
            _settle_document(state, holder)
    _apply_agents(state, read.agents, touched_agents, held)
    state.last_agents.update(read.last_agents)
    for change in changes:
        for key, request_hash, result_id in change.keys:
            state.idempotency[key] = (request_hash, result_id)
        state.inbound_seen.update(change.inbound)
        for spoke, provider_agent_id, agent_id in change.identities:
            state.link_identity(spoke, provider_agent_id, agent_id)


def _settle_document(state: EngineState, doc: Document) -> None:
    """A document's worked item and provider, from its live items (as a load finds them)."""
    mark_accepted(state, doc)
    for item in state.live_items(doc.id):
        queue = state.config.queues.get(item.queue_id)
        if queue is not None and queue.routing_mode is RoutingMode.EXTERNAL:
            doc.spoke = queue.spoke


def _apply_agents(
    state: EngineState,
    loaded: dict[str, Agent],
    touched: set[str],
    held: Counter[tuple[str, str]],
) -> None:
    """Swap in re-read agents (keeping their load), move loads, and re-index who changed."""
    for agent_id in touched - set(loaded):
        state.index.remove_agent(agent_id)
    for agent_id, agent in loaded.items():
        old = state.agents.get(agent_id)
        agent.load = dict(old.load) if old is not None else {}
    changed = set(loaded)
    for (agent_id, channel_id), delta in held.items():
        holder = loaded.get(agent_id) or state.agents.get(agent_id)
        if holder is None or not delta:
            continue
        count = holder.load.get(channel_id, 0) + delta
        if count:
            holder.load[channel_id] = count
        else:
            holder.load.pop(channel_id, None)
        changed.add(agent_id)
    for agent_id in changed:
        current = loaded.get(agent_id) or state.agents.get(agent_id)
        if current is not None:
            state.index.refresh_agent(current)
