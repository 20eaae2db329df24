"""Who may see an interaction or a case: its content, notes and attachments."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.api.auth import Principal, Role
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.store import tables as t

Doc = t.InteractionRow | t.CaseRow


def sees_everything(who: Principal) -> bool:
    """Admins and supervisors see every document."""
    return who.role in (Role.ADMIN, Role.SUPERVISOR) or who.supervisor


def agent_sees(model: type[Doc], agent_id: str) -> ColumnElement[bool]:
    """An agent sees what it holds, held or was offered, and the history of its customers."""
    wi, i, c = t.WorkItemRow, t.InteractionRow, t.CaseRow
    held = exists().where(wi.document_id == model.id, wi.agent_id == agent_id)
    # Addresses of the customers the agent serves now: their earlier contacts open from history.
    serving = (
        select(func.lower(i.customer_email))
        .where(i.agent_id == agent_id, i.closed_at.is_(None), i.customer_email != "")
        .union(
            select(func.lower(c.customer_email)).where(
                c.agent_id == agent_id, c.closed_at.is_(None), c.customer_email != ""
            )
        )
    )
    return or_(model.agent_id == agent_id, held, func.lower(model.customer_email).in_(serving))


async def document_row(session: AsyncSession, kind: str, doc_id: str) -> Doc:
    """The interaction or case by id, or NOT_FOUND naming the path field."""
    row: Doc | None
    if kind == "interaction":
        row = await session.get(t.InteractionRow, doc_id, populate_existing=True)
    else:
        row = await session.get(t.CaseRow, doc_id, populate_existing=True)
    if row is None:
        raise NotFoundError(kind, doc_id, f"{kind}_id")
    return row


async def may_see(session: AsyncSession, who: Principal, row: Doc) -> bool:
    """Whether the caller may see this document."""
    if sees_everything(who):
        return True
    if who.role is not Role.AGENT or who.agent_id is None:
        return False
    if row.agent_id == who.agent_id:
        return True
    model = type(row)
    found = await session.scalar(
        select(exists().where(model.id == row.id, agent_sees(model, who.agent_id)))
    )
    return bool(found)


async def check_visible(session: AsyncSession, who: Principal, kind: str, doc_id: str) -> Doc:
    """The document, if the caller may see it; FORBIDDEN otherwise."""
    row = await document_row(session, kind, doc_id)
    if not await may_see(session, who, row):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"only the agents who work or worked on this {kind}, supervisors and admins see it",
        )
    return row
