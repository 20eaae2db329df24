"""Alembic environment: runs the migrations on SQLite or PostgreSQL, async or sync drivers."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection, create_engine, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from omniroute.store import search_ddl
from omniroute.store.tables import Base, UTCDateTime

# Arbitrary constant naming the migration lock in PostgreSQL.
MIGRATION_LOCK_KEY = 0x6F6D6E69_6D696772
config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL given by `omniroute.store.migrate` (or `sqlalchemy.url`)."""
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        msg = "no database URL given to the migrations"
        raise RuntimeError(msg)
    return str(url)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the store's UTCDateTime as the column type it creates."""
    # Migrations must not import tables.py, which keeps changing after they are written.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def options(dialect_name: str) -> dict[str, Any]:
    """Options shared by offline and online runs."""
    return {
        "target_metadata": target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
        "compare_type": True,
        "include_name": search_ddl.include_name,
    }


def run_migrations_offline() -> None:
    """Emit the migration SQL without a database connection."""
    url = database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **options(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one open connection."""
    context.configure(connection=connection, **options(connection.dialect.name))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Nodes started at once migrate one after another; the later ones find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    """Run the migrations through an async engine."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Run the migrations against the database."""
    url = database_url()
    if make_url(url).get_dialect().is_async:
        asyncio.run(run_async_migrations(url))
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            do_run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
