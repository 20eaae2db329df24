"""Engine benchmarks: offers made and stored per second, and decision cost growth."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.data import create_schema, seed_agents, seed_config, seed_items
from omniroute.core.messages import SetPresence
from omniroute.core.routing import make_offer, rule_terms
from omniroute.core.state import Tx
from omniroute.engine.clock import SystemClock
from omniroute.engine.engine import Engine
from omniroute.engine.loader import load_state
from omniroute.store.db import Database

AGENTS = 10_000
ITEMS = 100_000
QUEUES = 50


@dataclass
class EngineResult:
    """What the engine benchmark measured."""

    offers: int
    seconds: float
    load_seconds: float

    @property
    def offers_per_s(self) -> float:
        """Offers made and committed per second."""
        return self.offers / self.seconds


async def prepare(path: Path, items: int, agents: int = AGENTS) -> Database:
    """A SQLite file with agents (offline) and queued items."""
    path.unlink(missing_ok=True)  # noqa: ASYNC240 - set-up, before any timing
    db = Database(f"sqlite+aiosqlite:///{path}")
    await create_schema(db)
    queues = await seed_config(db, QUEUES)
    await seed_agents(db, agents)
    await seed_items(db, queues, items)
    return db


async def offers_per_second(workdir: Path) -> EngineResult:
    """All agents become available at once; the engine offers until capacity is full."""
    db = await prepare(workdir / "engine.db", ITEMS)
    engine = Engine(db)
    t0 = time.perf_counter()
    await engine.start()
    load_s = time.perf_counter() - t0
    agent_ids = list(engine.state.agents)
    t1 = time.perf_counter()

    await asyncio.gather(*(engine.execute(SetPresence(a, "available")) for a in agent_ids))
    elapsed = time.perf_counter() - t1
    offers = len(engine.state.offers)
    await engine.stop()
    await db.dispose()
    return EngineResult(offers, elapsed, load_s)


async def decision_seconds(
    workdir: Path, items: int, decisions: int = 300, rounds: int = 3
) -> float:
    """Median in-memory time of one routing decision (find work for an agent, offer it)."""
    db = await prepare(workdir / f"growth-{items}.db", items)
    async with db.session() as session:
        state = await load_state(session)
    await db.dispose()
    now = SystemClock().now()
    agents = list(state.agents.values())
    for agent in agents:
        agent.presence_id = "available"
        state.index.refresh_agent(agent)
    samples: list[float] = []
    cursor = 0
    for _ in range(rounds):
        tx = Tx(state, now)
        made = 0
        t0 = time.perf_counter()
        while made < decisions:
            agent = agents[cursor % len(agents)]
            cursor += 1
            item = state.index.best_item_for(agent, now)
            if item is None:
                continue
            make_offer(tx, item, agent, rule_terms(tx, item))
            made += 1
        samples.append((time.perf_counter() - t0) / decisions)
    return statistics.median(samples)
