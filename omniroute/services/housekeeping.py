"""Old rows go in bounded batches, a commit each, so no delete holds locks long on a big table.

Kept for retries: request and command keys (a day). Kept for the cluster view: heartbeats of
gone nodes (an hour). Kept for standbys: the engine change log (`OMNIROUTE_CHANGE_LOG_KEPT_S`,
always its newest row). Kept for the audit: entries within `OMNIROUTE_AUDIT_RETENTION_DAYS`.
It runs where the engine runs (the leader, or the one SQLite node).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select

from omniroute.engine.clock import Clock
from omniroute.store import tables as t
from omniroute.store.db import Database

log = logging.getLogger(__name__)
# Keys of requests and forwarded commands are kept this long for retries.
KEYS_KEPT = timedelta(days=1)
# Nodes not seen for this long leave the cluster's list.
NODES_KEPT = timedelta(hours=1)
EVERY_S = 600.0


async def delete_in_batches(db: Database, key: Any, where: ColumnElement[bool], batch: int) -> int:
    """Delete the rows `where` selects, at most `batch` per transaction; how many went."""
    table = key.class_
    gone = 0
    while True:
        chosen = select(key).where(where).limit(batch).scalar_subquery()
        async with db.session() as session, session.begin():
            result = await session.execute(delete(table).where(key.in_(chosen)))
        count = int(getattr(result, "rowcount", 0) or 0)
        gone += count
        if count < batch:
            return gone
        await asyncio.sleep(0)  # other work runs between the batches


@dataclass(frozen=True, slots=True)
class Housekeeper:
    """Deletes what is no longer needed, a batch at a time."""

    db: Database
    clock: Clock
    batch: int
    changes_kept_s: float
    audit_retention_days: int

    async def sweep(self) -> dict[str, int]:
        """One pass over every kind of old row; how many of each went."""
        # Command keys and audit entries are stamped by the engine's clock; the rest by the wall's.
        now, wall = self.clock.now(), datetime.now(UTC)
        cr, rk, node, ch, audit = (
            t.CommandResultRow,
            t.RequestKeyRow,
            t.ClusterNodeRow,
            t.EngineChangeRow,
            t.AuditRow,
        )
        newest = select(func.max(ch.seq)).scalar_subquery()
        kept = timedelta(seconds=self.changes_kept_s)
        plan: list[tuple[str, Any, ColumnElement[bool]]] = [
            ("command_results", cr.key, cr.created_at < now - KEYS_KEPT),
            ("request_keys", rk.key, rk.created_at < wall - KEYS_KEPT),
            ("cluster_nodes", node.node_id, node.last_seen < wall - NODES_KEPT),
            # The newest change stays: the next one is numbered after it.
            ("engine_changes", ch.seq, (ch.created_at < wall - kept) & (ch.seq < newest)),
            ("audit", audit.id, audit.at < now - timedelta(days=self.audit_retention_days)),
        ]
        return {
            name: await delete_in_batches(self.db, key, where, self.batch)
            for name, key, where in plan
        }

    async def run(self, leads: Callable[[], bool]) -> None:
        """Sweep every ten minutes while this node runs the engine."""
        while True:
            await asyncio.sleep(EVERY_S)
            if leads():
                try:
                    await self.sweep()
                except Exception:
                    log.exception("housekeeping failed; it runs again in %s s", EVERY_S)
