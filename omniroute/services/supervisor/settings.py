"""Per-queue service-level thresholds: how fast an item must be accepted to count as met."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.domain.errors import NotFoundError
from omniroute.store import tables as t


async def set_threshold(
    session: AsyncSession, queue_id: str, threshold_s: int, now: datetime
) -> int:
    """Store a queue's threshold, replacing any earlier one."""
    if await session.get(t.QueueRow, queue_id) is None:
        raise NotFoundError("queue", queue_id, "queue_id")
    row = await session.get(t.QueueServiceLevelRow, queue_id)
    if row is None:
        row = t.QueueServiceLevelRow(queue_id=queue_id, threshold_s=threshold_s, updated_at=now)
        session.add(row)
    else:
        row.threshold_s = threshold_s
        row.updated_at = now
    return threshold_s
