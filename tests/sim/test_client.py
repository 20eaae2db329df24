"""The simulator's HTTP client: retries, results and signed inbound events."""

from __future__ import annotations

import json

import httpx
import pytest

from omniroute.sim.client import CONNECTION_ERROR, ApiResult, OmnirouteClient, RetryPolicy
from omniroute.spokes.signing import verify
from tests.sim.conftest import SECRET


def _client(
    handler: httpx.MockTransport, sleeps: list[float], attempts: int = 3
) -> OmnirouteClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return OmnirouteClient(
        base_url="http://omniroute.test/",
        token="tok",
        secret=SECRET,
        spoke="my-spoke",
        http=httpx.AsyncClient(transport=handler),
        retry=RetryPolicy(attempts=attempts, base_s=1.0, cap_s=1.5, jitter=0.0),
        sleep=sleep,
    )


async def test_connection_errors_are_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"offer_id": "o1"})

    sleeps: list[float] = []
    client = _client(httpx.MockTransport(handler), sleeps)
    result = await client.work_offer({"work_item_id": "w1"}, "key-1")
    await client.aclose()
    assert result.ok
    assert result.attempts == 3
    assert result.statuses == (0, 0, 201)
    assert sleeps == [1.0, 1.5]
    assert str(calls[0].url) == "http://omniroute.test/api/v1/work-offers"
    assert all(c.headers["idempotency-key"] == "key-1" for c in calls)
    assert json.loads(calls[0].content) == {"work_item_id": "w1"}


async def test_giving_up_reports_the_last_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = _client(httpx.MockTransport(handler), [], attempts=2)
    result = await client.work_offer({}, "k")
    await client.aclose()
    assert not result.ok
    assert result.status == 0
    assert result.error_code == CONNECTION_ERROR
    assert result.statuses == (0, 0)


async def test_4xx_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        body = {"error": {"code": "AGENT_NOT_AVAILABLE", "message": "m", "field": "agent_id"}}
        return httpx.Response(409, json=body)

    client = _client(httpx.MockTransport(handler), [])
    result = await client.work_offer({}, "k")
    await client.aclose()
    assert len(calls) == 1
    assert result.error_code == "AGENT_NOT_AVAILABLE"
    assert result.error_field == "agent_id"


def test_error_codes_of_odd_answers() -> None:
    assert ApiResult(200, {}, 1).error_code is None
    assert ApiResult(502, {"raw": "<html>"}, 1).error_code == "HTTP_502"
    assert ApiResult(409, {"error": "text"}, 1).error_field is None


async def test_inbound_events_are_signed_and_re_signed_on_retry() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        verify(SECRET, request.headers, request.content)
        if len(calls) == 1:
            return httpx.Response(503)
        return httpx.Response(200, json={"events": [{"outcome": "applied"}]})

    client = _client(httpx.MockTransport(handler), [])
    result = await client.send_event("agent_presence", {"provider_agent_id": "p1"}, "ev-1")
    await client.aclose()
    assert result.ok
    assert result.statuses == (503, 200)
    assert str(calls[0].url) == "http://omniroute.test/api/v1/spokes/my-spoke/events"
    assert "authorization" not in calls[0].headers
    envelope = json.loads(calls[1].content)
    assert envelope == {
        "schema_version": 1,
        "id": "ev-1",
        "type": "agent_presence",
        "data": {"provider_agent_id": "p1"},
    }


@pytest.mark.parametrize(("retry", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (9, 3.0)])
def test_backoff_doubles_up_to_the_cap(retry: int, expected: float) -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=3.0, jitter=0.0)
    assert policy.delay(retry) == expected
    jittered = RetryPolicy(base_s=0.5, cap_s=3.0, jitter=0.2).delay(retry)
    assert expected * 0.8 <= jittered <= expected * 1.2
