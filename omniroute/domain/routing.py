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
from omniroute.domain.escalation import affinity_allows, aged_priority
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
RankKey: TypeAlias = tuple[float, float, str]
AgentKey: TypeAlias = tuple[float, float, str]


def _item_key(item: WorkItem) -> ItemKey:
    return (item.priority, item.created_at.timestamp(), item.id)


BucketSig: TypeAlias = tuple[
    str, str, int, tuple[SkillRequirement, ...], frozenset[str], str | None
]


@dataclass(slots=True)
class Bucket:
    """Queued items of one queue and channel that share priority and requirements.

    Requirements include the agent groups escalation steps added and the preferred agent
    (affinity) the items wait for, so that every item of a bucket is eligible for the same
    agents at the same age.
    """

    queue_id: str
    channel_id: str
    priority: int
    skills: tuple[SkillRequirement, ...]
    groups: frozenset[str] = frozenset()
    preferred: str | None = None
    items: SortedList[ItemKey] = field(default_factory=SortedList)

    @property
    def sig(self) -> BucketSig:
        """The key of this bucket."""
        return (
            self.queue_id,
            self.channel_id,
            self.priority,
            self.skills,
            self.groups,
            self.preferred,
        )


def _sig(item: WorkItem, affinity_wait_s: int) -> BucketSig:
    preferred = item.preferred_agent_id if affinity_wait_s > 0 else None
    return (
        item.queue_id,
        item.channel_id,
        item.priority,
        item.skills,
        item.extra_groups,
        preferred,
    )


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
        self._buckets: dict[BucketSig, Bucket] = {}
        self._buckets_by_channel: dict[str, list[Bucket]] = {}
        self._item_bucket: dict[str, Bucket] = {}
        self._routable: dict[tuple[str, Strategy], SortedList[AgentKey]] = {}
        self._agent_keys: dict[str, dict[tuple[str, Strategy], AgentKey]] = {}
        self._strategies: frozenset[Strategy] = frozenset()
        # Queues whose calendar is closed now: their items wait without being offered.
        self.closed_queues: frozenset[str] = frozenset()
        self.config_changed()

    def config_changed(self) -> None:
        """Note which strategies the rules use; call before re-indexing agents."""
        # Agents are indexed only in the orderings some rule needs: each ordering costs
        # two sorted-list updates per channel on every offer.
        self._strategies = frozenset(r.strategy for r in self.config.rules.values())

    # -- queued items -----------------------------------------------------------------

    def enqueue(self, item: WorkItem) -> None:
        """Add a queued item to its bucket."""
        queue = self.config.queues.get(item.queue_id)
        sig = _sig(item, queue.affinity_wait_s if queue is not None else 0)
        bucket = self._buckets.get(sig)
        if bucket is None:
            bucket = Bucket(*sig)
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
            del self._buckets[bucket.sig]
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
        if agent.disabled or presence is None or not presence.is_available:
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
            and (
                rule.group_allows(agent.groups, age)
                or not agent.groups.isdisjoint(item.extra_groups)
            )
            and agent.has_skills(item.skills, age)
            and affinity_allows(agent.id, item.preferred_agent_id, queue.affinity_wait_s, age)
        )

    def best_agent_for(self, item: WorkItem, now: datetime) -> Agent | None:
        """The first eligible routable agent in the order of the queue's rule."""
        queue = self.config.queues[item.queue_id]
        if queue.routing_mode is not RoutingMode.INTERNAL or queue.id in self.closed_queues:
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

    def why_waiting(self, item: WorkItem, now: datetime) -> str:
        """Why a queued item has no agent: the first reason that holds, checked in order."""
        queue = self.config.queues[item.queue_id]
        if queue.routing_mode is not RoutingMode.INTERNAL:
            return "routed_externally"
        if queue.id in self.closed_queues:
            return "queue_closed"
        slot = (item.channel_id, Strategy.MOST_CAPACITY)
        routable = [self.agents[a] for a, keys in self._agent_keys.items() if slot in keys]
        if not routable:
            return "no_agent_available"
        if self.best_agent_for(item, now) is not None:
            return "being_routed"
        rule = self.config.rules[queue.rule_id]
        age = item.age_s(now)
        for agent in routable:
            in_groups = rule.group_allows(agent.groups, age) or not agent.groups.isdisjoint(
                item.extra_groups
            )
            if (
                in_groups
                and agent.has_skills(item.skills, age)
                and agent.id in item.excluded_agents
            ):
                return "all_routable_agents_excluded"
        if item.preferred_agent_id is not None and age < queue.affinity_wait_s:
            return "waiting_for_preferred_agent"
        return "no_eligible_agent"

    def best_item_for(self, agent: Agent, now: datetime) -> WorkItem | None:
        """The highest-priority, oldest queued item this agent may take now."""
        best: WorkItem | None = None
        best_key: RankKey | None = None
        now_ts = now.timestamp()
        for channel_id in self.routable_channels(agent.id):
            for bucket in self._buckets_by_channel.get(channel_id, ()):
                # A bucket is sorted, and aging keeps its order (its items share a queue and
                # so a rate), so one whose head does not beat the best so far cannot hold a
                # better item.
                if best_key is not None and self._rank(bucket, bucket.items[0], now_ts) >= best_key:
                    continue
                found = self._first_eligible(bucket, agent, now)
                if found is not None:
                    best, best_key = self.items[found[2]], self._rank(bucket, found, now_ts)
        return best

    def _rank(self, bucket: Bucket, key: ItemKey, now_ts: float) -> RankKey:
        """An item's place in routing order: its aged priority, then its age."""
        rate = self.config.queues[bucket.queue_id].aging_per_min
        return (aged_priority(key[0], rate, now_ts - key[1]), key[1], key[2])

    def _first_eligible(self, bucket: Bucket, agent: Agent, now: datetime) -> ItemKey | None:
        queue = self.config.queues[bucket.queue_id]
        if queue.routing_mode is not RoutingMode.INTERNAL or queue.id in self.closed_queues:
            return None
        rule = self.config.rules[queue.rule_id]
        now_ts = now.timestamp()
        in_groups = not agent.groups.isdisjoint(bucket.groups)
        for key in bucket.items:
            age = now_ts - key[1]
            # Items in a bucket share requirements and are sorted oldest first, so once
            # one is too young for this agent, every later one is too.
            if not (in_groups or rule.group_allows(agent.groups, age)):
                return None
            if not agent.has_skills(bucket.skills, age):
                return None
            if not affinity_allows(agent.id, bucket.preferred, queue.affinity_wait_s, age):
                return None
            if agent.id not in self.items[key[2]].excluded_agents:
                return key
        return None
