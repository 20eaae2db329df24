"""Bounded request types: every number and text the API takes fits the engine and both stores."""

from __future__ import annotations

import math
import re
from datetime import datetime
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from omniroute.domain.bounds import EARLIEST, LATEST, MAX_CAPACITY, MAX_INT64, MAX_SECONDS
from omniroute.domain.errors import DomainError, ErrorCode

MAX_OFFSET = MAX_INT64
# Identifiers and references: longer ones can name nothing we store.
MAX_ID_CHARS = 200

Capacity = Annotated[int, Field(ge=0, le=MAX_CAPACITY)]
Seconds = Annotated[int, Field(ge=1, le=MAX_SECONDS)]
Ref = Annotated[str, Field(max_length=MAX_ID_CHARS)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
# An ISO 8601 date-time, not a number of seconds (which pydantic would also take).
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        msg = "must be an ISO 8601 date-time with an offset, e.g. 2026-01-01T10:00:00Z"
        raise ValueError(msg)
    return value


def _sane(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        msg = f"must lie between the years {EARLIEST.year} and {LATEST.year - 1}"
        raise ValueError(msg)
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_sane)]


def storable(value: Any, field: str) -> Any:
    """The value unchanged; VALIDATION_ERROR naming where a NUL or an unstorable number is."""
    found = _problem(value, field, nested=False)
    if found is not None:
        where, message = found
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{where}: {message}", where)
    return value


def check_scalar(annotation: Any, value: Any, where: str) -> None:
    """VALIDATION_ERROR for JSON that would be coerced across types: true as 1, 0 as false."""
    plain = _unwrapped(annotation)
    if value is None:
        return
    if get_origin(plain) is dict and isinstance(value, dict):
        for key, element in value.items():
            check_scalar(get_args(plain)[1], element, f"{where}.{key}")
    elif plain is bool and not isinstance(value, bool):
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{where}: must be true or false", where)
    elif plain in (int, float) and isinstance(value, bool | str):
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{where}: must be a number", where)


def _unwrapped(annotation: Any) -> Any:
    """The type without Annotated metadata and without None in a union."""
    if get_origin(annotation) is Annotated:
        return _unwrapped(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        rest = [a for a in get_args(annotation) if a is not NoneType]
        return _unwrapped(rest[0]) if len(rest) == 1 else annotation
    return annotation


def accepts_null(annotation: Any) -> bool:
    """Whether a field's type allows null."""
    if get_origin(annotation) is Annotated:
        return accepts_null(get_args(annotation)[0])
    return get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation)


def _problem(value: Any, where: str, *, nested: bool) -> tuple[str, str] | None:
    if isinstance(value, str):
        return (where, "must not contain NUL characters (\\u0000)") if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (
            None if -MAX_INT64 <= value <= MAX_INT64 else (where, f"must lie within ±{MAX_INT64}")
        )
    # A top-level number field checks its own range (and answers its own error code).
    if isinstance(value, float) and nested and not math.isfinite(value):
        return where, "must be a finite number"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _problem(key, where, nested=True) or _problem(
                item, f"{where}.{key}", nested=True
            )
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for n, item in enumerate(value):
            if (found := _problem(item, f"{where}.{n}", nested=True)) is not None:
                return found
    return None


def parse_since(raw: object) -> int:
    """A replay position: ASCII digits up to MAX_INT64 (None or "" is 0); else ValueError."""
    if raw is None or raw == "":
        return 0
    text = str(raw)
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_INT64))):
        msg = f"since must be a sequence number from 0 to {MAX_INT64}"
        raise ValueError(msg)
    value = int(text)
    if value > MAX_INT64:
        msg = f"since must be a sequence number from 0 to {MAX_INT64}"
        raise ValueError(msg)
    return value
