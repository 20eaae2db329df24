"""The audit log: who changed what and when, written in the transaction of the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.store import tables as t

# Fields whose values never go into the log.
SECRET_FIELDS = frozenset({"password", "password_hash", "token", "token_hash", "secret"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: the token (or signed-in agent) and its role."""

    id: str
    role: str


def redacted(details: dict[str, Any]) -> dict[str, Any]:
    """The details with secret values replaced."""
    return {k: ("***" if k in SECRET_FIELDS else v) for k, v in details.items()}


def record(  # noqa: PLR0917 - one entry's fields
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: tuple[str, str],
    details: dict[str, Any],
    at: datetime,
) -> None:
    """Add one entry to the session; it commits with the change it describes."""
    session.add(
        t.AuditRow(
            at=at,
            actor=actor.id,
            role=actor.role,
            action=action,
            target_type=target[0],
            target_id=target[1],
            details=redacted(details),
        )
    )


async def purge(session: AsyncSession, now: datetime, retention_days: int, most: int) -> int:
    """Delete at most `most` of the oldest entries past the retention; how many went.

    It runs in the transaction of an audited change, so it is bounded; housekeeping
    (`services/housekeeping.py`) deletes a larger backlog in batches of their own.
    """
    a = t.AuditRow
    cutoff = now - timedelta(days=retention_days)
    oldest = select(a.id).where(a.at < cutoff).order_by(a.at).limit(most).scalar_subquery()
    result = await session.execute(delete(a).where(a.id.in_(oldest)))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to list: a time range, an actor, an action, a target; newest first."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    limit: int = 100
    before_id: int | None = None


async def entries(session: AsyncSession, f: AuditFilter) -> list[t.AuditRow]:
    """Entries matching the filter, newest first."""
    a = t.AuditRow
    query = select(a)
    if f.since is not None:
        query = query.where(a.at >= f.since)
    if f.until is not None:
        query = query.where(a.at < f.until)
    for column, value in (
        (a.actor, f.actor),
        (a.action, f.action),
        (a.target_type, f.target_type),
        (a.target_id, f.target_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.before_id is not None:
        query = query.where(a.id < f.before_id)
    rows = await session.scalars(query.order_by(a.id.desc()).limit(f.limit))
    return list(rows.all())
