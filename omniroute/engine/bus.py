"""In-process fan-out of committed feed events to the agents' live connections."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from omniroute.core.state import FeedEvent


def event_payload(event: Any) -> dict[str, Any]:
    """An event's fields as JSON-ready values."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        out[f.name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


@dataclass(frozen=True, slots=True)
class FeedFrame:
    """One committed feed event as its JSON frame, addressed to one agent."""

    seq: int
    agent_id: str
    body: dict[str, Any]


def feed_frame(fe: FeedEvent) -> FeedFrame:
    """The frame of an event the engine just committed."""
    body = {
        "seq": fe.seq,
        "type": fe.event.type,
        "at": fe.created_at.isoformat(),
        "data": event_payload(fe.event),
    }
    return FeedFrame(fe.seq, fe.agent_id, body)


class Subscription:
    """One live connection's mailbox of frames; it ends when it falls too far behind.

    A plain list and one future while waiting, not an `asyncio.Queue`: an idle feed socket
    holds one of these for hours, and thousands of them must stay small.
    """

    __slots__ = ("_frames", "_maxsize", "_waiter", "agent_id", "ended", "overflowed")

    def __init__(self, agent_id: str, maxsize: int) -> None:
        self.agent_id = agent_id
        self._maxsize = maxsize
        self._frames: list[FeedFrame] = []
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False
        # Set when whatever opened the subscription is over (e.g. the web session ended).
        self.ended = False

    def put(self, item: FeedFrame) -> None:
        """Add a frame; past the limit the subscription overflows instead."""
        if len(self._frames) >= self._maxsize:
            # The client resumes from the stored feed after reconnecting.
            self.overflowed = True
        else:
            self._frames.append(item)
        self._wake()

    def set(self) -> None:
        """End the subscription: `take` answers nothing more."""
        self.ended = True
        self._wake()

    async def take(self) -> list[FeedFrame]:
        """The frames waiting (at least one), or none once overflowed or ended."""
        while not self._frames and not self.overflowed and not self.ended:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.overflowed or self.ended:
            return []
        frames, self._frames = self._frames, []
        return frames

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class EventBus:
    """Delivers committed events, in sequence and once each, to the addressed agent's sockets.

    Events come from this node's engine after its commits and, in a cluster, from the store
    (`omniroute/cluster/follower.py`); `last_seq` drops what one source already delivered.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._maxsize = maxsize
        self.last_seq = 0

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
        """Hand events the engine committed to their subscribers."""
        for fe in events:
            if fe.seq <= self.last_seq:
                continue
            self.last_seq = fe.seq
            if fe.agent_id in self._subs:
                self._deliver(feed_frame(fe))

    def publish_frames(self, frames: list[FeedFrame]) -> None:
        """Hand committed frames read from the store to their subscribers."""
        for item in frames:
            if item.seq <= self.last_seq:
                continue
            self.last_seq = item.seq
            self._deliver(item)

    def _deliver(self, item: FeedFrame) -> None:
        for sub in self._subs.get(item.agent_id, ()):
            sub.put(item)
