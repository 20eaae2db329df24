"""A customer's earlier interactions and cases, found by email address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.store import tables as t

HISTORY_LIMIT = 50


async def customer_history(
    session: AsyncSession, interaction: t.InteractionRow, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """The same customer's earlier interactions and cases (up to this one's start), newest first."""
    email = interaction.customer_email.strip().lower()
    if not email:
        return []
    i, c = t.InteractionRow, t.CaseRow
    interactions = await session.scalars(
        select(i)
        .where(
            func.lower(i.customer_email) == email,
            i.id != interaction.id,
            i.created_at <= interaction.created_at,
        )
        .order_by(i.created_at.desc())
        .limit(limit)
    )
    cases = await session.scalars(
        select(c)
        .where(func.lower(c.customer_email) == email, c.created_at <= interaction.created_at)
        .order_by(c.created_at.desc())
        .limit(limit)
    )
    items: list[dict[str, Any]] = [
        _entry("interaction", r) | {"wrap_up_code_id": r.wrap_up_code_id, "case_id": r.case_id}
        for r in interactions
    ]
    items += [_entry("case", r) | {"wrap_up_code_id": None, "case_id": None} for r in cases]
    items.sort(key=lambda e: (e["created_at"], e["id"]), reverse=True)
    items = items[:limit]
    await _names(session, items)
    return items


def _entry(kind: str, row: t.InteractionRow | t.CaseRow) -> dict[str, Any]:
    return {
        "type": kind,
        "id": row.id,
        "channel_id": row.channel_id,
        "state": row.state,
        "created_at": row.created_at,
        "subject": row.subject,
        "agent_id": row.agent_id,
    }


async def _names(session: AsyncSession, items: list[dict[str, Any]]) -> None:
    """Add the agents' and wrap-up codes' display names."""
    agent_ids = {e["agent_id"] for e in items if e["agent_id"]}
    code_ids = {e["wrap_up_code_id"] for e in items if e["wrap_up_code_id"]}
    a, w = t.AgentRow, t.WrapUpCodeRow
    agent_rows = await session.execute(select(a.id, a.name).where(a.id.in_(agent_ids)))
    code_rows = await session.execute(select(w.id, w.name).where(w.id.in_(code_ids)))
    agents: dict[str, str] = {row.id: row.name for row in agent_rows}
    codes: dict[str, str] = {row.id: row.name for row in code_rows}
    for e in items:
        e["agent_name"] = agents.get(e["agent_id"]) if e["agent_id"] else None
        e["wrap_up_code_name"] = codes.get(e["wrap_up_code_id"]) if e["wrap_up_code_id"] else None
