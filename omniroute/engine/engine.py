"""The routing engine: a single writer that applies commands in batches (group commit).

Commands run one after another against the in-memory state; the routing pass follows; the
batch's changes and feed events are written in one transaction; only after the commit do
callers get their results and subscribers their events. Timers fire inside the same loop, at
most `timer_batch` per batch (earliest first), so a backlog of due timers (a start after a long
stop) is worked off in many small commits between the commands, never one huge one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from omniroute.core import door
from omniroute.core.committed import Committed, committed
from omniroute.core.door import Message
from omniroute.core.guard import IsolationError, check, snapshot
from omniroute.core.state import EngineState, Tx
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine import codec
from omniroute.engine.bus import EventBus
from omniroute.engine.clock import Clock, SystemClock
from omniroute.engine.fence import CommitFence, Deposed, Forwarder
from omniroute.engine.flush import sqlite_statements, write_tx
from omniroute.engine.lease import EngineLease
from omniroute.engine.loader import load_state, read_snapshot, reload_config
from omniroute.engine.request_keys import next_command_key
from omniroute.engine.sqlite_writer import SqliteWriter
from omniroute.engine.standby import Standby
from omniroute.store import tables as t
from omniroute.store.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")


def _new_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


@dataclass
class _Command(Generic[T]):
    # None is the engine's own no-op (a tick that only fires due timers).
    message: Message[T] | None
    future: asyncio.Future[T] = field(default_factory=_new_future)
    # A keyed command's outcome is stored in its batch, so a retry gets it instead of a rerun.
    key: str | None = None

    def run(self, tx: Tx, checks: bool, guard: bool) -> T:
        if self.message is None or not guard:
            return self._run(tx, checks)
        before = snapshot(tx)
        try:
            return self._run(tx, checks)
        except Exception as err:
            check(tx, before, self.message.name, err)
            raise

    def _run(self, tx: Tx, checks: bool) -> T:
        if self.message is None:
            return None  # type: ignore[return-value]
        if not checks:
            return door.dispatch(tx, self.message)
        # Checked mode: the message and its result travel through JSON, as between nodes.
        message = codec.round_trip(self.message)
        result = door.dispatch(tx, message)
        kind = type(message)
        encoded = json.loads(json.dumps(codec.encode_result(kind, result)))
        decoded: T = codec.decode_result(kind, encoded)
        return decoded


_Done = tuple[Tx, list[tuple["_Command[Any]", bool, Any]]]


def transient(err: BaseException) -> bool:
    """Whether the store itself failed (connection, lock), rather than refusing a value."""
    if isinstance(err, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return bool(getattr(err, "connection_invalidated", False))


class _StoreRefusedError(Exception):
    """The store refused what a batch wrote (a value out of range, a constraint)."""

    def __init__(self, cause: Exception) -> None:
        orig = getattr(cause, "orig", None) or cause
        super().__init__(type(orig).__name__)


def _fault(err: Exception) -> Exception:
    """What the caller of the command at fault is told."""
    if isinstance(err, IsolationError):
        return err
    if isinstance(err, _StoreRefusedError):
        # The driver's message can carry SQL and customer data: it goes to the log only.
        if isinstance(err.__cause__, IntegrityError):
            return DomainError(
                ErrorCode.CONFLICT,
                f"the change conflicts with a stored record ({err}); nothing was changed",
            )
        return DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"the store refused a value of this request ({err}): check for control characters, "
            "and numbers or dates out of range; nothing was changed",
        )
    return DomainError(
        ErrorCode.STORE_UNAVAILABLE,
        f"the request failed ({type(err).__name__}); nothing was changed",
    )


def _name(cmd: _Command[Any]) -> str:
    return cmd.message.name if cmd.message is not None else "tick"


class _Reload:
    """A request to re-read configuration and agents from the store."""

    def __init__(self) -> None:
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class _Stop:
    pass


def _not_leading() -> DomainError:
    return DomainError(
        ErrorCode.STORE_UNAVAILABLE,
        "this node stopped leading the cluster; nothing was changed, retry the request",
    )


def _lost_in_flight() -> DomainError:
    # A retry is safe: it carries the command's key, so a change that did commit runs once.
    return DomainError(
        ErrorCode.STORE_UNAVAILABLE,
        "this node stopped leading the cluster while storing the change; retry the request "
        "with the same Idempotency-Key",
    )


# Fields of a Tx that never reach the store: a batch with nothing else (queries) needs no fence.
_IN_MEMORY_ONLY = frozenset({"state", "now", "new_ids", "route_agents", "route_items", "timers"})


def _writes(tx: Tx) -> bool:
    """Whether the batch has anything to write (a new kind of change counts as a write)."""
    return any(value for name, value in vars(tx).items() if name not in _IN_MEMORY_ONLY)


def _result_row(cmd: _Command[Any], ok: bool, value: Any, now: Any) -> dict[str, Any] | None:
    if cmd.key is None or cmd.message is None:
        return None
    kind = type(cmd.message)
    try:
        result = codec.encode_result(kind, value) if ok else codec.encode_error(value)
    except Exception:  # an unencodable result is answered, just not kept
        log.exception("the result of %s cannot be stored for its idempotency key", kind.name)
        return None
    return {"key": cmd.key, "name": kind.name, "ok": ok, "result": result, "created_at": now}


class Engine:
    """Owns the routing state of one Omniroute process."""

    # Tests switch this on: every message and result goes through the wire codec.
    checks = False
    # Tests switch this on: a command that raises after changing state fails loudly.
    guard = False

    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        batch_max: int = 512,
        *,
        timer_batch: int = 1000,
        checks: bool | None = None,
        guard: bool | None = None,
        fence: CommitFence | None = None,
        forwarder: Forwarder | None = None,
    ) -> None:
        self.db = db
        # In a cluster the lease row fences every commit; alone, the process lease guards.
        self.fence = fence
        self.forwarder = forwarder
        if checks is not None:
            self.checks = checks
        if guard is not None:
            self.guard = guard
        self.clock: Clock = clock or SystemClock()
        self.batch_max = batch_max
        self.timer_batch = timer_batch
        self.bus = EventBus()
        self._state: EngineState | None = None
        self._inbox: asyncio.Queue[_Command[Any] | _Reload | _Stop] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._started = False
        # What the loop took from the inbox for the batch in hand (answered if it is abandoned).
        self._taken: list[_Command[Any] | _Reload | _Stop] = []
        self._lease = EngineLease(db)
        # On a SQLite file the engine commits through its own connection (sqlite_writer.py).
        self._writer: SqliteWriter | None = None
        self.batches = 0
        self.commit_listeners: list[Callable[[Committed], None]] = []
        self.stop_listeners: list[Callable[[], None]] = []
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        # On a cluster node: the state kept warm while standing by, taken over when leading.
        self.standby: Standby | None = None

    @property
    def state(self) -> EngineState:
        """The live state; only read it from inside commands or tests."""
        if self._state is None:
            msg = "engine is not started"
            raise RuntimeError(msg)
        return self._state

    @property
    def running(self) -> bool:
        """Whether the command loop is alive."""
        return self._task is not None and not self._task.done()

    @property
    def ready(self) -> bool:
        """Whether the loop is alive and its start, firing what fell due while down, is done."""
        return self._started and self.running

    async def start(self) -> None:
        """Take the lease, load the state, fire what fell due while down, start the loop."""
        if self.fence is None:
            await self._lease.acquire()
        started = time.perf_counter()
        try:
            warm = await self.standby.take() if self.standby is not None else None
            if warm is not None:
                self._state = warm
            else:
                async with read_snapshot(self.db) as session:
                    self._state = await load_state(session)
        except BaseException:
            if self.fence is None:
                await self._lease.release()
            raise
        path = self.db.sqlite_file
        if path is not None and self.fence is None:
            self._writer = SqliteWriter(path)
        self._inbox = asyncio.Queue()
        self._started = False
        self._task = asyncio.create_task(self._run(), name="omniroute-engine")
        loaded = time.perf_counter()
        due = len(self.state.timers)
        await self.tick()
        self._started = True
        log.info(
            "engine started in %.2f s: state %s in %.2f s, first batch in %.2f s (%d timers armed)",
            time.perf_counter() - started,
            "taken warm" if warm is not None else "loaded",
            loaded - started,
            time.perf_counter() - loaded,
            due,
        )

    async def stop(self) -> None:
        """Finish the queued commands and stop."""
        if self._task is None:
            return
        if not self._task.done():
            await self._inbox.put(_Stop())
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self.fence is None:
            await self._lease.release()

    def abandon(self) -> None:
        """Stop at once without writing anything more (the lead was lost)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def execute(self, command: Message[T], key: str | None = None) -> T:
        """Run a command (or query) in the next batch; returns once its changes are committed.

        With a `key`, a command already run under that key is answered from its stored
        outcome instead of running again (a retry after a failover is safe). On a node that
        does not lead, the command goes to the leader.
        """
        if not isinstance(command, Message):
            msg = f"the engine takes typed commands and queries, not {type(command).__name__}"
            raise TypeError(msg)
        if key is None and command.mutates:
            key = next_command_key()
        if not self.running and self.forwarder is not None:
            result: T = await self.forwarder.send(command, key)
            return result
        try:
            return await self.run_local(command, key)
        except DomainError as err:
            # Deposed while the command waited: nothing was written; the new leader runs it.
            if (
                self.running
                or self.forwarder is None
                or err.code is not ErrorCode.STORE_UNAVAILABLE
            ):
                raise
            forwarded: T = await self.forwarder.send(command, key)
            return forwarded

    async def query(self, query: door.Query[T]) -> T:
        """Answer a query from the live state as of the last commit."""
        return await self.execute(query)

    async def run_local(
        self, message: Message[T], key: str | None = None, *, fresh: bool = False
    ) -> T:
        """Run a command or query in this node's engine.

        A `fresh` key was just made by the caller for this one trip, so nothing can be stored
        under it: the engine skips looking for an earlier outcome.
        """
        if key is None or not message.mutates:
            return await self._submit(_Command(message))
        same = self._inflight.get(key)
        if same is not None:
            shared: T = await asyncio.shield(same)
            return shared
        future: asyncio.Future[T] = _new_future()
        self._inflight[key] = future
        try:
            stored = None if fresh else await self._stored_outcome(key)
            if stored is not None:
                value = self._decode_outcome(type(message), stored)
            else:
                value = await self._submit(_Command(message, key=key))
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # retrieved: the waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)

    async def _stored_outcome(self, key: str) -> t.CommandResultRow | None:
        async with self.db.session() as session:
            return await session.get(t.CommandResultRow, key)

    @staticmethod
    def _decode_outcome(kind: type[Message[T]], row: t.CommandResultRow) -> T:
        if not row.ok:
            raise codec.decode_error(row.result)
        value: T = codec.decode_result(kind, row.result)
        return value

    async def _submit(self, cmd: _Command[T]) -> T:
        if not self.running:
            raise DomainError(ErrorCode.STORE_UNAVAILABLE, "the routing engine is not running")
        await self._inbox.put(cmd)
        return await cmd.future

    async def tick(self) -> None:
        """Process due timers now (a no-op command)."""
        await self._submit(_Command(None))

    async def reload_config(self) -> None:
        """Re-read configuration and agents after an administrative change."""
        if not self.running and self.forwarder is not None:
            await self.forwarder.reload()
            return
        request = _Reload()
        await self._inbox.put(request)
        await request.future

    # -- the loop ---------------------------------------------------------------------

    async def _next(self) -> _Command[Any] | _Reload | _Stop | None:
        due = self.state.timers.next_due()
        if due is None:
            return await self._inbox.get()
        delay = (due - self.clock.now()).total_seconds()
        if delay <= 0:
            return self._inbox.get_nowait() if not self._inbox.empty() else None
        # `wait_for` runs the get as a task of its own: the engine wakes a turn of the loop
        # after a command arrives, and the commands sent meanwhile join the same batch. Waking
        # it a turn earlier (`asyncio.timeout`) was measured worse: smaller batches, more
        # commits on the loop, about 10% more CPU per item and twice the median latency.
        try:
            return await asyncio.wait_for(self._inbox.get(), timeout=delay)
        except TimeoutError:
            return None

    async def _run(self) -> None:
        try:
            await self._loop()
        except (Deposed, asyncio.CancelledError):
            log.warning("this node lost the lead; its engine stops without writing")
        finally:
            self._fail_waiting()
            if self.fence is not None:
                self.fence.close()
            for listener in self.stop_listeners:
                listener()

    def _fail_waiting(self) -> None:
        # Taken but unanswered: the batch in hand was abandoned, perhaps mid-commit.
        for item in self._taken:
            if not isinstance(item, _Stop) and not item.future.done():
                item.future.set_exception(_lost_in_flight())
        self._taken = []
        while not self._inbox.empty():
            item = self._inbox.get_nowait()
            if not isinstance(item, _Stop) and not item.future.done():
                item.future.set_exception(_not_leading())

    async def _loop(self) -> None:
        while True:
            self._taken = []
            first = await self._next()
            if first is not None:
                self._taken.append(first)
            if isinstance(first, _Stop):
                return
            if isinstance(first, _Reload):
                await self._reload(first)
                continue
            batch: list[_Command[Any]] = [first] if first is not None else []
            stop = False
            while len(batch) < self.batch_max and not self._inbox.empty():
                nxt = self._inbox.get_nowait()
                self._taken.append(nxt)
                if isinstance(nxt, _Command):
                    batch.append(nxt)
                    continue
                await self._process(batch)
                batch = []
                if isinstance(nxt, _Stop):
                    stop = True
                    break
                await self._reload(nxt)
            if batch or first is None:
                await self._process(batch)
            if stop:
                return

    async def _reload(self, request: _Reload) -> None:
        try:
            async with self.db.session() as session:
                agents = await reload_config(session, self.state)
            await self._process([], reroute=agents, config_changed=True)
        except Deposed:
            request.future.set_exception(_not_leading())
            raise
        except Exception as err:  # noqa: BLE001 - the caller gets the failure
            request.future.set_exception(err)
            return
        request.future.set_result(None)

    def _fire_timers(self, tx: Tx) -> None:
        for kind, target in self.state.timers.pop_due(tx.now, self.timer_batch):
            door.fire_timer(tx, kind, target)

    def _run_batch(self, batch: list[_Command[Any]], reroute: Iterable[str]) -> _Done:
        """Fire due timers, run the commands, settle; a refused command changes nothing."""
        tx = Tx(self.state, self.clock.now())
        outcomes: list[tuple[_Command[Any], bool, Any]] = []
        self._fire_timers(tx)
        for agent_id in reroute:
            tx.route_agent(agent_id)
        for cmd in batch:
            try:
                outcomes.append((cmd, True, cmd.run(tx, self.checks, self.guard)))
            except DomainError as err:
                outcomes.append((cmd, False, err))
        door.settle(tx)
        return tx, outcomes

    async def _commit(
        self, batch: list[_Command[Any]], reroute: Iterable[str], config_changed: bool = False
    ) -> _Done:
        """Run a batch and write it in one transaction; raises if either fails."""
        tx, outcomes = self._run_batch(batch, reroute)
        results = [
            row
            for cmd, ok, value in outcomes
            if (row := _result_row(cmd, ok, value, tx.now)) is not None
        ]
        try:
            if self.fence is not None and (results or _writes(tx) or config_changed):
                await self.fence.commit(tx, config_changed, results)
            elif self._writer is not None:
                statements = sqlite_statements(tx, results)
                # This write does not yield to the loop (sqlite_writer.py): yield once here, as
                # the async path does, so that a backlog of batches never starves the requests.
                await asyncio.sleep(0)
                if statements:  # queries and idle ticks write nothing
                    await self._writer.write(statements)
            else:
                async with self.db.session() as session, session.begin():
                    if results:
                        await session.execute(insert(t.CommandResultRow), results)
                    await write_tx(session, tx)
        except Deposed:
            raise
        except Exception as err:
            if transient(err):
                raise
            raise _StoreRefusedError(err) from err
        return tx, outcomes

    async def _process(
        self,
        batch: list[_Command[Any]],
        reroute: Iterable[str] = (),
        *,
        config_changed: bool = False,
    ) -> None:
        try:
            done = await self._commit(batch, reroute, config_changed)
        except Deposed:
            self._fail_deposed(batch)
            raise
        except Exception as err:  # noqa: BLE001 - any failure is isolated or answered
            if transient(err) or not any(cmd.message is not None for cmd in batch):
                await self._fail_all(batch, err)
                return
            # One command's change (or bug) must not fail the others: find it on fresh state.
            log.warning("engine batch refused (%s); running its commands one by one", err)
            await self._recover()
            await self._isolate(batch, reroute)
            return
        self._announce(*done)

    async def _isolate(self, batch: list[_Command[Any]], reroute: Iterable[str]) -> None:
        """Commit the engine's own work, then each command alone; answer the one at fault."""
        try:
            done = await self._commit([], reroute)
        except Deposed:
            self._fail_deposed(batch)
            raise
        except Exception as err:  # noqa: BLE001 - the callers get the failure
            await self._fail_all(batch, err)
            return
        self._announce(*done)
        for index, cmd in enumerate(batch):
            try:
                done = await self._commit([cmd], ())
            except Deposed:
                self._fail_deposed(batch[index:])
                raise
            except Exception as err:
                if transient(err):
                    await self._fail_all(batch[index:], err)
                    return
                log.warning("command %s was refused or failed", _name(cmd), exc_info=err)
                # Memory holds the refused change until the reload: answer only after it.
                await self._recover()
                if not cmd.future.done():
                    cmd.future.set_exception(_fault(err))
                continue
            self._announce(*done)

    @staticmethod
    def _fail_deposed(batch: list[_Command[Any]]) -> None:
        for cmd in batch:
            if not cmd.future.done():
                cmd.future.set_exception(_not_leading())

    async def _fail_all(self, batch: list[_Command[Any]], err: Exception) -> None:
        """The store is out of reach: every caller gets 503 and the state is reloaded."""
        log.error("engine batch failed; reloading state from the store", exc_info=err)
        # The driver's message can carry SQL and customer data: it goes to the log only.
        failure = DomainError(
            ErrorCode.STORE_UNAVAILABLE,
            f"the change could not be stored ({type(err).__name__}); nothing was changed",
        )
        for cmd in batch:
            if not cmd.future.done():
                cmd.future.set_exception(failure)
        await self._recover()

    def _announce(self, tx: Tx, outcomes: list[tuple[_Command[Any], bool, Any]]) -> None:
        """After a commit: arm timers, publish the events, answer the callers."""
        self.batches += 1
        for due, kind, target in tx.timers:
            self.state.timers.add(due, kind, target)
        # Feeds first: the loop runs woken tasks in order, and each caller's answer (its
        # serialisation and the HTTP layers) would otherwise delay every offer frame.
        self.bus.publish(tx.events)
        for cmd, ok, value in outcomes:
            if cmd.future.done():
                continue
            if ok:
                cmd.future.set_result(value)
            else:
                cmd.future.set_exception(value)
        if self.commit_listeners:
            outcome = committed(tx)
            for listener in self.commit_listeners:
                listener(outcome)

    async def _recover(self) -> None:
        while True:
            try:
                if self.fence is not None:
                    async with self.db.session() as session, session.begin():
                        await self.fence.check(session)
                # The same one-snapshot read as a start: no commit may fall between two queries.
                async with read_snapshot(self.db) as session:
                    self._state = await load_state(session)
            except Deposed:
                raise
            except Exception:
                log.exception("reloading engine state failed; retrying")
                await asyncio.sleep(1.0)
                continue
            return
