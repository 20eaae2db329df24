"""Claims on the outbox's ordering keys, so two nodes never deliver events of one key at once.

A node claims a key (a row of `outbox_claims` with an expiry, taken only if free, expired or
already its own) before delivering the key's head event, renews its claims while deliveries
run, and gives them back in the transaction that stores the outcomes. A node that dies holds
its keys until the claims expire.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.store.db import Database

CLAIM_S = 60.0


class OutboxClaims:
    """One node's claims on ordering keys (PostgreSQL)."""

    def __init__(self, db: Database, node_id: str, claim_s: float = CLAIM_S) -> None:
        self._db = db
        self.node_id = node_id
        self.claim_s = claim_s

    async def claim(self, session: AsyncSession, key: str) -> bool:
        """Take the key if no other node holds a live claim on it."""
        row = (
            await session.execute(
                text(
                    "INSERT INTO outbox_claims (ordering_key, node_id, expires_at) "
                    "VALUES (:k, :me, now() + make_interval(secs => :ttl)) "
                    "ON CONFLICT (ordering_key) DO UPDATE SET node_id = :me, "
                    "expires_at = now() + make_interval(secs => :ttl) "
                    "WHERE outbox_claims.expires_at < now() OR outbox_claims.node_id = :me "
                    "RETURNING ordering_key"
                ),
                {"k": key, "me": self.node_id, "ttl": self.claim_s},
            )
        ).first()
        return row is not None

    async def renew(self, keys: Iterable[str]) -> None:
        """Extend the claims on keys still being delivered."""
        held = list(keys)
        if not held:
            return
        async with self._db.session() as session, session.begin():
            await session.execute(
                text(
                    "UPDATE outbox_claims SET expires_at = now() + make_interval(secs => :ttl) "
                    "WHERE node_id = :me AND ordering_key = ANY(:keys)"
                ),
                {"ttl": self.claim_s, "me": self.node_id, "keys": held},
            )

    async def release(self, session: AsyncSession, keys: Iterable[str]) -> None:
        """Give keys back (in the transaction that stores their outcomes)."""
        held = list(keys)
        if held:
            await session.execute(
                text("DELETE FROM outbox_claims WHERE node_id = :me AND ordering_key = ANY(:keys)"),
                {"me": self.node_id, "keys": held},
            )
