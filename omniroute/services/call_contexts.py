"""Reading stored call contexts (the engine writes them; the API reads them from the store)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.call_controls import StoredContext
from omniroute.domain.calls import CallAction, CallContext, CallKind, CallState
from omniroute.store import tables as t


def _context(row: t.CallContextRow) -> CallContext:
    return CallContext(
        interaction_id=row.interaction_id,
        state=CallState(row.state),
        kind=CallKind(row.kind),
        muted=row.muted,
        customer_number=row.customer_number,
        available_actions=tuple(CallAction(a) for a in row.available_actions),
        occurred_at=row.occurred_at,
        connected_at=row.connected_at,
        provider_call_id=row.provider_call_id,
    )


async def latest_context(session: AsyncSession, interaction_id: str) -> StoredContext | None:
    """The current call context of an interaction: the one that happened last."""
    row = await session.scalar(
        select(t.CallContextRow)
        .where(t.CallContextRow.interaction_id == interaction_id)
        .order_by(t.CallContextRow.occurred_at.desc(), t.CallContextRow.id.desc())
        .limit(1)
    )
    return None if row is None else StoredContext(row.spoke, _context(row))
