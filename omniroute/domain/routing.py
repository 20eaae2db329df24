"""Routing index: the pure decision structures of the work-assignment engine.

Queued items live in buckets keyed by (queue, channel, priority, skill requirements), each
sorted by age, so that finding work for an agent costs O(number of buckets) whatever the
number of queued items. Routable agents live in per-channel sorted lists, one per strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from sortedcontainers import SortedList

from omniroute.domain.calendar import Calendar
from omniroute.domain.model import (
    Agent,
    Channel,
    PresenceState,
    Queue,
    RoutingMode,
    Rule,
    SkillRequirement,
    Strategy,
    WorkItem,
)

ItemKey: TypeAlias = tuple[int, float, str]
AgentKey: TypeAlias = tuple[float, float, str]


def _item_key(item: WorkItem) -> ItemKey:
    return (item.priority, item.created_at.timestamp(), item.id)


@dataclass(slots=True)
class Bucket:
    """Queued items of one queue and channel that share priority and requirements."""

    queue_id: str
    channel_id: str
    priority: int
    skills: tuple[SkillRequirement, ...]
    items: SortedList[ItemKey] = field(default_factory=SortedList)


@dataclass(slots=True)
class RoutingConfig:
    """The configuration routing decisions depend on."""

    channels: dict[str, Channel] = field(default_factory=dict)
    presence: dict[str, PresenceState] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    calendars: dict[str, Calendar] = field(default_factory=dict)


class RoutingIndex:
    """Indexes of queued work items and routable agents, and the decisions made from them."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.items: dict[str, WorkItem] = {}
        self.agents: dict[str, Agent] = {}
        self._buckets: dict[tuple[str, str, int, tuple[SkillRequirement, ...]], Bucket] = {}
        self._buckets_by_channel: dict[str, list[Bucket]] = {}
        self._item_bucket: dict[str, Bucket] = {}
        self._routable: dict[tuple[str, Strategy], SortedList[AgentKey]] = {}
        self._agent_keys: dict[str, dict[tuple[str, Strategy], AgentKey]] = {}
        self._strategies: frozenset[Strategy] = frozenset()
        self.config_changed()

    def config_changed(self) -> None:
        """Note which strategies the rules use; call before re-indexing agents."""
        # Agents are indexed only in the orderings some rule needs: each ordering costs
        # two sorted-list updates per channel on every offer.
        self._strategies = frozenset(r.strategy for r in self.config.rules.values())

    # -- queued items -----------------------------------------------------------------

    def enqueue(self, item: WorkItem) -> None:
        """Add a queued item to its bucket."""
        sig = (item.queue_id, item.channel_id, item.priority, item.skills)
        bucket = self._buckets.get(sig)
        if bucket is None:
            bucket = Bucket(item.queue_id, item.channel_id, item.priority, item.skills)
            self._buckets[sig] = bucket
            self._buckets_by_channel.setdefault(item.channel_id, []).append(bucket)
        bucket.items.add(_item_key(item))
        self.items[item.id] = item
        self._item_bucket[item.id] = bucket

    def dequeue(self, item_id: str) -> None:
        """Remove an item from routing (offered, cancelled or moved)."""
        bucket = self._item_bucket.pop(item_id, None)
        item = self.items.pop(item_id, None)
        if bucket is None or item is None:
            return
        bucket.items.discard(_item_key(item))
        if not bucket.items:
            sig = (bucket.queue_id, bucket.channel_id, bucket.priority, bucket.skills)
            del self._buckets[sig]
            self._buckets_by_channel[bucket.channel_id].remove(bucket)

    def queued_count(self) -> int:
        """Number of items waiting for an agent."""
        return len(self.items)

    # -- agents -----------------------------------------------------------------------

    def refresh_agent(self, agent: Agent) -> None:
        """Re-index an agent after its presence, capacity, load or skills changed."""
        self.agents[agent.id] = agent
        old = self._agent_keys.pop(agent.id, {})
        for slot, key in old.items():
            listed = self._routable.get(slot)
            if listed is not None:
                listed.discard(key)
        presence = self.config.presence.get(agent.presence_id)
        if presence is None or not presence.is_available:
            return
        idle = agent.last_assigned_at.timestamp() if agent.last_assigned_at else 0.0
        new: dict[tuple[str, Strategy], AgentKey] = {}
        most = Strategy.MOST_CAPACITY in self._strategies
        longest = Strategy.LONGEST_IDLE in self._strategies
        for channel in self.config.channels.values():
            if not agent.channel_available.get(channel.id, True):
                continue
            free = agent.free_on(channel)
            if free <= 0:
                continue
            # The routable marker slot is kept even when no rule orders by capacity.
            new[(channel.id, Strategy.MOST_CAPACITY)] = (float(-free), idle, agent.id)
            if longest:
                new[(channel.id, Strategy.LONGEST_IDLE)] = (idle, 0.0, agent.id)
        for slot, key in new.items():
            if most or slot[1] is not Strategy.MOST_CAPACITY:
                self._routable.setdefault(slot, SortedList()).add(key)
        self._agent_keys[agent.id] = new

    def remove_agent(self, agent_id: str) -> None:
        """Drop an agent from the indexes."""
        for slot, key in self._agent_keys.pop(agent_id, {}).items():
            listed = self._routable.get(slot)
            if listed is not None:
                listed.discard(key)
        self.agents.pop(agent_id, None)

    def is_routable(self, agent_id: str, channel_id: str) -> bool:
        """Whether the agent is available on the channel with free capacity."""
        keys = self._agent_keys.get(agent_id, {})
        return (channel_id, Strategy.MOST_CAPACITY) in keys

    def routable_channels(self, agent_id: str) -> list[str]:
        """Channels on which the agent can take an item now."""
        keys = self._agent_keys.get(agent_id, {})
        return [ch for ch, strategy in keys if strategy is Strategy.MOST_CAPACITY]

    # -- decisions --------------------------------------------------------------------

    def eligible(self, agent: Agent, item: WorkItem, now: datetime) -> bool:
        """Whether the agent may be offered the item now (capacity checked separately)."""
        queue = self.config.queues[item.queue_id]
        rule = self.config.rules[queue.rule_id]
        age = item.age_s(now)
        return (
            agent.id not in item.excluded_agents
            and rule.group_allows(agent.groups, age)
            and agent.has_skills(item.skills, age)
        )

    def best_agent_for(self, item: WorkItem, now: datetime) -> Agent | None:
        """The first eligible routable agent in the order of the queue's rule."""
        queue = self.config.queues[item.queue_id]
        if queue.routing_mode is not RoutingMode.INTERNAL:
            return None
        rule = self.config.rules[queue.rule_id]
        candidates = self._routable.get((item.channel_id, rule.strategy))
        if not candidates:
            return None
        for key in candidates:
            agent = self.agents[key[2]]
            if self.eligible(agent, item, now):
                return agent
        return None

    def best_item_for(self, agent: Agent, now: datetime) -> WorkItem | None:
        """The highest-priority, oldest queued item this agent may take now."""
        best: WorkItem | None = None
        best_key: ItemKey | None = None
        for channel_id in self.routable_channels(agent.id):
            for bucket in self._buckets_by_channel.get(channel_id, ()):
                # A bucket is sorted, so one whose head does not beat the best so far
                # cannot hold a better item.
                if best_key is not None and bucket.items[0] >= best_key:
                    continue
                found = self._first_eligible(bucket, agent, now)
                if found is not None:
                    best, best_key = self.items[found[2]], found
        return best

    def _first_eligible(self, bucket: Bucket, agent: Agent, now: datetime) -> ItemKey | None:
        queue = self.config.queues[bucket.queue_id]
        if queue.routing_mode is not RoutingMode.INTERNAL:
            return None
        rule = self.config.rules[queue.rule_id]
        now_ts = now.timestamp()
        for key in bucket.items:
            age = now_ts - key[1]
            # Items in a bucket share requirements and are sorted oldest first, so once
            # one is too young for this agent, every later one is too.
            if not rule.group_allows(agent.groups, age) or not agent.has_skills(bucket.skills, age):
                return None
            if agent.id not in self.items[key[2]].excluded_agents:
                return key
        return None
