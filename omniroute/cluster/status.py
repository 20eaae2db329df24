"""The cluster as the store sees it: who leads, since when, and every node's heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from omniroute.cluster.lease import LeaderLease
from omniroute.store import tables as t
from omniroute.store.db import Database


async def cluster_status(db: Database, node_id: str | None) -> dict[str, Any]:
    """`{"node_id", "leader": {"node_id", "epoch", "since"} | None, "nodes": [...]}`."""
    view = await LeaderLease(db, node_id or "", 0).view()
    async with db.session() as session:
        rows = (
            await session.scalars(select(t.ClusterNodeRow).order_by(t.ClusterNodeRow.node_id))
        ).all()
    leader = (
        {"node_id": view.node_id, "epoch": view.epoch, "since": _iso(view.since)}
        if view.live
        else None
    )
    nodes = [
        {
            "node_id": row.node_id,
            "url": row.url,
            "role": _role(row.role, row.node_id, leader),
            "last_seen": _iso(row.last_seen),
        }
        for row in rows
    ]
    return {"node_id": node_id, "leader": leader, "nodes": nodes}


def _role(reported: str, node_id: str, leader: dict[str, Any] | None) -> str:
    """The lease names the one leader; a node that led before (killed, its heartbeat row left
    behind until it is swept) is shown as the standby it would be now."""
    if leader is not None and node_id == leader["node_id"]:
        return "leader"
    return "standby" if reported == "leader" else reported


def _iso(value: datetime | None) -> str | None:
    # As the API writes instants (pydantic), so that the CLI prints the same text.
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
