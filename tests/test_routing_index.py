"""Unit and property tests of the pure routing index: orderings, eligibility, capacity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from omniroute.domain.model import (
    Agent,
    Channel,
    DocumentType,
    PresenceState,
    Queue,
    RoutingMode,
    Rule,
    SkillRequirement,
    Strategy,
    WorkItem,
)
from omniroute.domain.routing import RoutingConfig, RoutingIndex

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)

CHANNELS = {
    "chat": Channel("chat", "Chat", 2),
    "email": Channel("email", "Email", 3),
    "voice": Channel("voice", "Voice", 1),
}
PRESENCE = {
    "available": PresenceState("available", "Available", is_available=True),
    "away": PresenceState("away", "Away", is_available=False),
}
RULES = {
    "mc": Rule("mc", "mc", Strategy.MOST_CAPACITY),
    "li": Rule("li", "li", Strategy.LONGEST_IDLE),
    "ovf": Rule(
        "ovf",
        "ovf",
        Strategy.MOST_CAPACITY,
        primary_group_id="tier1",
        overflow_group_id="tier2",
        overflow_after_s=15,
    ),
    "grp": Rule("grp", "grp", Strategy.LONGEST_IDLE, primary_group_id="tier1"),
}
QUEUES = {
    "q_mc": Queue("q_mc", "q_mc", ("chat", "email", "voice"), "mc", priority=100),
    "q_li": Queue("q_li", "q_li", ("chat", "email", "voice"), "li", priority=100),
    "q_ovf": Queue("q_ovf", "q_ovf", ("chat", "email", "voice"), "ovf", priority=50),
    "q_grp": Queue("q_grp", "q_grp", ("chat", "email", "voice"), "grp", priority=10),
    "q_ext": Queue("q_ext", "q_ext", ("chat", "email"), "mc", routing_mode=RoutingMode.EXTERNAL),
}


def make_index() -> RoutingIndex:
    """An empty index over the test configuration."""
    config = RoutingConfig(
        channels=dict(CHANNELS), presence=dict(PRESENCE), queues=dict(QUEUES), rules=dict(RULES)
    )
    return RoutingIndex(config)


def agent(
    agent_id: str,
    *,
    presence: str = "available",
    cap: int | None = None,
    overrides: dict[str, int] | None = None,
    available: dict[str, bool] | None = None,
    skills: dict[str, int] | None = None,
    groups: Iterable[str] = (),
    load: dict[str, int] | None = None,
    idle_since: float | None = None,
) -> Agent:
    """An agent; `idle_since` is seconds after T0 of the last assignment."""
    return Agent(
        id=agent_id,
        name=agent_id,
        presence_id=presence,
        capacity_cap=cap,
        capacity_overrides=dict(overrides or {}),
        channel_available=dict(available or {}),
        skills=dict(skills or {}),
        groups=frozenset(groups),
        load=dict(load or {}),
        last_assigned_at=None if idle_since is None else T0 + timedelta(seconds=idle_since),
    )


def item(
    item_id: str,
    *,
    queue: str = "q_mc",
    channel: str = "chat",
    age_s: float = 0.0,
    priority: int | None = None,
    skills: tuple[SkillRequirement, ...] = (),
    excluded: Iterable[str] = (),
) -> WorkItem:
    """A queued work item of the given age at NOW."""
    return WorkItem(
        id=item_id,
        document_type=DocumentType.INTERACTION,
        document_id=f"doc-{item_id}",
        queue_id=queue,
        channel_id=channel,
        priority=QUEUES[queue].priority if priority is None else priority,
        created_at=NOW - timedelta(seconds=age_s),
        skills=skills,
        excluded_agents=frozenset(excluded),
    )


def add(index: RoutingIndex, *things: Agent | WorkItem) -> None:
    """Index agents and enqueue items."""
    for thing in things:
        if isinstance(thing, Agent):
            index.refresh_agent(thing)
        else:
            index.enqueue(thing)


def best_agent_id(index: RoutingIndex, work: WorkItem, now: datetime = NOW) -> str | None:
    """The id of the agent the index picks for an item."""
    found = index.best_agent_for(work, now)
    return None if found is None else found.id


def best_item_id(index: RoutingIndex, agent_id: str, now: datetime = NOW) -> str | None:
    """The id of the item the index picks for an agent."""
    found = index.best_item_for(index.agents[agent_id], now)
    return None if found is None else found.id


# -- agent orderings ---------------------------------------------------------------------


def test_most_capacity_prefers_most_free_capacity() -> None:
    """The agent with the most free capacity on the item's channel comes first."""
    index = make_index()
    add(
        index,
        agent("a", load={"chat": 1}),
        agent("b", overrides={"chat": 5}, load={"chat": 2}),
        agent("c"),
    )
    assert best_agent_id(index, item("i")) == "b"
    b = index.agents["b"]
    b.load["chat"] = 4
    index.refresh_agent(b)
    assert best_agent_id(index, item("i")) == "c"


