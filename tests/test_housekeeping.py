"""Housekeeping deletes a backlog in batches, a commit each, and keeps what is still needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from omniroute.engine.clock import ManualClock
from omniroute.services.housekeeping import Housekeeper
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.seed import NOW

BATCH = 3
OLD = 7  # of each kind: more than two batches


def _rows(now: datetime, wall: datetime) -> list[Any]:
    """OLD rows of each kind past their keeping, and the ones still needed."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    rows: list[Any] = []
    for n in range(OLD):
        rows += [
            t.CommandResultRow(
                key=f"old-{n}", name="X", ok=True, result=None, created_at=now - 2 * day
            ),
            t.RequestKeyRow(
                key=f"old-{n}",
                request_hash="h",
                status=200,
                content_type="application/json",
                body=b"{}",
                created_at=wall - 2 * day,
            ),
            t.ClusterNodeRow(
                node_id=f"old-{n}",
                url="http://gone.invalid",
                role="api",
                started_at=wall - 3 * hour,
                last_seen=wall - 2 * hour,
            ),
            t.EngineChangeRow(seq=n + 1, epoch=1, body={}, created_at=wall - 2 * hour),
            t.AuditRow(
                at=now - 3 * day,
                actor="a",
                role="admin",
                action="x",
                target_type="x",
                target_id=f"old-{n}",
            ),
        ]
    rows += [
        t.CommandResultRow(key="new", name="X", ok=True, result=None, created_at=now - hour),
        t.RequestKeyRow(
            key="new",
            request_hash="h",
            status=200,
            content_type="application/json",
            body=b"{}",
            created_at=wall - hour,
        ),
        t.ClusterNodeRow(
            node_id="new", url="http://here.invalid", role="leader", started_at=wall, last_seen=wall
        ),
        # Old, but the newest change: the next one is numbered after it.
        t.EngineChangeRow(seq=OLD + 1, epoch=1, body={}, created_at=wall - 2 * hour),
        t.AuditRow(
            at=now - hour, actor="a", role="admin", action="x", target_type="x", target_id="new"
        ),
    ]
    return rows


async def test_a_backlog_larger_than_a_batch_goes_in_batches_and_what_is_needed_stays(
    db: Database,
) -> None:
    async with db.session() as session, session.begin():
        session.add_all(_rows(NOW, datetime.now(UTC)))
    trace: list[int | str] = []  # rows each DELETE removed, and "commit"

    def on_execute(*args: Any) -> None:
        statement, cursor = args[2], args[1]
        if statement.lstrip().upper().startswith("DELETE"):
            trace.append(cursor.rowcount)

    def on_commit(_conn: Any) -> None:
        trace.append("commit")

    sync = db.engine.sync_engine
    event.listen(sync, "after_cursor_execute", on_execute)
    event.listen(sync, "commit", on_commit)
    try:
        gone = await Housekeeper(db, ManualClock(NOW), BATCH, 3600, 1).sweep()
    finally:
        event.remove(sync, "after_cursor_execute", on_execute)
        event.remove(sync, "commit", on_commit)

    assert gone == dict.fromkeys(
        ("command_results", "request_keys", "cluster_nodes", "engine_changes", "audit"), OLD
    )
    # Never more than a batch in one statement, and each statement committed before the next.
    deletes = [n for n in trace if n != "commit"]
    assert max(deletes) == BATCH
    assert len(deletes) == 5 * -(-OLD // BATCH)
    assert all(trace[i + 1] == "commit" for i, n in enumerate(trace) if n != "commit")
    async with db.session() as session:
        assert (await session.scalars(select(t.CommandResultRow.key))).all() == ["new"]
        assert (await session.scalars(select(t.RequestKeyRow.key))).all() == ["new"]
        assert (await session.scalars(select(t.ClusterNodeRow.node_id))).all() == ["new"]
        assert (await session.scalars(select(t.EngineChangeRow.seq))).all() == [OLD + 1]
        assert (await session.scalars(select(t.AuditRow.target_id))).all() == ["new"]
