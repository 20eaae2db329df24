"""Per-client rate limits on the doors, per-credential ones on the API, a bound on hashing."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from limits import RateLimitItem, parse_many
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
    API = "api"


# Where the counted keys are pruned of ended windows first; the mark then doubles past the live.
PRUNE_AT = 10_000


# The OpenAPI answer of a rate-limited operation.
RATE_LIMITED_ANSWER: dict[int | str, dict[str, Any]] = {
    429: {"description": "RATE_LIMITED: too many requests; retry after `Retry-After` seconds"}
}


def client_address(conn: HTTPConnection) -> str:
    """The peer's address (the key of per-IP limits)."""
    return conn.client.host if conn.client is not None else "unknown"


class RateLimits:
    """Limits per door and client key, kept in memory (each node counts its own requests)."""

    def __init__(self, settings: Settings) -> None:
        self._items: dict[Door, list[RateLimitItem]] = {
            door: parse_many(getattr(settings, f"rate_limit_{door.value}")) for door in Door
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.api = WindowCounter(self._items[Door.API])

    async def hit(self, door: Door, key: str) -> None:
        """Count one request of a client at a door, or raise RATE_LIMITED if its rate is spent."""
        if door is Door.API:
            self.api.hit(key)
            return
        for item in self._items[door]:
            if not await self._limiter.hit(item, door.value, key):
                stats = await self._limiter.get_window_stats(item, door.value, key)
                raise _refused(item, stats.reset_time - time.time())


def _refused(item: RateLimitItem, wait_s: float) -> RetryLaterError:
    wait = max(1, math.ceil(wait_s))
    return RetryLaterError(
        ErrorCode.RATE_LIMITED, f"too many requests ({item}); try again in {wait} s", wait
    )


class WindowCounter:
    """Fixed windows per key, each begun by the key's first request after the last one ended.

    Counted on every authenticated request, so a few dict and list operations (1-3 us a
    request); the `limits` strategies cost 10-40 us here (locks, an expiry task scheduled on
    every hit). A refused request is not counted.
    """

    def __init__(
        self, items: list[RateLimitItem], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._windows = [(item, float(item.get_expiry())) for item in items]
        self._clock = clock
        self._keys: dict[str, list[list[float]]] = {}  # key -> per window [ends at, count]
        self._prune_at = PRUNE_AT

    def hit(self, key: str) -> None:
        """Count one request under a key, or raise RATE_LIMITED if a window of it is spent."""
        now = self._clock()
        state = self._keys.get(key)
        if state is None:
            if len(self._keys) >= self._prune_at:
                self._prune(now)
            state = self._keys[key] = [[0.0, 0.0] for _ in self._windows]
        for (item, length), window in zip(self._windows, state, strict=True):
            if now >= window[0]:
                window[0], window[1] = now + length, 0.0
            elif window[1] >= item.amount:
                raise _refused(item, window[0] - now)
        for window in state:
            window[1] += 1

    def _prune(self, now: float) -> None:
        self._keys = {
            key: state for key, state in self._keys.items() if any(now < w[0] for w in state)
        }
        self._prune_at = max(PRUNE_AT, 2 * len(self._keys))


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
