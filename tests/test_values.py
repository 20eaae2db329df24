"""What the store can hold: the check every command passes at the engine's door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from omniroute.domain.values import unstorable


@dataclass(frozen=True)
class Inner:
    note: str
    count: int = 0


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("a\x00b", ""),
        (float("nan"), ""),
        (float("inf"), ""),
        (2**31, ""),
        (-(2**31) - 1, ""),
        (1e300, ""),
        (datetime(1, 1, 1, tzinfo=UTC), ""),
        (datetime(9999, 12, 31, tzinfo=UTC), ""),
        ({"k": ["ok", "x\x00"]}, "k.1"),
        ({"a\x00": 1}, ""),
        (("fine", float("-inf")), "1"),
        (Inner("ok", 2**40), "count"),
        ({"inner": Inner("\x00")}, "inner.note"),
    ],
)
def test_refused(value: object, where: str) -> None:
    found = unstorable(value)
    assert found is not None
    assert found[0] == where
    assert found[1]


@pytest.mark.parametrize(
    "value",
    ["", "héllo\n\t", 0, 2**31 - 1, -(2**31), 1.5, True, None, datetime.now(UTC), {"k": [1, "v"]}],
)
def test_accepted(value: object) -> None:
    assert unstorable(value) is None
