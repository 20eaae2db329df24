"""Database engine and session factory for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def sqlite_pragmas(dbapi_conn: Any, _record: Any = None) -> None:
    """Set up a new SQLite connection: WAL, durable against a process crash, foreign keys."""
    cursor = dbapi_conn.cursor()
    # WAL keeps committed transactions across a process kill and lets readers run beside
    # the single writer; NORMAL sync is durable against process crashes in WAL mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 64 MiB of page cache keeps the hot B-tree pages of 100k-item queues in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def pg_session_settings(idle_tx_timeout_s: float | None) -> dict[str, str]:
    """PostgreSQL settings that free a dead or frozen node's locks in seconds, not hours."""
    settings = {
        # The server probes a silent client after 5 s, every 2 s, and drops it after 3 misses.
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
    }
    if idle_tx_timeout_s is not None:
        # A paused process must not hold the lease row's lock inside an open transaction.
        settings["idle_in_transaction_session_timeout"] = str(int(idle_tx_timeout_s * 1000))
    return settings


class Database:
    """An async SQLAlchemy engine with its session factory."""

    def __init__(
        self,
        url: str,
        *,
        idle_tx_timeout_s: float | None = None,
        load_idle_tx_timeout_s: float = 120.0,
    ) -> None:
        self.url = url
        # A full load of the engine state pauses between its queries to build objects (seconds
        # at 100,000 items on a busy machine): its transaction may stay idle this long.
        self.load_idle_tx_timeout_s = load_idle_tx_timeout_s
        kwargs: dict[str, Any] = {}
        self._pg_settings = pg_session_settings(idle_tx_timeout_s)
        if url.startswith("postgresql"):
            kwargs["pool_size"] = 10
            kwargs["connect_args"] = {"server_settings": self._pg_settings}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def sqlite_file(self) -> str | None:
        """The path of a SQLite file database; None for PostgreSQL or an in-memory database."""
        url = self.engine.url
        database = url.database
        if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
            return None
        return None if database.startswith("file:") else database

    @property
    def dialect(self) -> str:
        """The backend name: `sqlite` or `postgresql`."""
        return self.engine.dialect.name

    async def driver_connection(self) -> asyncpg.Connection:
        """A PostgreSQL connection of its own, outside the pool, with the pool's settings."""
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn: asyncpg.Connection = await asyncpg.connect(
            dsn,
            timeout=5,
            server_settings=self._pg_settings,
            # A leader commit's statement runs in many shapes, each long: keep them prepared.
            max_cacheable_statement_size=1 << 20,
        )
        return conn

    def session(self) -> AsyncSession:
        """A new session."""
        return self.sessions()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
