"""Waiting for an asyncio event with a time limit, without ever losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, timeout_s: float | None) -> None:
    """Return when the event is set or after `timeout_s`, whichever comes first."""
    # Python 3.11's `asyncio.wait_for` can swallow a cancellation that arrives as the event is
    # set; the task then never stops (a hung shutdown). `asyncio.timeout` keeps it.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
