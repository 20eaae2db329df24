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
        # One statement is its own transaction: no BEGIN and COMMIT round trips.
        self._autocommit = lease.db.engine.execution_options(isolation_level="AUTOCOMMIT")
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
        async with self._autocommit.connect() as conn:
            one = OneStatement(conn.dialect, "fence")
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
            sql = one.sql(_ANSWER.format(ring=ring))
            if (await conn.exec_driver_sql(sql, tuple(one.params))).first() is None:
                raise Deposed(self.epoch)
        self.renewed_at = asyncio.get_running_loop().time()
