"""Genesys payload shapes checked with the official SDK's models: nothing unknown, nothing lost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PureCloudPlatformClientV2 import ApiClient

_CLIENT = ApiClient()


def _same(expected: Any, got: Any, where: str, problems: list[str]) -> None:
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            problems.append(f"{where or 'body'}: the model made {type(got).__name__} of an object")
            return
        for key, value in expected.items():
            if key not in got:
                problems.append(f"{where}{key}: not a field of the model (lost on load)")
            else:
                _same(value, got[key], f"{where}{key}.", problems)
        return
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            problems.append(f"{where.rstrip('.')}: the list changed on load")
            return
        for n, (a, b) in enumerate(zip(expected, got, strict=True)):
            _same(a, b, f"{where}[{n}].", problems)
        return
    if isinstance(expected, str) and isinstance(got, str) and expected != got:
        try:
            if datetime.fromisoformat(expected) == datetime.fromisoformat(got):
                return
        except ValueError:
            pass
    if expected != got:
        problems.append(f"{where.rstrip('.')}: {expected!r} came back as {got!r}")


def problems(model: str, data: Any) -> list[str]:
    """Why `data` does not load losslessly into the SDK's `model`; empty when it does."""
    try:
        loaded = _CLIENT._ApiClient__deserialize(data, model)
    except (ValueError, TypeError, AttributeError) as err:
        return [f"{model}: {err}"]
    found: list[str] = []
    _same(data, _CLIENT.sanitize_for_serialization(loaded), "", found)
    return [f"{model}: {p}" for p in found]
