"""Signed provider events with out-of-range terms or absurd nesting get a 4xx, never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omniroute.spokes import signing
from tests.api.assertions import error
from tests.calls.conftest import SECRET, SPOKE, Calls


async def offered(calls: Calls, **data: Any) -> httpx.Response:
    """A signed work_offered for a new chat in the provider's queue, to alice."""
    r = await calls.api.client.post(
        "/interactions",
        json={"channel_id": "voice", "queue_id": "phones"},
        headers=calls.api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    event = {
        "schema_version": 1,
        "id": f"ev-{r.json()['id']}",
        "type": "work_offered",
        "data": {
            "provider_agent_id": "P-alice",
            "external_segment_id": f"seg-{r.json()['id']}",
            "document_id": r.json()["id"],
        }
        | data,
    }
    return await calls.inbound(event)


async def offers(calls: Calls) -> list[Any]:
    r = await calls.api.client.get("/agents/alice/offers", headers=calls.api.auth("alice"))
    assert r.status_code == 200, r.text
    found: list[Any] = r.json()
    return found


@pytest.mark.parametrize("timeout", [1e308, 1e12, 2.0**31])
async def test_work_offered_with_an_absurd_timeout_is_invalid(calls: Calls, timeout: float) -> None:
    error(await offered(calls, timeout=timeout), 422, "INVALID_TIMEOUT", "timeout")
    assert await offers(calls) == []


@pytest.mark.parametrize("timeout", [float("nan"), float("inf")])
async def test_work_offered_with_a_non_finite_timeout_is_refused(
    calls: Calls, timeout: float
) -> None:
    # NaN and Infinity are not JSON at all.
    err = error(await offered(calls, timeout=timeout), 422, "VALIDATION_ERROR")
    assert "not JSON" in err["message"]
    assert await offers(calls) == []


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_work_offered_at_an_absurd_time_is_invalid(calls: Calls, at: str) -> None:
    r = await offered(calls, occurred_at=at, timeout=30)
    error(r, 422, "INVALID_OFFERED_AT", "occurred_at")
    assert await offers(calls) == []


async def test_a_deeply_nested_signed_body_is_refused(calls: Calls) -> None:
    depth = 200_000
    body = ("[" * depth + "]" * depth).encode()
    headers = signing.sign(SECRET, body) | {"Content-Type": "application/json"}
    r = await calls.api.client.post(f"/spokes/{SPOKE}/events", content=body, headers=headers)
    err = error(r, 422, "VALIDATION_ERROR", "body")
    assert "deep" in err["message"]
    r = await offered(calls, timeout=30)
    assert r.status_code == 200, r.text
    assert [o["agent_id"] for o in await offers(calls)] == ["alice"]
