"""Calls from the simulated platform to Omniroute: the Work Offer API and signed inbound events."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from omniroute.spokes.signing import sign

Sleep = Callable[[float], Awaitable[None]]
CONNECTION_ERROR = "CONNECTION_ERROR"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for 5xx answers and connection errors."""

    attempts: int = 5
    base_s: float = 0.2
    cap_s: float = 5.0
    jitter: float = 0.2

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        raw = min(self.cap_s, self.base_s * 2.0 ** (retry - 1))
        return raw * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True, slots=True)
class ApiResult:
    """Omniroute's final answer to one logical call, after any retries."""

    status: int
    body: dict[str, Any]
    attempts: int
    statuses: tuple[int, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str | None:
        """The stable error code of a failed call (CONNECTION_ERROR when nothing answered)."""
        if self.ok:
            return None
        if self.status == 0:
            return CONNECTION_ERROR
        error = self.body.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else f"HTTP_{self.status}"

    @property
    def error_field(self) -> str | None:
        """The request field an error names, if any."""
        error = self.body.get("error")
        value = error.get("field") if isinstance(error, dict) else None
        return value if isinstance(value, str) else None


def work_offer_body(
    *,
    spoke: str,
    work_item_id: str,
    provider_agent_id: str,
    timeout_s: float,
    offered_at: str,
    external_segment_id: str,
) -> dict[str, Any]:
    """The Work Offer API request body for one offer attempt."""
    return {
        "spoke": spoke,
        "work_item_id": work_item_id,
        "provider_agent_id": provider_agent_id,
        "timeout": timeout_s,
        "allowed_to_decline": True,
        "auto_accept": False,
        "offered_at": offered_at,
        "external_segment_id": external_segment_id,
    }


def _decode(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"raw": response.text[:500]}
    return data if isinstance(data, dict) else {"data": data}


class OmnirouteClient:
    """Talks to one Omniroute as one spoke's provider."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        secret: str,
        spoke: str,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.secret = secret
        self.spoke = spoke
        self.http = http if http is not None else httpx.AsyncClient(timeout=10.0)
        self.retry = retry if retry is not None else RetryPolicy()
        self.sleep = sleep

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()

    async def _send(self, build: Callable[[], httpx.Request]) -> ApiResult:
        statuses: list[int] = []
        last = ApiResult(0, {"error": {"code": CONNECTION_ERROR, "message": "not sent"}}, 0)
        for attempt in range(1, self.retry.attempts + 1):
            if attempt > 1:
                await self.sleep(self.retry.delay(attempt - 1))
            try:
                response = await self.http.send(build())
            except httpx.TransportError as err:
                statuses.append(0)
                message = f"{type(err).__name__}: {err}"
                last = ApiResult(
                    0, {"error": {"code": CONNECTION_ERROR, "message": message}}, attempt
                )
                continue
            statuses.append(response.status_code)
            last = ApiResult(response.status_code, _decode(response), attempt)
            if response.status_code < 500:
                break
        return ApiResult(last.status, last.body, last.attempts, tuple(statuses))

    async def work_offer(self, body: dict[str, Any], idempotency_key: str) -> ApiResult:
        """POST /api/v1/work-offers, retrying 5xx and connection errors with the same key."""
        content = json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": idempotency_key,
            "Content-Type": "application/json",
        }
        url = f"{self.base_url}/api/v1/work-offers"
        return await self._send(
            lambda: self.http.build_request("POST", url, content=content, headers=headers)
        )

    async def create_interaction(self, body: dict[str, Any]) -> ApiResult:
        """POST /api/v1/interactions (retried only when nothing can have been created)."""
        content = json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        url = f"{self.base_url}/api/v1/interactions"
        return await self._send(
            lambda: self.http.build_request("POST", url, content=content, headers=headers)
        )

    async def send_event(
        self, event_type: str, data: dict[str, Any], event_id: str | None = None
    ) -> ApiResult:
        """POST a signed inbound event to /api/v1/spokes/{spoke}/events, retried with its id."""
        envelope = {
            "schema_version": 1,
            "id": event_id or str(uuid.uuid4()),
            "type": event_type,
            "data": data,
        }
        content = json.dumps(envelope).encode()
        url = f"{self.base_url}/api/v1/spokes/{self.spoke}/events"

        def build() -> httpx.Request:
            # Signed afresh on every attempt so a retry is never refused as stale.
            headers = sign(self.secret, content) | {"Content-Type": "application/json"}
            return self.http.build_request("POST", url, content=content, headers=headers)

        return await self._send(build)
