"""Values the store cannot hold: refused before they reach the engine's state."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import datetime
from enum import Enum

# The smallest integer column of the stores (PostgreSQL INTEGER) bounds every number.
STORE_INT_MAX = 2**31 - 1
STORE_INT_MIN = -(2**31)
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999


# Values with nothing inside them to check.
_LEAVES = (str, int, float, datetime, Enum)


def _scalar(value: object) -> str | None:
    if isinstance(value, str):
        return "remove the NUL character (\\u0000)" if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "give a finite number, not NaN or infinity"
        if not STORE_INT_MIN <= value <= STORE_INT_MAX:
            return f"give a number between {STORE_INT_MIN} and {STORE_INT_MAX}"
        return None
    if isinstance(value, datetime) and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return f"give a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
    return None


def unstorable(value: object, path: str = "") -> tuple[str, str] | None:
    """(where, what to fix) for the first value the store cannot hold, inside `value`; or None."""
    problem = _scalar(value)
    if problem is not None:
        return path, problem
    if value is None or isinstance(value, _LEAVES):
        # Most values are these: no need for the slower checks (a Mapping is an ABC) below.
        return None
    children: list[tuple[str, object]] = []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if (bad := _scalar(key)) is not None:
                return path, bad
            children.append((str(key), item))
    elif isinstance(value, list | tuple | set | frozenset):
        children = [(str(i), item) for i, item in enumerate(value)]
    for name, child in children:
        found = unstorable(child, f"{path}.{name}" if path else name)
        if found is not None:
            return found
    return None
