"""Failover with real processes: the leader SIGKILLed under load, and a frozen leader deposed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.cluster.conftest import Cluster, auth, status
from tests.procs import Server
from tests.test_restart_process import check_invariants, snapshot

pytestmark = pytest.mark.timeout(300)
OFFER_TIMEOUT_S = 3
WRAP_UP_LIMIT_S = 2
INTERACTIONS = 24
KILLS = 3
BOUND_S = 60.0
RETRY_PAUSE_S = 0.2


@pytest.fixture
async def store(seeded: Database) -> Database:
    """Offers time out after 3 s (the agent goes away); a quick wrap-up code of 2 s."""
    async with seeded.session() as s, s.begin():
        await s.execute(
            update(t.RuleRow)
            .where(t.RuleRow.id == "standard")
            .values(offer_timeout_s=OFFER_TIMEOUT_S, presence_after_timeout="away")
        )
        s.add(t.WrapUpCodeRow(id="quick", name="Quick", time_limit_s=WRAP_UP_LIMIT_S))
    return seeded


def live(nodes: list[Server]) -> list[Server]:
    """The nodes still running."""
    return [node for node in nodes if node.alive]


async def call(
    nodes: list[Server], method: str, path: str, who: str, key: str, body: Any = None
) -> httpx.Response:
    """A change sent to any live node, retried with its Idempotency-Key until it is answered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_S
    turn = 0
    headers = auth(who) | {"Idempotency-Key": key}
    while True:
        candidates = live(nodes)
        node = candidates[turn % len(candidates)]
        turn += 1
        try:
            async with httpx.AsyncClient(base_url=node.api_url, timeout=20) as c:
                answer = await c.request(method, path, json=body, headers=headers)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code < 500:
            return answer
        assert loop.time() < deadline, f"{method} {path} never answered"
        await asyncio.sleep(RETRY_PAUSE_S)


