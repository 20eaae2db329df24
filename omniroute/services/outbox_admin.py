"""Operator views and actions on the outbox: list, retry and discard routing events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.outbound import OutboxState
from omniroute.store import tables as t

# Not in OutboxState yet: an operator gave up on the event; never sent, it blocks nothing.
DISCARDED = OutboxState.DISCARDED.value
STATES = (OutboxState.PENDING.value, OutboxState.DEAD.value, OutboxState.DELIVERED.value, DISCARDED)
UNDELIVERED = (OutboxState.PENDING.value, OutboxState.DEAD.value)


@dataclass(frozen=True, slots=True)
class OutboxView:
    """One outbox event as an operator sees it."""

    seq: int
    id: str
    spoke: str
    ordering_key: str
    type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    blocked_by: int | None
    payload: dict[str, Any]


async def _dead_heads(session: AsyncSession, keys: set[str]) -> dict[str, int]:
    ev = t.OutboxEventRow
    if not keys:
        return {}
    rows = await session.execute(
        select(ev.ordering_key, func.min(ev.seq))
        .where(ev.state == OutboxState.DEAD.value, ev.ordering_key.in_(keys))
        .group_by(ev.ordering_key)
    )
    return dict(rows.all())


async def list_events(
    session: AsyncSession,
    *,
    state: str | None = None,
    spoke: str | None = None,
    ordering_key: str | None = None,
    limit: int = 100,
) -> list[OutboxView]:
    """Events of one state (pending and dead when none is given), oldest first when undelivered."""
    ev = t.OutboxEventRow
    states = UNDELIVERED if state is None else (state,)
    query = select(ev).where(ev.state.in_(states))
    if spoke is not None:
        query = query.where(ev.spoke == spoke)
    if ordering_key is not None:
        query = query.where(ev.ordering_key == ordering_key)
    newest_first = state in (OutboxState.DELIVERED.value, DISCARDED)
    query = query.order_by(ev.seq.desc() if newest_first else ev.seq).limit(limit)
    rows = (await session.scalars(query)).all()
    undelivered = {r.ordering_key for r in rows if r.state in UNDELIVERED}
    dead = await _dead_heads(session, undelivered)
    return [view(r, dead) for r in rows]


def view(row: t.OutboxEventRow, dead_heads: dict[str, int]) -> OutboxView:
    """An event's view; `blocked_by` is the oldest dead event of its key that precedes it."""
    blocked_by = None
    if row.state in UNDELIVERED:
        head = dead_heads.get(row.ordering_key)
        if head is not None and head < row.seq:
            blocked_by = head
    pending = row.state == OutboxState.PENDING.value
    return OutboxView(
        seq=row.seq,
        id=row.id,
        spoke=row.spoke,
        ordering_key=row.ordering_key,
        type=row.type,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if pending else None,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        blocked_by=blocked_by,
        payload=dict(row.payload),
    )


async def one(session: AsyncSession, ref: str | int) -> OutboxView:
    """One event by seq or id, with its `blocked_by`."""
    row = await find(session, ref)
    return view(row, await _dead_heads(session, {row.ordering_key}))


async def find(session: AsyncSession, ref: str | int) -> t.OutboxEventRow:
    """An event by its seq (digits) or its id."""
    ev = t.OutboxEventRow
    if isinstance(ref, int) or ref.isdigit():
        row = await session.get(ev, int(ref), populate_existing=True)
    else:
        row = await session.scalar(select(ev).where(ev.id == ref))
    if row is None:
        raise NotFoundError("outbox event", str(ref))
    return row


async def retry(session: AsyncSession, ref: str | int, now: datetime) -> t.OutboxEventRow:
    """Send a dead event again (a fresh series of attempts), or a pending one now."""
    row = await find(session, ref)
    if row.state == OutboxState.DEAD.value:
        row.state = OutboxState.PENDING.value
        row.attempts = 0
    elif row.state != OutboxState.PENDING.value:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"outbox event {row.seq} is {row.state}; only pending or dead events can be retried",
        )
    row.next_attempt_at = now
    return row


async def retry_dead(session: AsyncSession, now: datetime, spoke: str | None = None) -> int:
    """Send every dead event (of one spoke) again; how many."""
    ev = t.OutboxEventRow
    stmt = update(ev).where(ev.state == OutboxState.DEAD.value)
    if spoke is not None:
        stmt = stmt.where(ev.spoke == spoke)
    result = await session.execute(
        stmt.values(state=OutboxState.PENDING.value, attempts=0, next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def retry_spoke_now(session: AsyncSession, spoke: str, now: datetime) -> int:
    """Make a spoke's waiting events due now (its configuration changed); how many."""
    ev = t.OutboxEventRow
    result = await session.execute(
        update(ev)
        .where(ev.spoke == spoke, ev.state == OutboxState.PENDING.value, ev.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def discard(session: AsyncSession, ref: str | int) -> t.OutboxEventRow:
    """Give up on a dead or pending event: never sent, no longer blocking its key."""
    row = await find(session, ref)
    if row.state not in UNDELIVERED:
        raise DomainError(
            ErrorCode.INVALID_STATE_TRANSITION,
            f"outbox event {row.seq} is {row.state}; only pending or dead events can be discarded",
        )
    row.state = DISCARDED
    return row


async def counts(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Events per spoke and state."""
    ev = t.OutboxEventRow
    rows = await session.execute(
        select(ev.spoke, ev.state, func.count()).group_by(ev.spoke, ev.state)
    )
    out: dict[str, dict[str, int]] = {}
    for spoke, state, count in rows:
        out.setdefault(spoke, {})[state] = count
    return out
