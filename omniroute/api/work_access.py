"""Who may change a document's work (end, wrap up, close, transfer, re-route), by role.

Admins may change any work; an agent only work it holds (the core checks the holder);
the integration token only work that no agent holds, or that its provider routes (an
externally routed queue), so a provider can end on its side what it routed; supervisor tokens
read but do not change others' work.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.api.auth import Principal, Role
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.model import WorkItemState
from omniroute.store import tables as t

LIVE = (WorkItemState.QUEUED, WorkItemState.PENDING_ACCEPT, WorkItemState.ACCEPTED)


async def provider_may_change(session: AsyncSession, document_id: str) -> bool:
    """No agent holds the document, or its live work is in an externally routed queue."""
    wi, q, i, c = t.WorkItemRow, t.QueueRow, t.InteractionRow, t.CaseRow
    held = or_(
        exists().where(i.id == document_id, i.agent_id.is_not(None)),
        exists().where(c.id == document_id, c.agent_id.is_not(None)),
    )
    external = exists().where(
        wi.document_id == document_id,
        wi.state.in_(LIVE),
        q.id == wi.queue_id,
        q.routing_mode == "external",
    )
    allowed = await session.scalar(select(or_(~held, external)))
    return bool(allowed)


async def work_actor(session: AsyncSession, who: Principal, document_id: str) -> str | None:
    """The agent the core holds to ownership of the change (None: any), or FORBIDDEN."""
    if who.role is Role.ADMIN:
        return None
    if who.role is Role.AGENT and who.agent_id is not None:
        return who.agent_id
    if who.role is Role.INTEGRATION and await provider_may_change(session, document_id):
        return None
    raise DomainError(
        ErrorCode.FORBIDDEN,
        "this work is held by an agent: only that agent or an admin may change it "
        "(the integration token may change only unassigned or externally routed work)",
    )
