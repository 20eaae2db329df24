"""Typed rows: each one a command can insert has one table with a column for each field."""

from __future__ import annotations

from dataclasses import fields
from typing import get_args

from omniroute.core.rows import NewRow
from omniroute.engine.flush import ROW_TABLES


def test_every_typed_row_has_its_table() -> None:
    kinds = set(get_args(NewRow))
    assert kinds == set(ROW_TABLES)
    for kind, model in ROW_TABLES.items():
        columns = set(model.__table__.columns.keys())
        missing = {f.name for f in fields(kind)} - columns
        assert not missing, f"{kind.__name__} has fields {missing} that {model.__name__} lacks"
