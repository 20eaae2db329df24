"""A leader commit in one statement: fence, change log, the batch's writes, results, doorbell.

Each is a round trip of its own otherwise (with BEGIN and COMMIT), and round trips are most of
the leader's work per batch. The statement first updates the lease row `WHERE epoch = <ours>`
(locking it: the change is numbered under that lock, as before); every other part reads that
row, so a deposed leader's statement writes nothing at all and its engine stops (`Deposed`).
A statement is atomic: a refused value or constraint writes nothing either.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.cluster.follower import CHANNEL, doorbell
from omniroute.cluster.lease import LEASE_ROW, LeaderLease
from omniroute.core.committed import routing_changed
from omniroute.core.state import Tx
from omniroute.engine.changes import change_body
from omniroute.engine.fence import Deposed
from omniroute.engine.flush import Write, plan_tx
from omniroute.engine.pg_statement import OneStatement
from omniroute.store import tables as t

# The statement's fixed parts; the placeholders are `$n` parameters, never values.
_FENCE = (
    "UPDATE cluster_lease SET expires_at = now() + make_interval(secs => {ttl}) "
    "WHERE id = {row} AND epoch = {epoch} AND node_id = {me} RETURNING epoch"
)
# Numbered right after the last change (`engine/changes.py`), under the lease row's lock.
_CHANGE = (
    "INSERT INTO engine_changes (seq, epoch, body, created_at) "
    "SELECT last.seq + 1, fence.epoch, CAST({body} AS json), now() "
    "FROM fence, (SELECT coalesce(max(seq), 0) AS seq FROM engine_changes) AS last"
)
_RING = "pg_notify({channel}, {said})"
_ANSWER = "SELECT epoch, {ring} FROM fence"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class EpochFence:
    """Fences one term's commits by its epoch, and rings the followers' doorbell."""

    def __init__(self, lease: LeaderLease, epoch: int) -> None:
        self._lease = lease
        self.epoch = epoch
        self._dialect = lease.db.engine.dialect
        # The term's own connection, used by its engine's loop alone. The statement runs on
        # the driver: SQLAlchemy's pool and execution layers did nothing for it but cost CPU.
        # One statement is its own transaction: no BEGIN and COMMIT round trips.
        self._conn: asyncpg.Connection | None = None
        # When a commit last renewed the lease (loop time): the heartbeat need not, meanwhile.
        self.renewed_at = float("-inf")

    async def check(self, session: AsyncSession) -> None:
        """Renew the lease in the session's transaction, or raise `Deposed`."""
        await self._lease.fence(session, self.epoch)
        self.renewed_at = asyncio.get_running_loop().time()

    async def commit(self, tx: Tx, config_changed: bool, results: list[dict[str, Any]]) -> None:
        """Write the batch, its change log row and `results`, and ring, in one statement."""
        body = change_body(tx, config_changed)
        events, outbox = bool(tx.events or tx.inserts), bool(tx.outbox)
        said = doorbell(events=events, outbox=outbox, routing=routing_changed(tx) or bool(body))
        one = OneStatement(self._dialect, "fence")
        ttl, row = one.param(float(self._lease.lease_s)), one.param(LEASE_ROW)
        epoch, me = one.param(self.epoch), one.param(self._lease.node_id)
        one.cte("fence", _FENCE.format(ttl=ttl, row=row, epoch=epoch, me=me))
        if body is not None:
            one.cte("change", _CHANGE.format(body=one.param(_dumps(body))))
        for write in plan_tx(tx):
            one.write(write)
        if results:
            one.write(Write("insert", t.CommandResultRow, results))
        ring = "NULL"
        if said is not None:
            ring = _RING.format(channel=one.param(CHANNEL), said=one.param(said))
        if await self._run(one.sql(_ANSWER.format(ring=ring)), one.params) is None:
            raise Deposed(self.epoch)
        self.renewed_at = asyncio.get_running_loop().time()

    async def _run(self, sql: str, params: list[Any]) -> asyncpg.Record | None:
        """The statement's row on the term's connection; store errors as SQLAlchemy raises them."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._lease.db.driver_connection()
            row: asyncpg.Record | None = await self._conn.fetchrow(sql, *params)
        except asyncpg.IntegrityConstraintViolationError as err:
            raise IntegrityError("leader commit", None, err) from err
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as err:
            # The connection is gone (or unusable): a store failure, the next commit reconnects.
            self.close()
            raise OperationalError("leader commit", None, err) from err
        except asyncpg.PostgresError as err:
            if self._conn is None or self._conn.is_closed():  # the server ended the session
                self.close()
                raise OperationalError("leader commit", None, err) from err
            raise
        except BaseException:
            # Cancelled or cut off mid-statement: nothing more goes through this connection.
            self.close()
            raise
        return row

    def close(self) -> None:
        """Drop the term's connection (idle between statements: nothing is lost)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()
