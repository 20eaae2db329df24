"""The engine lease: one routing engine per database, enforced by the store itself."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.store.db import Database

# An arbitrary constant naming Omniroute's advisory lock in PostgreSQL.
PG_LOCK_KEY = 0x0_6D_6E_69_72_6F_75_74


class EngineLease:
    """Held while an engine runs; a second engine on the same database is refused."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None
        self._fd: int | None = None

    async def acquire(self) -> None:
        """Take the lease or raise STORE_UNAVAILABLE naming the reason."""
        if self._db.dialect == "postgresql":
            conn = await self._db.engine.connect()
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
            if not got:
                await conn.close()
                raise _held()
            self._conn = conn
            return
        database = make_url(self._db.url).database
        if not database or database == ":memory:":
            return
        path = Path(f"{database}.engine-lock")
        # The lease is taken before migrations create the database, on a fresh checkout too.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(fd)
            raise _held() from err
        self._fd = fd

    async def release(self) -> None:
        """Give the lease back."""
        if self._conn is not None:
            await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            await self._conn.close()
            self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _held() -> DomainError:
    return DomainError(
        ErrorCode.STORE_UNAVAILABLE,
        "another Omniroute node already serves this database; a SQLite database has one node "
        "only: stop the other one, or run several nodes on PostgreSQL (docs/operations.md)",
    )