def test_most_capacity_breaks_ties_by_longest_idle() -> None:
    """Among agents with equal free capacity the least recently assigned comes first."""
    index = make_index()
    add(index, agent("a", idle_since=30), agent("b", idle_since=10), agent("c", idle_since=20))
    assert best_agent_id(index, item("i")) == "b"
    add(index, agent("d"))
    assert best_agent_id(index, item("i")) == "d"


def test_most_capacity_counts_the_universal_cap() -> None:
    """Free capacity is bounded by the universal cap across channels."""
    index = make_index()
    add(
        index,
        agent("capped", cap=2, overrides={"chat": 5}, load={"email": 1}),
        agent("plain", load={"chat": 0}, idle_since=100),
    )
    # capped: min(5 - 0, 2 - 1) = 1 free; plain: 2 free.
    assert best_agent_id(index, item("i")) == "plain"


def test_longest_idle_prefers_least_recently_assigned() -> None:
    """A longest-idle rule ignores free capacity and picks the oldest assignment."""
    index = make_index()
    add(
        index,
        agent("busy_old", overrides={"chat": 9}, load={"chat": 8}, idle_since=5),
        agent("free_new", overrides={"chat": 9}, idle_since=50),
    )
    assert best_agent_id(index, item("i", queue="q_li")) == "busy_old"
    assert best_agent_id(index, item("i", queue="q_mc")) == "free_new"
    add(index, agent("never"))
    assert best_agent_id(index, item("i", queue="q_li")) == "never"


# -- eligibility -------------------------------------------------------------------------


def test_mandatory_skill_never_widens() -> None:
    """A mandatory requirement holds at any age and checks the level."""
    req = (SkillRequirement("french", min_level=2, mandatory=True, widen_after_s=5),)
    index = make_index()
    add(index, agent("novice", skills={"french": 1}), agent("none", skills={"english": 5}))
    for age in (0.0, 5.0, 10_000.0):
        assert best_agent_id(index, item("i", age_s=age, skills=req)) is None
    add(index, agent("fluent", skills={"french": 2}, idle_since=999))
    assert best_agent_id(index, item("i", age_s=0.0, skills=req)) == "fluent"


def test_preferred_skill_widens_after_its_wait() -> None:
    """A preferred requirement restricts eligibility only until the item is old enough."""
    req = (SkillRequirement("billing", min_level=3, mandatory=False, widen_after_s=10),)
    index = make_index()
    add(index, agent("generalist", skills={"billing": 1}))
    young = item("young", age_s=9.999, skills=req)
    old = item("old", age_s=10.0, skills=req)
    assert best_agent_id(index, young) is None
    assert best_agent_id(index, old) == "generalist"
    add(index, young, old)
    assert best_item_id(index, "generalist") == "old"
    assert best_item_id(index, "generalist", NOW - timedelta(seconds=0.5)) is None


def test_preferred_skill_without_widen_time_acts_as_mandatory() -> None:
    """A preferred requirement with no widen time never widens."""
    req = (SkillRequirement("billing", min_level=1, mandatory=False, widen_after_s=None),)
    index = make_index()
    add(index, agent("a"))
    assert best_agent_id(index, item("i", age_s=1e6, skills=req)) is None


