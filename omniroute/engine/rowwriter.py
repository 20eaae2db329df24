"""Batched INSERTs and UPDATEs by primary key, with a direct DB-API path on SQLite.

The SQLite statements are built as plain SQL and parameters (`sqlite_inserts`, ...), so the
engine can run a whole batch's on its own connection in one call (`sqlite_writer.py`).

On SQLite the engine's write is dominated by SQLAlchemy's per-value type processing, so
there the statements are compiled once and the values converted here, exactly as
SQLAlchemy's SQLite types store them (naive UTC text datetimes, 0/1 booleans, JSON text).
PostgreSQL keeps the Core path.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.store import tables as t

Converter = Callable[[Any], Any]


def _datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        msg = "naive datetime given to the store; use timezone-aware UTC"
        raise ValueError(msg)
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _boolean(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _converter(table: Table, column: str) -> Converter | None:
    kind = table.c[column].type
    if isinstance(kind, t.UTCDateTime):
        return _datetime
    if isinstance(kind, Boolean):
        return _boolean
    if isinstance(kind, JSON):
        return _json
    return None


def _cached(convert: Converter | None) -> Converter | None:
    """Memoise a datetime converter: a batch repeats the same few timestamps many times."""
    if convert is not _datetime:
        return convert
    memo: dict[datetime, str | None] = {}

    def cached(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = memo.get(value)
        if text is None:
            text = memo[value] = _datetime(value)
        return text

    return cached


def with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the Python-side column defaults SQLAlchemy would have applied."""
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is None or not hasattr(default, "arg"):
            continue
        arg = default.arg
        defaults[column.name] = arg(None) if callable(arg) else arg
    if not defaults:
        return rows
    return [{k: v for k, v in defaults.items() if k not in row} | row for row in rows]


def table_of(model: type[t.Base]) -> Table:
    """The Core table of a mapped class."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def shapes(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    # One executemany needs the same columns in every row.
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_shape[tuple(sorted(row))].append(row)
    return by_shape


# One SQL text and the parameters of each row it is run with (`executemany`).
Statement = tuple[str, list[tuple[Any, ...]]]


def _params(
    table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    plain = [(c, _cached(_converter(table, c))) for c in columns]
    return [tuple(row[c] if conv is None else conv(row[c]) for c, conv in plain) for row in rows]


def _marks(columns: tuple[str, ...]) -> tuple[str, str]:
    return ", ".join(f'"{c}"' for c in columns), ", ".join("?" for _ in columns)


def sqlite_inserts(model: type[t.Base], rows: list[dict[str, Any]]) -> list[Statement]:
    """SQLite INSERTs of `rows` (several shapes allowed), values converted as the ORM would."""
    table = table_of(model)
    out: list[Statement] = []
    for columns, shaped in shapes(with_defaults(table, rows)).items():
        names, marks = _marks(columns)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'  # noqa: S608 - names come from the table model
        out.append((sql, _params(table, columns, shaped)))
    return out


def sqlite_updates(model: type[t.Base], rows: Iterable[dict[str, Any]]) -> list[Statement]:
    """SQLite UPDATEs by `id` (several shapes allowed)."""
    table = table_of(model)
    out: list[Statement] = []
    for shape, shaped in shapes(rows).items():
        columns = tuple(c for c in shape if c != "id")
        sets = ", ".join(f'"{c}" = ?' for c in columns)
        sql = f'UPDATE "{table.name}" SET {sets} WHERE "id" = ?'  # noqa: S608 - names come from the table model
        out.append((sql, _params(table, (*columns, "id"), shaped)))
    return out


def sqlite_upserts(
    model: type[t.Base], key: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[Statement]:
    """SQLite INSERTs that update the given columns of a row whose `key` exists already.

    A new row gets the columns' defaults; an existing one keeps what the row does not give.
    """
    table = table_of(model)
    out: list[Statement] = []
    for given, shaped in shapes(rows).items():
        full = with_defaults(table, shaped)
        columns = tuple(sorted(full[0]))
        names, marks = _marks(columns)
        conflict = ", ".join(f'"{c}"' for c in key)
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in given if c not in key)
        action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
        sql = (
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}) '  # noqa: S608 - names come from the table model
            f"ON CONFLICT ({conflict}) {action}"
        )
        out.append((sql, _params(table, columns, full)))
    return out


class RowWriter:
    """Writes rows for one dialect."""

    def __init__(self, dialect: str) -> None:
        self._fast = dialect == "sqlite"

    async def insert(
        self, session: AsyncSession, model: type[t.Base], rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows (several shapes allowed)."""
        if self._fast:
            await _run(session, sqlite_inserts(model, rows))
            return
        table = table_of(model)
        for shaped in shapes(rows).values():
            await session.execute(insert(table), shaped)

    async def update(
        self, session: AsyncSession, model: type[t.Base], rows: Iterable[dict[str, Any]]
    ) -> None:
        """Update rows by their `id` (several shapes allowed)."""
        if self._fast:
            await _run(session, sqlite_updates(model, rows))
            return
        table = table_of(model)
        for shape, shaped in shapes(rows).items():
            columns = tuple(c for c in shape if c != "id")
            stmt = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in columns})
            )
            params = [{"_id": r["id"], **{c: r[c] for c in columns}} for r in shaped]
            await session.execute(stmt, params)


async def _run(session: AsyncSession, statements: list[Statement]) -> None:
    if not statements:
        return
    conn = await session.connection()
    for sql, params in statements:
        await conn.exec_driver_sql(sql, params)
