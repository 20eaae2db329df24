"""Canned responses: shared ones (no owner) and each agent's own."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.routing import new_id
from omniroute.domain.errors import NotFoundError
from omniroute.store import tables as t

PLACEHOLDER = re.compile(r"\{\s*(customer name|agent name)\s*\}", re.IGNORECASE)


def fill(body: str, *, customer_name: str, agent_name: str) -> str:
    """The body with {customer name} and {agent name} filled in."""
    values = {"customer name": customer_name, "agent name": agent_name}
    return PLACEHOLDER.sub(lambda m: values[m.group(1).lower()], body)


async def visible(
    session: AsyncSession, agent_id: str | None, query: str | None = None
) -> list[t.CannedResponseRow]:
    """Shared responses and the agent's own (every one for agent_id None), by title."""
    c = t.CannedResponseRow
    stmt = select(c)
    if agent_id is not None:
        stmt = stmt.where(or_(c.owner_agent_id.is_(None), c.owner_agent_id == agent_id))
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(c.title.ilike(like), c.shortcut.ilike(like), c.body.ilike(like)))
    rows = await session.scalars(stmt.order_by(c.title, c.id))
    return list(rows)


async def get(session: AsyncSession, response_id: str) -> t.CannedResponseRow:
    """One canned response, or NOT_FOUND."""
    row = await session.get(t.CannedResponseRow, response_id)
    if row is None:
        raise NotFoundError("canned response", response_id, "canned_response_id")
    return row


async def create(
    session: AsyncSession,
    *,
    title: str,
    shortcut: str,
    body: str,
    owner_agent_id: str | None,
    now: datetime,
) -> t.CannedResponseRow:
    """Store a new canned response."""
    if owner_agent_id is not None and await session.get(t.AgentRow, owner_agent_id) is None:
        raise NotFoundError("agent", owner_agent_id, "owner_agent_id")
    row = t.CannedResponseRow(
        id=new_id(),
        title=title,
        shortcut=shortcut,
        body=body,
        owner_agent_id=owner_agent_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.commit()
    return row
