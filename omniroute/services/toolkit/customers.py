"""Customer records: name, email addresses (each belongs to one customer), phone, attributes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.routing import new_id
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.store import tables as t

HISTORY_LIMIT = 100


def normalise(emails: list[str]) -> list[str]:
    """Lower-case addresses, each once, in the order given."""
    return list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))


async def get(session: AsyncSession, customer_id: str) -> t.CustomerRow:
    """One customer, or NOT_FOUND."""
    row = await session.get(t.CustomerRow, customer_id, populate_existing=True)
    if row is None:
        raise NotFoundError("customer", customer_id, "customer_id")
    return row


async def by_email(session: AsyncSession, email: str) -> t.CustomerRow | None:
    """The customer who has this address, if any."""
    ce = t.CustomerEmailRow
    customer_id = await session.scalar(
        select(ce.customer_id).where(ce.email == email.strip().lower())
    )
    return await get(session, customer_id) if customer_id is not None else None


async def _claim(session: AsyncSession, customer_id: str, emails: list[str]) -> None:
    ce = t.CustomerEmailRow
    taken = await session.scalar(
        select(ce.email).where(ce.email.in_(emails), ce.customer_id != customer_id).limit(1)
    )
    if taken is not None:
        raise DomainError(
            ErrorCode.CONFLICT, f"'{taken}' belongs to another customer already", "emails"
        )
    await session.execute(delete(ce).where(ce.customer_id == customer_id))
    session.add_all(t.CustomerEmailRow(email=e, customer_id=customer_id) for e in emails)


async def create(session: AsyncSession, fields: dict[str, Any], now: datetime) -> t.CustomerRow:
    """Store a new customer and claim its addresses."""
    emails = normalise(fields.get("emails", []))
    row = t.CustomerRow(
        id=new_id(),
        name=fields.get("name", ""),
        emails=emails,
        phone=fields.get("phone", ""),
        attributes=fields.get("attributes", {}),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await _claim(session, row.id, emails)
    await session.commit()
    return row


async def update(
    session: AsyncSession, row: t.CustomerRow, fields: dict[str, Any], now: datetime
) -> t.CustomerRow:
    """Change the given fields; a new address list replaces the old one."""
    if "emails" in fields:
        fields["emails"] = normalise(fields["emails"])
        await _claim(session, row.id, fields["emails"])
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at = now
    await session.commit()
    return row


async def history(session: AsyncSession, row: t.CustomerRow) -> list[dict[str, Any]]:
    """Every interaction and case with one of the customer's addresses, newest first."""
    if not row.emails:
        return []
    i, c = t.InteractionRow, t.CaseRow
    interactions = await session.scalars(
        select(i)
        .where(func.lower(i.customer_email).in_(row.emails))
        .order_by(i.created_at.desc())
        .limit(HISTORY_LIMIT)
    )
    cases = await session.scalars(
        select(c)
        .where(func.lower(c.customer_email).in_(row.emails))
        .order_by(c.created_at.desc())
        .limit(HISTORY_LIMIT)
    )
    items = [_entry("interaction", r) for r in interactions]
    items += [_entry("case", r) | {"reference": f"CS-{r.number}"} for r in cases]
    items.sort(key=lambda e: (e["created_at"], e["id"]), reverse=True)
    return items[:HISTORY_LIMIT]


def _entry(kind: str, row: t.InteractionRow | t.CaseRow) -> dict[str, Any]:
    return {
        "type": kind,
        "id": row.id,
        "channel_id": row.channel_id,
        "state": row.state,
        "subject": row.subject,
        "agent_id": row.agent_id,
        "created_at": row.created_at,
        "reference": None,
    }
