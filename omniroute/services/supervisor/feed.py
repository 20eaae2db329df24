"""Pushes a fresh overview to live subscribers after engine commits that change it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from omniroute.core.committed import Committed
from omniroute.domain.errors import DomainError
from omniroute.engine.engine import Engine
from omniroute.services.supervisor.overview import Overview, build_overview
from omniroute.store.db import Database
from omniroute.waits import wait_event

log = logging.getLogger(__name__)


class Subscription:
    """One subscriber's mailbox: it holds only the newest overview not yet taken."""

    def __init__(self) -> None:
        self._box: asyncio.Queue[Overview] = asyncio.Queue(maxsize=1)

    def offer(self, overview: Overview) -> None:
        """Replace whatever the subscriber has not taken yet."""
        with contextlib.suppress(asyncio.QueueEmpty):
            self._box.get_nowait()
        self._box.put_nowait(overview)

    async def next(self) -> Overview:
        """Wait for the next overview."""
        return await self._box.get()


class OverviewFeed:
    """Recomputes the overview after changing commits, at most once per `min_interval_s`."""

    def __init__(
        self, engine: Engine, db: Database, min_interval_s: float = 1.0, refresh_s: float = 30.0
    ) -> None:
        self._engine = engine
        self._db = db
        self._min_interval_s = min_interval_s
        # Without commits the minute buckets and waits still move; refresh now and then.
        self._refresh_s = refresh_s
        self._dirty = asyncio.Event()
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        engine.commit_listeners.append(self._on_commit)

    def _on_commit(self, batch: Committed) -> None:
        if batch.routing_changed:
            self.changed()

    def changed(self) -> None:
        """Routing state moved (here or, in a cluster, on the leader): recompute soon."""
        if self._subs:
            self._dirty.set()

    @property
    def pending(self) -> bool:
        """Whether a change is waiting to be sent."""
        return self._dirty.is_set()

    def subscribe(self) -> Subscription:
        """Start receiving overviews; the first comes after the next change."""
        sub = Subscription()
        self._subs.add(sub)
        if self._task is None or self._task.done():
            self._dirty.clear()
            self._task = asyncio.create_task(self._run(), name="omniroute-supervisor-feed")
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        """Stop receiving; the feed stops computing once nobody listens."""
        self._subs.discard(sub)
        if not self._subs and self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await wait_event(self._dirty, self._refresh_s)
            self._dirty.clear()
            try:
                overview = await build_overview(self._engine, self._db)
            except DomainError as err:
                log.warning("supervisor overview unavailable: %s", err.message)
            except Exception:
                # Keep the feed alive for its subscribers; the next change or refresh retries.
                log.exception("supervisor overview failed")
            else:
                for sub in list(self._subs):
                    sub.offer(overview)
            # Coalesce: commits during this pause set the flag once and give one update.
            await asyncio.sleep(self._min_interval_s)
