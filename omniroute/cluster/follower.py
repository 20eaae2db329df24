"""Follows the committed feed events in the store and pushes them to this node's sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from omniroute.cluster.tasks import cancel
from omniroute.engine.bus import EventBus, FeedFrame
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.waits import wait_event

log = logging.getLogger(__name__)
# The leader sends this notification in every commit that wrote events (a doorbell only).
CHANNEL = "omniroute_commit"
# What a doorbell's payload may name: feed events or rows, outbox events, moved routing state.
EVENTS, OUTBOX, ROUTING = "events", "outbox", "routing"


def doorbell(*, events: bool, outbox: bool, routing: bool) -> str | None:
    """The payload of a commit's doorbell, or None when the commit needs no ring."""
    said = [word for word, yes in ((EVENTS, events), (OUTBOX, outbox), (ROUTING, routing)) if yes]
    return ",".join(said) or None


PAGE = 2_000
# Without a doorbell (a lost LISTEN connection) the follower still looks this often.
POLL_S = 1.0


def asyncpg_dsn(url: str) -> str:
    """The plain `postgresql://` DSN asyncpg takes, from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class FeedFollower:
    """Reads new `agent_events` by sequence after each doorbell and publishes them in order."""

    def __init__(self, db: Database, engine: Engine) -> None:
        self._db = db
        self._engine = engine
        self._bus: EventBus = engine.bus
        self._bell = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # Whether the LISTEN connection stopped listening because this node leads.
        self._muted = False
        self.ring_listeners: list[Callable[[], None]] = []
        # Called when a commit changed routing state (items, offers, agents, documents).
        self.routing_listeners: list[Callable[[], None]] = []
        # Called when a commit wrote outbox events.
        self.outbox_listeners: list[Callable[[], None]] = []
        # A node that stops leading listens again at once.
        engine.stop_listeners.append(self._bell.set)

    async def start(self) -> None:
        """Start from the newest committed event (older ones are replayed from the store)."""
        async with self._db.session() as session:
            newest = await session.scalar(select(func.max(t.AgentEventRow.seq)))
        self._bus.last_seq = max(self._bus.last_seq, newest or 0)
        self._task = asyncio.create_task(self._run(), name="omniroute-feed-follower")

    async def stop(self) -> None:
        """Stop following."""
        task, self._task = self._task, None
        await cancel(task)

    async def catch_up(self) -> None:
        """Publish every committed event not yet published (before this node starts leading)."""
        async with self._lock:
            while await self._read_page() == PAGE:
                pass

    async def _read_page(self) -> int:
        ev = t.AgentEventRow
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(ev.seq, ev.agent_id, ev.type, ev.payload, ev.created_at)
                    .where(ev.seq > self._bus.last_seq)
                    .order_by(ev.seq)
                    .limit(PAGE)
                )
            ).all()
        frames = [
            FeedFrame(
                seq,
                agent_id,
                {"seq": seq, "type": kind, "at": created.isoformat(), "data": payload},
            )
            for seq, agent_id, kind, payload, created in rows
        ]
        self._bus.publish_frames(frames)
        return len(frames)

    def _ring(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._heard(set(payload.split(",")))

    def _heard(self, said: set[str]) -> None:
        self._bell.set()
        for listener in self.ring_listeners:
            listener()
        if ROUTING in said:
            for listener in self.routing_listeners:
                listener()
        if OUTBOX in said:
            for listener in self.outbox_listeners:
                listener()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn: asyncpg.Connection = await asyncpg.connect(asyncpg_dsn(self._db.url), timeout=5)
            await conn.add_listener(CHANNEL, self._ring)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            log.warning("cannot LISTEN for commits; following by polling")
            return None
        return conn

    async def _tune(self, conn: asyncpg.Connection | None) -> asyncpg.Connection | None:
        """LISTEN only while this node does not lead: a leader's own doorbell tells it nothing.

        Its engine publishes its commits and calls its commit listeners directly; parsing and
        dispatching its own notification after each commit was CPU of the busiest node.
        """
        try:
            if self._engine.running:
                if conn is not None and not conn.is_closed() and not self._muted:
                    await conn.remove_listener(CHANNEL, self._ring)
                    self._muted = True
                return conn
            if conn is None or conn.is_closed():
                self._muted = False
                return await self._listen()
            if self._muted:
                await conn.add_listener(CHANNEL, self._ring)
                self._muted = False
                # Rings missed while leading (a new leader's, after a takeover): look at once.
                self._heard({EVENTS, OUTBOX, ROUTING})
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("cannot switch LISTEN for commits; connecting again")
            if conn is not None:
                conn.terminate()
            return None
        return conn

    async def _run(self) -> None:
        conn = await self._listen()
        try:
            while True:
                await wait_event(self._bell, POLL_S)
                self._bell.clear()
                conn = await self._tune(conn)
                if self._engine.running:
                    # The leader's engine publishes its own commits: reading them back is waste.
                    continue
                try:
                    await self.catch_up()
                except Exception:
                    log.exception("reading committed feed events failed; retrying")
        finally:
            if conn is not None and not conn.is_closed():
                await conn.close()
