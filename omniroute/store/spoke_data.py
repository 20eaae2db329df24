"""The spoke store in the database: one `spoke_data` row per spoke instance and key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omniroute.spokes.store import MAX_VALUE_BYTES, SpokeStore, check_key, encoded
from omniroute.store import tables as t
from omniroute.store.db import Database


class DatabaseSpokeStore(SpokeStore):
    """A spoke instance's values in the core's `spoke_data` table, through the core's engine."""

    def __init__(self, db: Database, spoke: str, max_value_bytes: int = MAX_VALUE_BYTES) -> None:
        super().__init__(spoke, max_value_bytes)
        self.db = db

    async def read(self, key: str) -> tuple[int, Any] | None:
        """The (version, value) under a key, or None."""
        async with self.db.session() as session:
            row = await session.get(t.SpokeDataRow, (self.spoke, key))
            return None if row is None else (row.version, json.loads(row.data))

    async def write(self, key: str, version: int, data: Any) -> None:
        """Insert or replace the value in one statement, so concurrent writers cannot collide."""
        text = encoded(data, self.max_value_bytes)
        fields = {"version": version, "data": text, "updated_at": datetime.now(UTC)}
        make = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        stmt = make(t.SpokeDataRow).values(spoke=self.spoke, key=check_key(key), **fields)
        stmt = stmt.on_conflict_do_update(index_elements=["spoke", "key"], set_=fields)
        async with self.db.session() as session, session.begin():
            await session.execute(stmt)

    async def remove(self, key: str) -> None:
        """Forget a key."""
        table = t.SpokeDataRow
        async with self.db.session() as session, session.begin():
            await session.execute(delete(table).where(table.spoke == self.spoke, table.key == key))

    async def read_prefix(self, prefix: str) -> dict[str, tuple[int, Any]]:
        """Every key of this spoke starting with `prefix`, in key order."""
        table = t.SpokeDataRow
        query = (
            select(table)
            .where(table.spoke == self.spoke, table.key.startswith(prefix, autoescape=True))
            .order_by(table.key)
        )
        async with self.db.session() as session:
            rows = (await session.scalars(query)).all()
        return {row.key: (row.version, json.loads(row.data)) for row in rows}