def test_overflow_group_becomes_eligible_after_its_wait() -> None:
    """The overflow group joins after N seconds; agents outside both groups never do."""
    index = make_index()
    add(index, agent("t2", groups=["tier2"]), agent("nobody", groups=["other"]))
    assert best_agent_id(index, item("i", queue="q_ovf", age_s=14.9)) is None
    assert best_agent_id(index, item("i", queue="q_ovf", age_s=15.0)) == "t2"
    add(index, agent("t1", groups=["tier1"], idle_since=1e4))
    assert best_agent_id(index, item("i", queue="q_ovf", age_s=0.0)) == "t1"
    assert best_agent_id(index, item("i", queue="q_grp", age_s=1e6)) == "t1"
    index.remove_agent("t1")
    assert best_agent_id(index, item("i", queue="q_grp", age_s=1e6)) is None


def test_overflow_gates_best_item_for() -> None:
    """An overflow agent takes only items that waited long enough, oldest first."""
    index = make_index()
    add(
        index,
        agent("t2", groups=["tier2"], overrides={"chat": 5}),
        item("fresh", queue="q_ovf", age_s=3),
        item("ripe", queue="q_ovf", age_s=20),
    )
    assert best_item_id(index, "t2") == "ripe"
    index.dequeue("ripe")
    assert best_item_id(index, "t2") is None


def test_excluded_agent_is_skipped_both_ways() -> None:
    """An excluded agent is never picked for that item, but still gets the next one."""
    index = make_index()
    first = item("first", age_s=30, excluded=["a"])
    second = item("second", age_s=20)
    add(index, agent("a"), agent("b", load={"chat": 1}), first, second)
    assert best_agent_id(index, first) == "b"
    assert best_item_id(index, "a") == "second"
    assert best_item_id(index, "b") == "first"


# -- item ordering -----------------------------------------------------------------------


def test_priority_then_age_across_queues_and_buckets() -> None:
    """Lower priority value wins over age; among equal priority the oldest wins."""
    index = make_index()
    add(
        index,
        agent("a", overrides={"chat": 9, "email": 9}, skills={"english": 3}),
        item("old_low", queue="q_mc", age_s=500),
        item("young_high", queue="q_ovf", age_s=1, priority=20),
        item("mid_high_email", queue="q_li", channel="email", age_s=5, priority=20),
        item(
            "older_high_skill",
            queue="q_li",
            age_s=9,
            priority=20,
            skills=(SkillRequirement("english", 2),),
        ),
    )
    # q_ovf needs tier1 or tier2, so the oldest other priority-20 item wins.
    assert best_item_id(index, "a") == "older_high_skill"
    index.dequeue("older_high_skill")
    assert best_item_id(index, "a") == "mid_high_email"
    index.dequeue("mid_high_email")
    assert best_item_id(index, "a") == "old_low"
    index.dequeue("old_low")
    assert best_item_id(index, "a") is None
    assert index.queued_count() == 1


def test_route_priority_override_beats_queue_priority() -> None:
    """An item's own priority, not its queue's, orders it."""
    index = make_index()
    add(
        index,
        agent("a"),
        item("queue_prio", queue="q_li", age_s=100),
        item("boosted", queue="q_mc", age_s=1, priority=1),
    )
    assert best_item_id(index, "a") == "boosted"


def test_dequeue_removes_item_and_empty_bucket() -> None:
    """Dequeued items are gone; dequeuing twice is harmless."""
    index = make_index()
    add(index, agent("a"), item("x"))
    index.dequeue("x")
    index.dequeue("x")
    assert index.queued_count() == 0
    assert best_item_id(index, "a") is None
    add(index, item("y"))
    assert best_item_id(index, "a") == "y"


# -- availability and capacity -----------------------------------------------------------


def test_per_channel_availability() -> None:
    """An agent unavailable on a channel is not routable there, but is elsewhere."""
    index = make_index()
    add(
        index,
        agent("a", available={"chat": False, "email": True}),
        item("chat_item", age_s=100),
        item("email_item", channel="email", age_s=1),
    )
    assert not index.is_routable("a", "chat")
    assert index.is_routable("a", "email")
    assert best_agent_id(index, index.items["chat_item"]) is None
    assert best_item_id(index, "a") == "email_item"
    a = index.agents["a"]
    a.channel_available["chat"] = True
    index.refresh_agent(a)
    assert best_item_id(index, "a") == "chat_item"


