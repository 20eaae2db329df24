"""Ranges every number and instant must fall in before it reaches the engine or the store."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from omniroute.domain.errors import DomainError, ErrorCode

MAX_INT64 = 2**63 - 1
# About 68 years: the longest duration a timer, a timeout or a wait may have.
MAX_SECONDS = 2**31 - 1
MAX_CAPACITY = 10_000
# Instants outside these years are refused before any arithmetic could overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def check_timeout(value: float | None, field: str = "timeout") -> float | None:
    """Seconds that are finite, positive and at most MAX_SECONDS; else INVALID_TIMEOUT."""
    if value is None:
        return None
    if isinstance(value, bool) or not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise DomainError(
            ErrorCode.INVALID_TIMEOUT,
            f"{field} must be a positive number of seconds, at most {MAX_SECONDS}",
            field,
        )
    return float(value)


def check_instant(value: datetime, code: ErrorCode, field: str) -> datetime:
    """An aware instant between EARLIEST and LATEST, in UTC; else `code` naming `field`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainError(code, f"{field} needs a UTC offset, e.g. 2026-01-01T10:00:00Z", field)
    # Comparing aware values never overflows; converting year 1 at +14:00 to UTC would.
    if not EARLIEST <= value < LATEST:
        raise DomainError(
            code,
            f"{field} must lie between {EARLIEST.year} and {LATEST.year - 1} (UTC)",
            field,
        )
    return value.astimezone(UTC)
