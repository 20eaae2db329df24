"""Per-client rate limits on the public and sign-in doors, and a bound on password hashing."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection

from omniroute.config import Settings
from omniroute.domain.errors import ErrorCode, RetryLaterError

T = TypeVar("T")


class Door(StrEnum):
    """A rate-limited way in; its limit is the setting `rate_limit_<door>`."""

    SIGN_IN = "sign_in"
    CHAT_START = "chat_start"
    CHAT_MESSAGES = "chat_messages"
    CHAT_MESSAGES_PER_IP = "chat_messages_per_ip"
    WIDGET = "widget"
    CASE_FORM = "case_form"
    OFFLINE_MESSAGE = "offline_message"
    CHAT_FRAMES = "chat_frames"
    FEED_FRAMES = "feed_frames"
    SPOKE_EVENTS = "spoke_events"


# The OpenAPI answer of a rate-limited operation.
RATE_LIMITED_ANSWER: dict[int | str, dict[str, Any]] = {
    429: {"description": "RATE_LIMITED: too many requests; retry after `Retry-After` seconds"}
}


def client_address(conn: HTTPConnection) -> str:
    """The peer's address (the key of per-IP limits)."""
    return conn.client.host if conn.client is not None else "unknown"


class RateLimits:
    """Moving-window limits per door and client key, kept in memory."""

    def __init__(self, settings: Settings) -> None:
        self._items: dict[Door, RateLimitItem] = {
            door: parse(getattr(settings, f"rate_limit_{door.value}")) for door in Door
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, door: Door, key: str) -> None:
        """Count one request of a client at a door, or raise RATE_LIMITED if its rate is spent."""
        item = self._items[door]
        if not await self._limiter.hit(item, door.value, key):
            stats = await self._limiter.get_window_stats(item, door.value, key)
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise RetryLaterError(
                ErrorCode.RATE_LIMITED, f"too many requests ({item}); try again in {wait} s", wait
            )


class HashingGate:
    """Runs password hashing in threads, a few at a time; refuses callers past a short queue.

    Each argon2 hash takes tens of MiB for a noticeable time, so unbounded concurrent sign-ins
    would exhaust memory.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._limit = concurrency + queue
        self._inside = 0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) in a worker thread once a slot is free, or RATE_LIMITED if too many wait."""
        if self._inside >= self._limit:
            raise RetryLaterError(
                ErrorCode.RATE_LIMITED, "too many sign-ins at once; try again in a moment", 1
            )
        self._inside += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(fn, *args)
        finally:
            self._inside -= 1


async def limit(conn: HTTPConnection, door: Door, key: str | None = None) -> None:
    """Count a request at a door under a key (the client's address by default)."""
    limits: RateLimits = conn.app.state.rate_limits
    await limits.hit(door, key if key is not None else client_address(conn))
