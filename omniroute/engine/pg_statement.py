"""A batch's writes as one PostgreSQL statement: a data-modifying CTE per table and shape.

Each CTE reads its rows from arrays (`unnest`, one array parameter per column), so a batch of
any size is one round trip with a handful of parameters. Every CTE also reads a guard CTE
(at most one row), so the whole statement writes nothing when the guard finds no row.
"""

from __future__ import annotations

from collections.abc import Callable
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
        rows = write.rows if write.kind == "update" else with_defaults(table, write.rows)
        for shape, shaped in shapes(rows).items():
            columns = tuple(c for c in shape if c != "id") if write.kind == "update" else shape
            names = ("id", *columns) if write.kind == "update" else columns
            source = self._unnest(table, names, shaped)
            quoted = [_quote(c) for c in columns]
            picked = ", ".join(f"v.{c}" for c in quoted)
            target = _quote(table.name)
            if write.kind == "update":
                sets = ", ".join(f"{c} = v.{c}" for c in quoted)
                body = f'UPDATE {target} SET {sets} FROM {source} WHERE {target}."id" = v."id"'  # noqa: S608 - names come from the table model
            else:
                body = f"INSERT INTO {target} ({', '.join(quoted)}) SELECT {picked} FROM {source}"  # noqa: S608 - names come from the table model
                if write.kind == "upsert":
                    body += self._on_conflict(write.key, columns)
            self.cte(f"w{len(self._ctes)}", body)

    def _unnest(self, table: Table, names: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
        arrays = []
        for name in names:
            cast, bind = _column(self._dialect, table.c[name])
            values = [row[name] for row in rows]
            if bind is not None:
                values = [bind(value) for value in values]
            arrays.append(f"CAST({self.param(values)} AS {cast})")
        aliases = ", ".join(_quote(n) for n in names)
        return f"{self._guard}, unnest({', '.join(arrays)}) AS v({aliases})"

    @staticmethod
    def _on_conflict(key: tuple[str, ...], columns: tuple[str, ...]) -> str:
        target = ", ".join(_quote(c) for c in key)
        sets = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in columns if c not in key)
        return f" ON CONFLICT ({target}) " + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
