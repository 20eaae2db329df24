"""The leader's lease: one PostgreSQL row whose epoch fences every engine commit.

A node leads while the row names it and has not expired; taking the lead bumps `epoch`. Every
engine commit updates the row `WHERE epoch = <ours>` in its own transaction, so a commit from a
deposed leader (whose epoch was bumped by the new one) writes nothing. Expiry uses the
database's clock only, so the nodes' clocks never matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.engine.fence import Deposed
from omniroute.store.db import Database

LEASE_ROW = 1
# A standby trying to take over never waits long behind a commit holding the row.
LOCK_TIMEOUT = "1s"


@dataclass(frozen=True, slots=True)
class Term:
    """A node's period of leadership."""

    epoch: int
    since: datetime


@dataclass(frozen=True, slots=True)
class LeaseView:
    """The lease as the store holds it."""

    node_id: str | None
    epoch: int
    since: datetime | None
    live: bool


class LeaderLease:
    """Takes, renews, checks and gives back the lease for one node."""

    def __init__(self, db: Database, node_id: str, lease_s: float) -> None:
        self.db = db
        self.node_id = node_id
        self.lease_s = lease_s

    async def ensure_row(self) -> None:
        """Create the lease row if the database has none yet."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO cluster_lease (id, node_id, epoch, since, expires_at) "
                    "VALUES (:id, NULL, 0, NULL, now()) ON CONFLICT (id) DO NOTHING"
                ),
                {"id": LEASE_ROW},
            )

    async def try_acquire(self) -> Term | None:
        """Take the lease if it is free or expired (or already ours); None if another holds it."""
        async with self.db.session() as session, session.begin():
            await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            row = (
                await session.execute(
                    text(
                        "UPDATE cluster_lease SET node_id = :me, epoch = epoch + 1, since = now(), "
                        "expires_at = now() + make_interval(secs => :ttl) "
                        "WHERE id = :id AND (node_id IS NULL OR node_id = :me "
                        "OR expires_at < now()) RETURNING epoch, since"
                    ),
                    {"me": self.node_id, "ttl": self.lease_s, "id": LEASE_ROW},
                )
            ).first()
        return None if row is None else Term(int(row[0]), row[1])

    async def fence(self, session: AsyncSession, epoch: int) -> None:
        """Inside a commit's transaction: renew the lease if it is still ours, else `Deposed`."""
        renewed = (
            await session.execute(
                text(
                    "UPDATE cluster_lease SET expires_at = now() + make_interval(secs => :ttl) "
                    "WHERE id = :id AND epoch = :epoch AND node_id = :me RETURNING epoch"
                ),
                {"ttl": self.lease_s, "id": LEASE_ROW, "epoch": epoch, "me": self.node_id},
            )
        ).first()
        if renewed is None:
            raise Deposed(epoch)

    async def renew(self, epoch: int) -> None:
        """Extend the lease of a term; `Deposed` if another node took it."""
        async with self.db.session() as session, session.begin():
            await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            await self.fence(session, epoch)

    async def release(self, epoch: int) -> None:
        """Let the lease expire now, so a standby takes over without waiting."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                text(
                    "UPDATE cluster_lease SET expires_at = now() "
                    "WHERE id = :id AND epoch = :epoch AND node_id = :me"
                ),
                {"id": LEASE_ROW, "epoch": epoch, "me": self.node_id},
            )

    async def view(self) -> LeaseView:
        """Who leads, since when, and whether the lease is still live."""
        async with self.db.session() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT node_id, epoch, since, expires_at >= now() FROM cluster_lease "
                        "WHERE id = :id"
                    ),
                    {"id": LEASE_ROW},
                )
            ).first()
        if row is None:
            return LeaseView(None, 0, None, live=False)
        return LeaseView(row[0], int(row[1]), row[2], live=bool(row[3]) and row[0] is not None)
