"""Running a socket's concurrent jobs until the first one finishes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def until_first(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run the jobs together; when one returns (or fails), cancel the others and wait for them."""
    tasks = {asyncio.create_task(job) for job in jobs}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
