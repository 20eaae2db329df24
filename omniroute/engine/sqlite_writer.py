"""The engine's own SQLite connection: a batch is written and committed in one short call.

Through the async driver every statement of a commit (and the connection's check-out, commit
and reset) was its own round trip between the event loop and the driver's thread, about fifteen
per batch; on a busy machine each waited for the thread to be scheduled and for the GIL, and
together they set the offer latency (measured: 4-9 ms a batch at the median, for 0.4 ms of
SQLite work). Even one trip to a thread cost 8 ms at the median on a loaded 2-core machine.

So the batch is written on the event loop itself, which SQLite in WAL mode allows cheaply:
a commit appends to the log without syncing to disk (`synchronous=NORMAL`), which is what the
loop waits for. The two things that can take long never happen there:
- waiting for the write lock: the loop only tries it; if another connection holds it, the
  batch is written from a worker thread that waits up to the busy timeout;
- checkpoints (copying the log into the database file, with an fsync): this connection never
  checkpoints; a thread of its own does, on its own connection, while the engine goes on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import DBAPIError

from omniroute.engine.rowwriter import Statement
from omniroute.store.db import sqlite_pragmas

# How long the worker thread waits for the write lock (as the pool's connections do).
BUSY_TIMEOUT_MS = 10_000
# A checkpoint starts this long after the previous one ended, if anything was written since.
CHECKPOINT_EVERY_S = 0.5
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _locked(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _BUSY_CODES


class SqliteWriter:
    """Writes batches of statements to one SQLite file, each batch in one transaction."""

    def __init__(self, path: str, checkpoint_every_s: float = CHECKPOINT_EVERY_S) -> None:
        self._path = path
        self._checkpoint_every_s = checkpoint_every_s
        self._conn: sqlite3.Connection | None = None
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="omniroute-checkpoint")
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint: Future[None] | None = None
        self._checkpointed_at = time.monotonic()
        self.deferred = 0  # batches that found the write lock taken (for tests and logs)

    async def write(self, statements: list[Statement]) -> None:
        """Run the statements and commit; or raise (SQLAlchemy's errors) having written nothing."""
        conn = self._connect()
        try:
            self._run(conn, statements, wait=False)
        except _LockTakenError:
            self.deferred += 1
            await asyncio.to_thread(self._run, conn, statements, wait=True)
        self._maybe_checkpoint()

    async def close(self) -> None:
        """Close both connections and end the checkpoint thread."""
        if self._checkpoint is not None:
            await asyncio.wrap_future(self._checkpoint)
        await asyncio.get_running_loop().run_in_executor(self._checkpoints, self._close_checkpoint)
        self._checkpoints.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: the transaction is opened and ended here, explicitly. The
            # connection is used by the loop and, while the loop awaits it, by a worker thread.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            sqlite_pragmas(conn)
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn = conn
        return self._conn

    def _run(self, conn: sqlite3.Connection, statements: list[Statement], *, wait: bool) -> None:
        sql = "BEGIN IMMEDIATE"
        if wait:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            # IMMEDIATE takes the write lock first, so the transaction never fails half-way
            # for want of it.
            conn.execute(sql)
            for sql, params in statements:
                conn.executemany(sql, params)
            sql = "COMMIT"
            conn.execute(sql)
        except sqlite3.Error as err:
            self._abort(conn)
            if not wait and _locked(err):
                raise _LockTakenError from err
            # The engine tells a refused value (IntegrityError) from an unreachable store
            # (OperationalError) by SQLAlchemy's classes, as on the async path.
            raise DBAPIError.instance(sql, None, err, sqlite3.Error) from err
        finally:
            if wait and self._conn is conn:
                conn.execute("PRAGMA busy_timeout=0")

    def _abort(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            # A connection that cannot roll back is dropped; the next batch opens a new one.
            conn.close()
            self._conn = None

    def _maybe_checkpoint(self) -> None:
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        if time.monotonic() - self._checkpointed_at < self._checkpoint_every_s:
            return
        self._checkpoint = self._checkpoints.submit(self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        try:
            if self._checkpoint_conn is None:
                self._checkpoint_conn = sqlite3.connect(
                    self._path, isolation_level=None, check_same_thread=False
                )
                sqlite_pragmas(self._checkpoint_conn)
            # PASSIVE: copy what no reader still needs, never waiting for the writer.
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            # The next checkpoint tries again; the log only grows meanwhile.
            self._close_checkpoint()
        finally:
            self._checkpointed_at = time.monotonic()

    def _close_checkpoint(self) -> None:
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None


class _LockTakenError(Exception):
    """Another connection holds the write lock; nothing was written."""
