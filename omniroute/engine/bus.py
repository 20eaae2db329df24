"""In-process fan-out of committed feed events to the agents' live connections."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from omniroute.core.state import FeedEvent


class Subscription:
    """One live connection's queue of events; closed when it falls too far behind."""

    def __init__(self, agent_id: str, maxsize: int) -> None:
        self.agent_id = agent_id
        self.queue: asyncio.Queue[FeedEvent] = asyncio.Queue(maxsize)
        self.overflowed = False


class EventBus:
    """Delivers committed events to every subscription of the addressed agent."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._maxsize = maxsize

    def subscribe(self, agent_id: str) -> Subscription:
        """Start receiving an agent's events."""
        sub = Subscription(agent_id, self._maxsize)
        self._subs[agent_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop receiving events."""
        subs = self._subs.get(sub.agent_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.agent_id]

    def publish(self, events: list[FeedEvent]) -> None:
        """Hand committed events to their subscribers."""
        for fe in events:
            for sub in self._subs.get(fe.agent_id, ()):
                try:
                    sub.queue.put_nowait(fe)
                except asyncio.QueueFull:
                    # The client resumes from the stored feed after reconnecting.
                    sub.overflowed = True
