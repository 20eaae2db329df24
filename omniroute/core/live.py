"""The live part of the supervisor view, read from the engine's memory in one command."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from omniroute.core.state import Tx
from omniroute.domain.model import WorkItemState


@dataclass(frozen=True, slots=True)
class LiveQueue:
    """A queue as it stands right now."""

    queue_id: str
    name: str
    routing_mode: str
    depth: int = 0
    oldest_queued_at: datetime | None = None
    offered: int = 0
    in_progress: int = 0


@dataclass(frozen=True, slots=True)
class PresenceCount:
    """How many agents are in one presence state."""

    presence_id: str
    name: str
    is_available: bool
    agents: int


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """Agents by presence and by whether they hold work."""

    total: int
    busy: int
    idle: int
    unavailable: int
    by_presence: list[PresenceCount] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LiveView:
    """The engine's committed state at one instant."""

    now: datetime
    queues: list[LiveQueue]
    agents: AgentCounts


def queues(tx: Tx) -> list[LiveQueue]:
    """Every queue with its waiting, offered and worked items, by priority."""
    depth: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    offered: dict[str, int] = {}
    in_progress: dict[str, int] = {}
    for item in tx.state.work_items.values():
        q = item.queue_id
        if item.state is WorkItemState.QUEUED:
            depth[q] = depth.get(q, 0) + 1
            if q not in oldest or item.created_at < oldest[q]:
                oldest[q] = item.created_at
        elif item.state is WorkItemState.PENDING_ACCEPT:
            offered[q] = offered.get(q, 0) + 1
        elif item.state is WorkItemState.ACCEPTED:
            in_progress[q] = in_progress.get(q, 0) + 1
    queues = sorted(tx.state.config.queues.values(), key=lambda q: (q.priority, q.name, q.id))
    return [
        LiveQueue(
            queue_id=q.id,
            name=q.name,
            routing_mode=q.routing_mode.value,
            depth=depth.get(q.id, 0),
            oldest_queued_at=oldest.get(q.id),
            offered=offered.get(q.id, 0),
            in_progress=in_progress.get(q.id, 0),
        )
        for q in queues
    ]


def _agents(tx: Tx) -> AgentCounts:
    presence = tx.state.config.presence
    counts: dict[str, int] = dict.fromkeys(presence, 0)
    busy = idle = 0
    agents = tx.state.agents.values()
    for agent in agents:
        counts[agent.presence_id] = counts.get(agent.presence_id, 0) + 1
        state = presence.get(agent.presence_id)
        if agent.total_load > 0:
            busy += 1
        elif state is not None and state.is_available:
            idle += 1
    by_presence = [
        PresenceCount(
            presence_id=pid,
            name=presence[pid].name if pid in presence else pid,
            is_available=presence[pid].is_available if pid in presence else False,
            agents=n,
        )
        for pid, n in counts.items()
    ]
    by_presence.sort(key=lambda p: (not p.is_available, p.name))
    total = len(agents)
    return AgentCounts(total, busy, idle, total - busy - idle, by_presence)


def snapshot(tx: Tx) -> LiveView:
    """Read-only engine command: queues and agents as committed."""
    return LiveView(tx.now, queues(tx), _agents(tx))