@dataclass
class Agent:
    """An agent on a feed socket that accepts every offer and wraps it up at once."""

    agent_id: str
    accepts: bool = True
    seqs: list[int] = field(default_factory=list)
    first_seq: int | None = None
    accepted: int = 0
    reconnects: int = 0

    async def run(self, nodes: list[Server], home: int, stop: asyncio.Event) -> None:
        """Follow the feed on any live node, resuming with ?since= after every drop."""
        turn = home
        while not stop.is_set():
            candidates = live(nodes)
            node = candidates[turn % len(candidates)]
            turn += 1
            since = "" if self.first_seq is None else f"&since={self.last}"
            url = node.base_url.replace("http", "ws") + (
                f"/api/v1/agents/{self.agent_id}/feed?token=token-{self.agent_id}{since}"
            )
            with contextlib.suppress(WebSocketException, OSError, TimeoutError):
                async with connect(url, open_timeout=5) as ws:
                    self.reconnects += 1
                    await self._follow(ws, nodes, stop)
            await asyncio.sleep(RETRY_PAUSE_S)

    @property
    def last(self) -> int:
        """The newest sequence number seen."""
        return self.seqs[-1] if self.seqs else (self.first_seq or 0)

    async def _follow(self, ws: Any, nodes: list[Server], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            frame = json.loads(raw)
            if frame["type"] == "hello":
                if self.first_seq is None:
                    self.first_seq = frame["seq"]
                continue
            if frame["type"] == "resumed":
                continue
            self.seqs.append(frame["seq"])
            if frame["type"] == "offer.created" and self.accepts:
                await self._take(nodes, frame["data"])

    async def _take(self, nodes: list[Server], offer: dict[str, Any]) -> None:
        offer_id = offer["offer_id"]
        answer = await call(nodes, "POST", f"/offers/{offer_id}/accept", self.agent_id, offer_id)
        if answer.status_code != 200:
            return  # taken back meanwhile (timed out): the feed says so
        self.accepted += 1
        await call(
            nodes,
            "POST",
            f"/interactions/{offer['document_id']}/end",
            self.agent_id,
            f"end-{offer_id}",
            {"wrap_up_code_id": "quick"},
        )


async def leader_of(nodes: list[Server], not_node: str | None = None) -> tuple[str, int]:
    """The leading node's id and epoch once some live node other than `not_node` leads."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_S
    while True:
        for node in live(nodes):
            with contextlib.suppress(httpx.TransportError, AssertionError):
                view = await asyncio.to_thread(status, node)
                leader = view["leader"]
                if isinstance(leader, dict) and leader["node_id"] != not_node:
                    return str(leader["node_id"]), int(leader["epoch"])
        assert loop.time() < deadline, "no node took the lead"
        await asyncio.sleep(RETRY_PAUSE_S)


async def node_serving(nodes: list[Server], node_id: str) -> Server:
    """The live node whose cluster view says it is `node_id`."""
    for node in live(nodes):
        view = await asyncio.to_thread(status, node)
        if view["node_id"] == node_id:
            return node
    msg = f"no live node is {node_id}"
    raise AssertionError(msg)


async def settled(db: Database) -> bool:
    """No offer pending and no interaction in wrap-up."""
    async with db.session() as s:
        pending = await s.scalar(select(t.OfferRow.id).where(t.OfferRow.state == "pending"))
        wrapping = await s.scalar(
            select(t.InteractionRow.id).where(t.InteractionRow.state == "wrap_up")
        )
    return pending is None and wrapping is None


async def feeds_caught_up(db: Database, agents: list[Agent]) -> bool:
    """Every agent's socket has seen the newest event stored for that agent."""
    async with db.session() as s:
        for agent in agents:
            newest = await s.scalar(
                select(func.max(t.AgentEventRow.seq)).where(
                    t.AgentEventRow.agent_id == agent.agent_id
                )
            )
            if newest is not None and agent.last < newest:
                return False
    return True


async def test_leader_killed_three_times_under_load(store: Database, cluster: Cluster) -> None:
    nodes = [cluster.start() for _ in range(3)]
    first_leader, first_epoch = await leader_of(nodes)
    stop = asyncio.Event()
    agents = [Agent("alice"), Agent("bob"), Agent("carol", accepts=False)]
    followers = [asyncio.create_task(agent.run(nodes, n, stop)) for n, agent in enumerate(agents)]
    created: list[str] = []

    async def load() -> None:
        body = {"channel_id": "chat", "queue_id": "support"}
        for n in range(INTERACTIONS):
            answer = await call(nodes, "POST", "/interactions", "integration", f"load-{n}", body)
            assert answer.status_code == 201, answer.text
            created.append(answer.json()["id"])
            await asyncio.sleep(0.25)

    loader = asyncio.create_task(load())
    leaders = [first_leader]
    epoch = first_epoch
    for kill in range(KILLS):
        while len(created) < (kill + 1) * INTERACTIONS // (KILLS + 1):
            await asyncio.sleep(RETRY_PAUSE_S)
        victim = await node_serving(nodes, leaders[-1])
        assert victim.kill() == -signal.SIGKILL
        leader, new_epoch = await leader_of(nodes, not_node=leaders[-1])
        assert new_epoch > epoch
        leaders.append(leader)
        epoch = new_epoch
        nodes.append(cluster.start())
    await asyncio.wait_for(loader, BOUND_S * 2)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_S
    while not await settled(store):
        assert loop.time() < deadline, "routing did not settle"
        await asyncio.sleep(RETRY_PAUSE_S)
    while not await feeds_caught_up(store, agents):
        assert loop.time() < deadline, "the last frames never reached the agents' sockets"
        await asyncio.sleep(RETRY_PAUSE_S)
    stop.set()
    await asyncio.gather(*followers)

    assert len(set(leaders)) == KILLS + 1, leaders
    # The killed leaders' heartbeat rows are still there: the view shows one leader, the lease's.
    view = await asyncio.to_thread(status, live(nodes)[0])
    rows = view["nodes"]
    assert isinstance(rows, list)
    assert [n["node_id"] for n in rows if n["role"] == "leader"] == [leaders[-1]], view
    assert len(created) == len(set(created)) == INTERACTIONS
    snap = await snapshot(store)
    check_invariants(snap, set(created))
    assert any(o.state == "timed_out" for o in snap.offers.values()), "no offer timed out"
    assert any(o.state == "accepted" for o in snap.offers.values())
    closed = [i for i in snap.interactions.values() if i.state == "closed_complete"]
    assert closed, "no wrap-up limit fired"
    for agent in agents:
        assert agent.first_seq is not None
        stored = [e.seq for e in snap.events if e.agent_id == agent.agent_id]
        expected = [seq for seq in stored if seq > agent.first_seq]
        assert agent.seqs == expected, f"{agent.agent_id}'s feed has a gap or a duplicate"
    assert sum(agent.accepted for agent in agents) > 0


async def test_a_frozen_leader_writes_nothing_after_a_takeover(
    store: Database, cluster: Cluster
) -> None:
    first = cluster.start()
    second = cluster.start()
    nodes = [first, second]
    frozen_id, epoch = await leader_of(nodes)
    frozen = await node_serving(nodes, frozen_id)
    other = second if frozen is first else first
    frozen.process.send_signal(signal.SIGSTOP)
    try:
        new_leader, new_epoch = await leader_of([other], not_node=frozen_id)
        assert new_epoch > epoch
        old_term = await _changes_of(store, epoch)
        # Sent to the frozen node: it waits in its socket until the node runs again.
        late = asyncio.create_task(
            asyncio.to_thread(
                httpx.put,
                f"{frozen.api_url}/agents/alice/presence",
                json={"presence_id": "away"},
                headers=auth("alice"),
                timeout=60,
            )
        )
        made = await call(
            [other], "PUT", "/agents/bob/presence", "bob", "b1", {"presence_id": "away"}
        )
        assert made.status_code == 200
    finally:
        frozen.process.send_signal(signal.SIGCONT)
    answer = await late
    view = await asyncio.to_thread(status, other)
    leader = view["leader"]
    assert isinstance(leader, dict)
    assert leader["node_id"] == new_leader
    assert leader["epoch"] == new_epoch
    async with store.session() as s:
        alice = await s.get(t.AgentRow, "alice")
        lease = await s.get(t.ClusterLeaseRow, 1)
    assert alice is not None
    assert lease is not None
    assert lease.epoch == new_epoch
    assert lease.node_id == new_leader
    # The frozen node's change either reached the new leader (forwarded) or changed nothing.
    if answer.status_code == 200:
        assert alice.presence_id == "away"
    else:
        assert answer.status_code == 503
        assert alice.presence_id == "available"
    snap = await snapshot(store)
    check_invariants(snap, set())
    # The old leader stepped down: its own view names the new leader.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_S
    while (await asyncio.to_thread(status, frozen))["leader"] != leader:
        assert loop.time() < deadline, "the frozen leader did not step down"
        await asyncio.sleep(RETRY_PAUSE_S)
    # Every commit writes a change-log row in its own statement: none of the old term since.
    assert await _changes_of(store, epoch) == old_term


async def _changes_of(db: Database, epoch: int) -> int:
    """How many commits of this term are in the store."""
    async with db.session() as s:
        count = await s.scalar(select(func.count()).where(t.EngineChangeRow.epoch == epoch))
    return int(count or 0)