def test_unavailable_presence_is_not_routable() -> None:
    """An agent whose presence is not available is in no routable list."""
    index = make_index()
    add(index, agent("a", presence="away"), agent("b", presence="custom-unknown"), item("i"))
    assert index.routable_channels("a") == []
    assert index.routable_channels("b") == []
    assert best_agent_id(index, index.items["i"]) is None
    a = index.agents["a"]
    a.presence_id = "available"
    index.refresh_agent(a)
    assert best_agent_id(index, index.items["i"]) == "a"


def test_universal_capacity_cap() -> None:
    """The universal cap bounds every channel once total load reaches it."""
    index = make_index()
    a = agent("a", cap=3, load={"chat": 2})
    add(index, a)
    assert a.free_on(CHANNELS["chat"]) == 0
    assert a.free_on(CHANNELS["email"]) == 1
    assert a.free_on(CHANNELS["voice"]) == 1
    assert sorted(index.routable_channels("a")) == ["email", "voice"]
    a.load["email"] = 1
    index.refresh_agent(a)
    assert index.routable_channels("a") == []
    a.capacity_cap = None
    index.refresh_agent(a)
    assert sorted(index.routable_channels("a")) == ["email", "voice"]


def test_zero_capacity_override_and_over_capacity_load() -> None:
    """A zero override or a load above capacity leaves no free capacity."""
    index = make_index()
    a = agent("a", overrides={"chat": 0}, load={"email": 5})
    add(index, a, item("i"), item("e", channel="email"))
    assert a.free_on(CHANNELS["email"]) == 0
    assert index.routable_channels("a") == ["voice"]
    assert best_item_id(index, "a") is None


def test_external_queue_is_never_routed_internally() -> None:
    """Items of an external queue get no agent from the internal index."""
    index = make_index()
    ext = item("ext", queue="q_ext", age_s=100)
    add(index, agent("a"), ext)
    assert best_agent_id(index, ext) is None
    assert best_item_id(index, "a") is None


# -- property: the index agrees with a brute-force scan ----------------------------------

SKILLS = ("english", "french", "billing")
GROUPS = ("tier1", "tier2", "other")


def oracle_routable(a: Agent, channel_id: str) -> bool:
    """Whether an agent can take an item on a channel, computed from scratch."""
    presence = PRESENCE.get(a.presence_id)
    return (
        presence is not None
        and presence.is_available
        and a.channel_available.get(channel_id, True)
        and a.free_on(CHANNELS[channel_id]) > 0
    )


def oracle_eligible(a: Agent, w: WorkItem, now: datetime) -> bool:
    """The eligibility rules, restated without the index."""
    queue = QUEUES[w.queue_id]
    rule = RULES[queue.rule_id]
    age = (now - w.created_at).total_seconds()
    if queue.routing_mode is not RoutingMode.INTERNAL or a.id in w.excluded_agents:
        return False
    if rule.primary_group_id is not None and rule.primary_group_id not in a.groups:
        in_overflow = rule.overflow_group_id is not None and rule.overflow_group_id in a.groups
        if not in_overflow:
            return False
        if rule.overflow_after_s is not None and age < rule.overflow_after_s:
            return False
    for req in w.skills:
        widened = not req.mandatory and req.widen_after_s is not None and age >= req.widen_after_s
        if not widened and a.skills.get(req.skill_id, 0) < req.min_level:
            return False
    return True


def oracle_agent_key(a: Agent, w: WorkItem) -> tuple[float, float, str]:
    """The rule's agent order, restated: most free capacity or longest idle, then id."""
    idle = a.last_assigned_at.timestamp() if a.last_assigned_at else 0.0
    strategy = RULES[QUEUES[w.queue_id].rule_id].strategy
    if strategy is Strategy.MOST_CAPACITY:
        return (-float(a.free_on(CHANNELS[w.channel_id])), idle, a.id)
    return (idle, 0.0, a.id)


