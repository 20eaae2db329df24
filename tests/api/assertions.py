"""Assertions shared by the API tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

ANY = object()


def when(value: str | None) -> datetime | None:
    """A datetime from its JSON form."""
    return None if value is None else datetime.fromisoformat(value)


def error(r: httpx.Response, status: int, code: str, field: object = ANY) -> dict[str, Any]:
    """Assert an error response of the stable shape and return its error object."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert set(err) == {"code", "message", "field"}
    assert err["code"] == code
    assert isinstance(err["message"], str)
    assert err["message"]
    if field is not ANY:
        assert err["field"] == field
    return err
