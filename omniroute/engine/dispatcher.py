"""The outbox dispatcher: stored routing events to their spokes, in order per key, retried."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, Table, bindparam, exists, func, select, update
from sqlalchemy.orm import aliased

from omniroute.core.committed import Committed
from omniroute.domain.errors import DomainError
from omniroute.domain.outbound import OutboxState, RoutingEventType
from omniroute.engine.claims import OutboxClaims
from omniroute.engine.clock import Clock, SystemClock
from omniroute.engine.engine import Engine
from omniroute.spokes.base import (
    AnySpoke,
    RoutingEvent,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.waits import wait_event

log = logging.getLogger(__name__)

# About 24 h of retries at the capped backoff's mean delay of 30 s.
DEFAULT_MAX_ATTEMPTS = 2880
MAX_RETRY_AFTER_S = 3600.0
MAX_ERROR_CHARS = 2000
UNDELIVERED = (OutboxState.PENDING.value, OutboxState.DEAD.value)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * factor^(n-1))]."""

    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 60.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay after the given failed attempt (1 = the first)."""
        # The exponent is bounded so that thousands of attempts cannot overflow a float.
        exponent = min(max(attempt - 1, 0), 64)
        return min(self.cap_s, self.base_s * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """Seconds to wait after a failed attempt, at least what the provider asked for."""
        wait = rng.uniform(0.0, self.ceiling(attempt))
        if retry_after_s is not None and retry_after_s > 0:
            wait = max(wait, min(retry_after_s, MAX_RETRY_AFTER_S))
        return wait

    def capped(self, rng: random.Random) -> float:
        """A delay near the cap, for failures that need an operator (expired credentials)."""
        return rng.uniform(self.cap_s / 2, self.cap_s)


class SpokeSource(Protocol):
    """Where the dispatcher finds a spoke by its configured name."""

    async def ready(self, name: str) -> AnySpoke:
        """The loaded spoke; raise a DomainError if it is unknown or unavailable."""
        ...


@dataclass(frozen=True, slots=True)
class _Due:
    seq: int
    id: str
    spoke: str
    ordering_key: str
    type: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class _Outcome:
    state: OutboxState
    error: str | None = None
    delay_s: float = 0.0
    auth_failed: bool = False


@dataclass(frozen=True, slots=True)
class _Done:
    due: _Due
    attempt: int
    outcome: _Outcome


def _error_text(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    return text[:MAX_ERROR_CHARS]


def due_heads_query(
    now: datetime, exclude_keys: set[str], limit: int, node_id: str | None = None
) -> Select[Any]:
    """Due pending events with no older undelivered (pending or dead) event of their key.

    With a `node_id`, keys another node holds a live claim on are left out too.
    """
    ev = t.OutboxEventRow
    earlier = aliased(t.OutboxEventRow)
    blocked = exists().where(
        earlier.ordering_key == ev.ordering_key,
        earlier.seq < ev.seq,
        earlier.state.in_(UNDELIVERED),
    )
    query = select(ev).where(
        ev.state == OutboxState.PENDING.value, ev.next_attempt_at <= now, ~blocked
    )
    if exclude_keys:
        query = query.where(ev.ordering_key.not_in(exclude_keys))
    if node_id is not None:
        claim = t.OutboxClaimRow
        query = query.where(
            ~exists().where(
                claim.ordering_key == ev.ordering_key,
                claim.node_id != node_id,
                claim.expires_at > func.now(),
            )
        )
    return query.order_by(ev.next_attempt_at, ev.seq).limit(limit)


class Dispatcher:
    """A background task that delivers pending outbox events through their spokes."""

    def __init__(
        self,
        db: Database,
        spokes: SpokeSource,
        clock: Clock | None = None,
        *,
        concurrency: int = 16,
        backoff: Backoff | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        rng: random.Random | None = None,
        idle_poll_s: float | None = 30.0,
        stop_grace_s: float = 5.0,
        error_pause_s: float = 1.0,
        claims: OutboxClaims | None = None,
    ) -> None:
        self.db = db
        self.spokes = spokes
        self.clock: Clock = clock or SystemClock()
        self.concurrency = concurrency
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()
        self.idle_poll_s = idle_poll_s
        self.stop_grace_s = stop_grace_s
        self.error_pause_s = error_pause_s
        # In a cluster every node delivers, each key claimed by one node at a time.
        self.claims = claims
        self.delivered = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # A key stays busy from the start of its delivery until the outcome is stored.
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._done: list[_Done] = []
        self._auth_failed: set[str] = set()
        self._engine: Engine | None = None

    @property
    def running(self) -> bool:
        """Whether the dispatch loop is alive."""
        return self._task is not None and not self._task.done()

    def attach(self, engine: Engine) -> None:
        """Wake up whenever the engine commits new outbox events."""
        self._engine = engine
        engine.commit_listeners.append(self.on_commit)

    def on_commit(self, batch: Committed) -> None:
        """Engine commit listener."""
        if batch.outbox_events:
            self.wake()

    def wake(self) -> None:
        """Look at the outbox again now (new events, a retry, a spoke came back)."""
        self._idle.clear()
        self._wake.set()

    async def idle(self) -> None:
        """Return once nothing is in flight and no eligible event is due."""
        await self._idle.wait()

    async def start(self) -> None:
        """Start delivering; pending events stored by earlier processes are picked up."""
        if self.running:
            return
        self._stopping = False
        self.wake()
        self._task = asyncio.create_task(self._run(), name="omniroute-dispatcher")

    async def stop(self) -> None:
        """Stop; deliveries still running after the grace period are cancelled, to be redone."""
        if self._engine is not None:
            with contextlib.suppress(ValueError):
                self._engine.commit_listeners.remove(self.on_commit)
            self._engine = None
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        tasks = [task for task in self._busy.values() if not task.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.stop_grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self._flush()
        except Exception:
            log.exception("outbox dispatcher could not store its last outcomes")
        self._busy.clear()
        self._done.clear()

    # -- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._flush()
                timeout = await self._dispatch()
            except Exception:
                log.exception("outbox dispatcher could not use the store; retrying")
                timeout = self.error_pause_s
            if not self._busy and not self._wake.is_set():
                self._idle.set()
            await wait_event(self._wake, timeout)

    async def _dispatch(self) -> float | None:
        """Start deliveries for due heads; the seconds until the next retry falls due."""
        now = self.clock.now()
        free = self.concurrency - len(self._busy)
        if self.claims is not None:
            await self.claims.renew(self._busy)
        async with self.db.session() as session:
            if free > 0:
                node = self.claims.node_id if self.claims is not None else None
                rows = await session.scalars(due_heads_query(now, set(self._busy), free, node))
                for row in await self._claimed(rows.all()):
                    self._start(
                        _Due(
                            row.seq,
                            row.id,
                            row.spoke,
                            row.ordering_key,
                            row.type,
                            dict(row.payload),
                            row.attempts,
                            row.created_at,
                        )
                    )
            ev = t.OutboxEventRow
            next_due = await session.scalar(
                select(func.min(ev.next_attempt_at)).where(
                    ev.state == OutboxState.PENDING.value, ev.next_attempt_at > now
                )
            )
        timeout = None if next_due is None else max((next_due - now).total_seconds(), 0.0)
        if self.idle_poll_s is not None:
            # Another process (the CLI) may retry events; look again now and then.
            timeout = self.idle_poll_s if timeout is None else min(timeout, self.idle_poll_s)
        return timeout

    async def _claimed(self, rows: Sequence[t.OutboxEventRow]) -> list[t.OutboxEventRow]:
        """The rows whose keys this node now holds, still pending (another node may have won)."""
        if self.claims is None or not rows:
            return list(rows)
        mine: list[t.OutboxEventRow] = []
        async with self.db.session() as session, session.begin():
            for row in rows:
                if await self.claims.claim(session, row.ordering_key):
                    mine.append(row)
        if len(mine) < len(rows):
            # Another node claimed some keys meanwhile; the next pass leaves those out.
            self.wake()
        if not mine:
            return mine
        ev = t.OutboxEventRow
        # Re-read after claiming: the head may have been delivered by the key's last holder.
        async with self.db.session() as session:
            still = set(
                await session.scalars(
                    select(ev.seq).where(
                        ev.seq.in_([r.seq for r in mine]),
                        ev.state == OutboxState.PENDING.value,
                        ev.next_attempt_at <= self.clock.now(),
                    )
                )
            )
        lost = [r.ordering_key for r in mine if r.seq not in still]
        if lost:
            async with self.db.session() as session, session.begin():
                await self.claims.release(session, lost)
        return [r for r in mine if r.seq in still]

    def _start(self, due: _Due) -> None:
        task = asyncio.create_task(self._deliver(due), name=f"omniroute-deliver-{due.seq}")
        self._busy[due.ordering_key] = task
        task.add_done_callback(lambda _task: self.wake())

    # -- one attempt ------------------------------------------------------------------

    async def _deliver(self, due: _Due) -> None:
        attempt = due.attempts + 1
        try:
            outcome = await self._attempt(due, attempt)
        except asyncio.CancelledError:
            self._busy.pop(due.ordering_key, None)
            raise
        self._done.append(_Done(due, attempt, outcome))

    async def _attempt(self, due: _Due, attempt: int) -> _Outcome:
        try:
            event_type = RoutingEventType(due.type)
        except ValueError:
            return _Outcome(OutboxState.DEAD, f"unknown routing event type '{due.type}'")
        event = RoutingEvent(
            id=due.id,
            type=event_type,
            spoke=due.spoke,
            ordering_key=due.ordering_key,
            created_at=due.created_at,
            attempt=attempt,
            payload=due.payload,
        )
        try:
            spoke = await self.spokes.ready(due.spoke)
            await spoke.deliver(event)
        except SpokeRejectedError as err:
            return _Outcome(OutboxState.DEAD, _error_text(err))
        except SpokeAuthError as err:
            return self._retry(attempt, _error_text(err), self.backoff.capped(self.rng), auth=True)
        except SpokeUnavailableError as err:
            delay = self.backoff.delay(attempt, self.rng, err.retry_after_s)
            return self._retry(attempt, _error_text(err), delay)
        except Exception as err:
            if not isinstance(err, DomainError):
                log.warning("outbox event %s to '%s' failed", due.seq, due.spoke, exc_info=True)
            return self._retry(attempt, _error_text(err), self.backoff.delay(attempt, self.rng))
        return _Outcome(OutboxState.DELIVERED)

    def _retry(self, attempt: int, error: str, delay_s: float, *, auth: bool = False) -> _Outcome:
        if attempt >= self.max_attempts:
            return _Outcome(OutboxState.DEAD, f"gave up after {attempt} attempts: {error}")
        return _Outcome(OutboxState.PENDING, error, delay_s, auth)

    # -- storing outcomes -------------------------------------------------------------

    async def _flush(self) -> None:
        """Store every finished attempt in one transaction, then free their keys."""
        if not self._done:
            return
        done = list(self._done)
        now = self.clock.now()
        delivered: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        incidents: list[t.SpokeIncidentRow] = []
        auth_noted = set(self._auth_failed)
        for d in done:
            if d.outcome.state is OutboxState.DELIVERED:
                delivered.append({"b_seq": d.due.seq, "b_attempts": d.attempt, "b_at": now})
                continue
            due_at = now + timedelta(seconds=d.outcome.delay_s)
            failed.append(
                {
                    "b_seq": d.due.seq,
                    "b_attempts": d.attempt,
                    "b_state": d.outcome.state.value,
                    "b_error": d.outcome.error,
                    "b_due": due_at,
                }
            )
            if d.outcome.state is OutboxState.DEAD:
                incidents.append(_dead_incident(d, now))
            elif d.outcome.auth_failed and d.due.spoke not in auth_noted:
                auth_noted.add(d.due.spoke)
                incidents.append(_auth_incident(d, now))
        table = t.OutboxEventRow.__table__
        assert isinstance(table, Table)
        # Only a still-pending row changes: an operator may have discarded it meanwhile.
        still_pending = (table.c.seq == bindparam("b_seq")) & (
            table.c.state == OutboxState.PENDING.value
        )
        async with self.db.session() as session, session.begin():
            if delivered:
                await session.execute(
                    update(table)
                    .where(still_pending)
                    .values(
                        state=OutboxState.DELIVERED.value,
                        attempts=bindparam("b_attempts"),
                        delivered_at=bindparam("b_at"),
                    ),
                    delivered,
                )
            if failed:
                await session.execute(
                    update(table)
                    .where(still_pending)
                    .values(
                        state=bindparam("b_state"),
                        attempts=bindparam("b_attempts"),
                        last_error=bindparam("b_error"),
                        next_attempt_at=bindparam("b_due"),
                    ),
                    failed,
                )
            session.add_all(incidents)
            if self.claims is not None:
                await self.claims.release(session, {d.due.ordering_key for d in done})
        del self._done[: len(done)]
        for d in done:
            self._busy.pop(d.due.ordering_key, None)
            if d.outcome.auth_failed:
                self._auth_failed.add(d.due.spoke)
            elif d.outcome.state is OutboxState.DELIVERED:
                self._auth_failed.discard(d.due.spoke)
                self.delivered += 1


def _auth_incident(done: _Done, now: datetime) -> t.SpokeIncidentRow:
    return t.SpokeIncidentRow(
        id=uuid.uuid4().hex,
        spoke=done.due.spoke,
        kind="auth_failed",
        message=f"the provider refused our credentials: {done.outcome.error}; "
        "renew them in the spoke's settings",
        details={"seq": done.due.seq, "event_id": done.due.id},
        created_at=now,
    )


def _dead_incident(done: _Done, now: datetime) -> t.SpokeIncidentRow:
    due = done.due
    return t.SpokeIncidentRow(
        id=uuid.uuid4().hex,
        spoke=due.spoke,
        kind="event_dead",
        message=f"outbox event {due.seq} ({due.type}) is dead: {done.outcome.error}; later "
        f"events of '{due.ordering_key}' wait until it is retried or discarded",
        details={"seq": due.seq, "event_id": due.id, "ordering_key": due.ordering_key},
        created_at=now,
    )