requirements = st.lists(
    st.builds(
        SkillRequirement,
        skill_id=st.sampled_from(SKILLS),
        min_level=st.integers(1, 3),
        mandatory=st.booleans(),
        widen_after_s=st.one_of(st.none(), st.integers(1, 40)),
    ),
    max_size=2,
).map(tuple)

agents_st = st.lists(
    st.builds(
        agent,
        st.sampled_from([f"a{i}" for i in range(8)]),
        presence=st.sampled_from(["available", "available", "away"]),
        cap=st.one_of(st.none(), st.integers(0, 4)),
        overrides=st.dictionaries(st.sampled_from(list(CHANNELS)), st.integers(0, 3)),
        available=st.dictionaries(st.sampled_from(list(CHANNELS)), st.booleans()),
        skills=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 3)),
        groups=st.sets(st.sampled_from(GROUPS), max_size=2),
        load=st.dictionaries(st.sampled_from(list(CHANNELS)), st.integers(0, 3)),
        idle_since=st.one_of(st.none(), st.integers(0, 5)),
    ),
    max_size=6,
    unique_by=lambda a: a.id,
)

items_st = st.lists(
    st.builds(
        item,
        st.sampled_from([f"w{i}" for i in range(30)]),
        queue=st.sampled_from(list(QUEUES)),
        channel=st.sampled_from(["chat", "email"]),
        age_s=st.integers(0, 60),
        priority=st.one_of(st.none(), st.sampled_from([10, 50, 100])),
        skills=requirements,
        excluded=st.sets(st.sampled_from([f"a{i}" for i in range(8)]), max_size=2),
    ),
    max_size=25,
    unique_by=lambda w: w.id,
)


@settings(max_examples=300, deadline=None)
@given(
    agents=agents_st,
    items=items_st,
    removed=st.sets(st.sampled_from([f"w{i}" for i in range(30)]), max_size=5),
    later_s=st.sampled_from([0.0, 7.5, 20.0]),
)
def test_index_agrees_with_brute_force(
    agents: list[Agent], items: list[WorkItem], removed: set[str], later_s: float
) -> None:
    """best_item_for and best_agent_for equal a full scan with the same rules."""
    index = make_index()
    add(index, *agents, *items)
    for item_id in removed:
        index.dequeue(item_id)
    now = NOW + timedelta(seconds=later_s)
    queued = [w for w in items if w.id not in removed]
    assert index.queued_count() == len(queued)
    for a in agents:
        for channel_id in CHANNELS:
            assert index.is_routable(a.id, channel_id) == oracle_routable(a, channel_id)
        candidates = [
            w for w in queued if oracle_routable(a, w.channel_id) and oracle_eligible(a, w, now)
        ]
        expected = min(candidates, key=lambda w: (w.priority, w.created_at, w.id), default=None)
        assert best_item_id(index, a.id, now) == (expected.id if expected else None)
    for w in queued:
        able = [
            a for a in agents if oracle_routable(a, w.channel_id) and oracle_eligible(a, w, now)
        ]
        best = min(able, key=lambda a: oracle_agent_key(a, w), default=None)
        assert best_agent_id(index, w, now) == (best.id if best else None)


def test_strategies_follow_the_configured_rules() -> None:
    """Agents are ordered for a strategy once a rule uses it and the index is told."""
    config = RoutingConfig(
        channels=dict(CHANNELS),
        presence=dict(PRESENCE),
        queues={"q_li": QUEUES["q_li"]},
        rules={"li": RULES["li"]},
    )
    index = RoutingIndex(config)
    add(index, agent("a", idle_since=10), agent("b", idle_since=5))
    assert index.is_routable("a", "chat")
    assert best_agent_id(index, item("i", queue="q_li")) == "b"
    config.queues["q_mc"] = QUEUES["q_mc"]
    config.rules["mc"] = RULES["mc"]
    index.config_changed()
    for a in list(index.agents.values()):
        index.refresh_agent(a)
    a = index.agents["a"]
    a.capacity_overrides["chat"] = 5
    index.refresh_agent(a)
    assert best_agent_id(index, item("i", queue="q_mc")) == "a"
    assert best_agent_id(index, item("i", queue="q_li")) == "b"
