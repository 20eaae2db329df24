"""A batch's writes as one PostgreSQL statement: a data-modifying CTE per table and shape.

Each CTE reads its rows from arrays (`unnest`, one array parameter per column), so a batch of
any size is one round trip with a handful of parameters. Every CTE also reads a guard CTE
(at most one row), so the whole statement writes nothing when the guard finds no row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column, String, Table
from sqlalchemy.engine import Dialect

from omniroute.engine.flush import Write
from omniroute.engine.rowwriter import shapes, table_of, with_defaults

Processor = Callable[[Any], Any] | None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@cache
def _column(dialect: Dialect, column: Column[Any]) -> tuple[str, Processor]:
    """A column's array type in a CAST, and how one value is bound (as SQLAlchemy binds it)."""
    kind = column.type
    # No length in the cast: the column itself refuses a value too long, as an INSERT would.
    name = "text" if isinstance(kind, String) else kind.compile(dialect=dialect)
    return f"{name}[]", kind.dialect_impl(dialect).bind_processor(dialect)


class OneStatement:
    """Builds `WITH <guard>, <writes...> SELECT ...` with positional (`$n`) parameters."""

    def __init__(self, dialect: Dialect, guard: str) -> None:
        self._dialect = dialect
        self._guard = guard
        self.params: list[Any] = []
        self._ctes: list[str] = []

    def param(self, value: Any) -> str:
        """A placeholder for `value`."""
        self.params.append(value)
        return f"${len(self.params)}"

    def cte(self, name: str, body: str) -> None:
        """Add a named CTE (the guard first)."""
        self._ctes.append(f"{name} AS ({body})")

    def sql(self, select: str) -> str:
        """The whole statement, ending with `select`."""
        return f"WITH {', '.join(self._ctes)} {select}"

    def write(self, write: Write) -> None:
        """Add one table's inserts, updates or upserts (one CTE per shape of row)."""
        table = table_of(write.model)
        for shape, shaped in shapes(write.rows).items():
            cte = _cte(self._dialect, self._guard, table, shape, kind=write.kind, key=write.key)
            # Column defaults fill what a new row lacks; an upsert updates only what was given.
            rows = shaped if write.kind == "update" else with_defaults(table, shaped)
            marks = []
            for name, bind in zip(cte.names, cte.binds, strict=True):
                values = [row[name] for row in rows]
                marks.append(self.param(values if bind is None else [bind(v) for v in values]))
            self.cte(f"w{len(self._ctes)}", cte.sql.format(*marks))


@dataclass(frozen=True, slots=True)
class _Cte:
    """One table write for one shape of row: the columns read from arrays, in order, and SQL."""

    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    # `{0}`, `{1}`, ...: the placeholders of the columns' arrays.
    sql: str


@cache
def _cte(
    dialect: Dialect,
    guard: str,
    table: Table,
    shape: tuple[str, ...],
    *,
    kind: str,
    key: tuple[str, ...],
) -> _Cte:
    target = _quote(table.name)
    if kind == "update":
        columns = tuple(c for c in shape if c != "id")
        names: tuple[str, ...] = ("id", *columns)
    else:
        defaulted = with_defaults(table, [dict.fromkeys(shape)])[0]
        names = tuple(c for c in defaulted if c not in shape) + shape
    casts = [_column(dialect, table.c[name]) for name in names]
    arrays = ", ".join(f"CAST({{{i}}} AS {cast})" for i, (cast, _) in enumerate(casts))
    aliases = ", ".join(_quote(n) for n in names)
    source = f"{guard}, unnest({arrays}) AS v({aliases})"
    if kind == "update":
        sets = ", ".join(f"{_quote(c)} = v.{_quote(c)}" for c in columns)
        sql = f'UPDATE {target} SET {sets} FROM {source} WHERE {target}."id" = v."id"'  # noqa: S608 - names come from the table model
    else:
        picked = ", ".join(f"v.{_quote(c)}" for c in names)
        sql = f"INSERT INTO {target} ({aliases}) SELECT {picked} FROM {source}"  # noqa: S608 - names come from the table model
        if kind == "upsert":
            sql += _on_conflict(key, shape)
    return _Cte(names, tuple(bind for _, bind in casts), sql)


def _on_conflict(key: tuple[str, ...], columns: tuple[str, ...]) -> str:
    target = ", ".join(_quote(c) for c in key)
    sets = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in columns if c not in key)
    return f" ON CONFLICT ({target}) " + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
