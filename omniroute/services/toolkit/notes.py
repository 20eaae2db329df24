"""Internal notes on interactions and cases: for agents and supervisors, never customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.routing import new_id
from omniroute.store import tables as t


async def add(
    session: AsyncSession,
    *,
    document_type: str,
    document_id: str,
    author_agent_id: str | None,
    body: str,
    now: datetime,
) -> t.NoteRow:
    """Store a note signed by its author (an agent, or the support team for an admin)."""
    author = await session.get(t.AgentRow, author_agent_id) if author_agent_id else None
    row = t.NoteRow(
        id=new_id(),
        document_type=document_type,
        document_id=document_id,
        author_agent_id=author_agent_id,
        author_name=author.name if author is not None else "Administrator",
        body=body,
        created_at=now,
    )
    session.add(row)
    await session.commit()
    return row


async def of_document(session: AsyncSession, document_id: str) -> list[t.NoteRow]:
    """A document's notes, oldest first."""
    n = t.NoteRow
    rows = await session.scalars(
        select(n).where(n.document_id == document_id).order_by(n.created_at, n.id)
    )
    return list(rows)
