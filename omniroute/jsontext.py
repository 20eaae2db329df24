"""Strict JSON parsing for untrusted text: bounded nesting, finite numbers, ValueError only."""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        msg = f"number {text[:40]} is out of range"
        raise ValueError(msg)
    return value


def _constant(name: str) -> Any:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def loads(data: str | bytes) -> Any:
    """The parsed value; ValueError for malformed, too deeply nested or non-finite input."""
    try:
        return json.loads(data, parse_float=_finite, parse_constant=_constant)
    except RecursionError as err:
        # The C scanner stops at the interpreter's recursion limit (about 1,000 levels).
        msg = "JSON nested too deeply"
        raise ValueError(msg) from err
