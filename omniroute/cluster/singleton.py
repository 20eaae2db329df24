"""A service that runs on the node that leads only: started when it leads, stopped when not.

Some jobs must run once per cluster, not once per node: the SMTP listener (one port, one
inbox), for example. The runner looks at whether this node's engine runs every
`check_s` seconds and starts or stops the service to match.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from omniroute.cluster.tasks import cancel
from omniroute.engine.engine import Engine

log = logging.getLogger(__name__)
S = TypeVar("S")
CHECK_S = 0.5


class WhileLeading(Generic[S]):
    """Keeps one service running exactly while this node's engine runs."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        start: Callable[[], Awaitable[S]],
        stop: Callable[[S], Awaitable[None]],
        check_s: float = CHECK_S,
    ) -> None:
        self.name = name
        self._engine = engine
        self._start = start
        self._stop = stop
        self._check_s = check_s
        self.service: S | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start watching (and the service at once if this node leads)."""
        await self._match()
        self._task = asyncio.create_task(self._run(), name=f"omniroute-leader-{self.name}")

    async def stop(self) -> None:
        """Stop watching and stop the service."""
        task, self._task = self._task, None
        await cancel(task)
        await self._halt()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._check_s)
            try:
                await self._match()
            except Exception:
                log.exception("%s could not follow the lead; retrying", self.name)

    async def _match(self) -> None:
        if self._engine.running and self.service is None:
            self.service = await self._start()
            log.info("%s runs on this node (it leads)", self.name)
        elif not self._engine.running and self.service is not None:
            await self._halt()

    async def _halt(self) -> None:
        service, self.service = self.service, None
        if service is not None:
            await self._stop(service)
            log.info("%s stopped on this node (it no longer leads)", self.name)
