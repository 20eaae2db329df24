"""The stored history behind the supervisor figures: the last hour's work items and offers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.services.supervisor.metrics import ItemRecord, OfferRecord, Window
from omniroute.store import tables as t


@dataclass(frozen=True, slots=True)
class History:
    """Work items and offers that touch the window."""

    items: list[ItemRecord]
    offers: list[OfferRecord]


def _touches(window: Window) -> ColumnElement[bool]:
    # Items created by now that were neither accepted nor ended before the window began:
    # this covers every item created, answered, abandoned or still waiting in the window.
    wi = t.WorkItemRow
    return and_(
        wi.created_at <= window.now,
        or_(wi.accepted_at.is_(None), wi.accepted_at >= window.start),
        or_(wi.ended_at.is_(None), wi.ended_at >= window.start),
    )


async def load_history(session: AsyncSession, window: Window) -> History:
    """Load the items and offers that the window's figures are computed from."""
    wi, of = t.WorkItemRow, t.OfferRow
    item_rows = await session.execute(
        select(
            wi.id, wi.queue_id, wi.created_at, wi.accepted_at, wi.ended_at, wi.cancel_reason
        ).where(_touches(window))
    )
    items = [ItemRecord(*row) for row in item_rows]
    offer_rows = await session.execute(
        select(of.work_item_id, wi.queue_id, of.state, of.created_at, of.ended_at)
        .join(wi, wi.id == of.work_item_id)
        .where(
            _touches(window),
            of.created_at <= window.now,
            or_(of.ended_at.is_(None), of.ended_at >= window.start),
        )
    )
    offers = [OfferRecord(*row) for row in offer_rows]
    return History(items, offers)


async def load_thresholds(session: AsyncSession) -> dict[str, int]:
    """Service-level thresholds set per queue, in seconds."""
    rows = await session.execute(
        select(t.QueueServiceLevelRow.queue_id, t.QueueServiceLevelRow.threshold_s)
    )
    return {row.queue_id: row.threshold_s for row in rows.all()}
