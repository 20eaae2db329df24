"""Engine benchmarks: offers made and stored per second, and decision cost growth."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.data import create_schema, seed_agents, seed_config, seed_items
from omniroute.core.messages import SetPresence
from omniroute.core.routing import make_offer, rule_terms
from omniroute.core.state import Tx
from omniroute.engine.clock import SystemClock
from omniroute.engine.engine import Engine
from omniroute.engine.loader import load_state
from omniroute.store.db import Database

# Sizes may be set smaller for a quick comparison (the figures' names stay the same).
AGENTS = int(os.environ.get("OMNIROUTE_BENCH_AGENTS", "10000"))
ITEMS = int(os.environ.get("OMNIROUTE_BENCH_ITEMS", "100000"))
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


async def prepare(
    path: Path, items: int, agents: int = AGENTS, *, hours_and_steps: bool = True
) -> Database:
    """A SQLite file with agents (offline) and queued items."""
    path.unlink(missing_ok=True)  # noqa: ASYNC240 - set-up, before any timing
    db = Database(f"sqlite+aiosqlite:///{path}")
    await create_schema(db)
    queues = await seed_config(db, QUEUES, hours_and_steps=hours_and_steps)
    await seed_agents(db, agents)
    # The engine runs on the wall clock: the items arrived one a millisecond until twenty
    # minutes ago, past every skill's widening wait (five minutes) and before the first
    # escalation step (an hour), which so falls due after the run, not for every item at start.
    arrived = datetime.now(UTC) - timedelta(minutes=20, milliseconds=items)
    await seed_items(db, queues, items, start=arrived)
    return db


async def offers_per_second(workdir: Path, *, hours_and_steps: bool = True) -> EngineResult:
    """All agents become available at once; the engine offers until capacity is full."""
    db = await prepare(workdir / "engine.db", ITEMS, hours_and_steps=hours_and_steps)
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
    workdir: Path,
    items: int,
    decisions: int = 300,
    rounds: int = 3,
    *,
    hours_and_steps: bool = True,
) -> float:
    """Median in-memory time of one routing decision (find work for an agent, offer it)."""
    db = await prepare(workdir / f"growth-{items}.db", items, hours_and_steps=hours_and_steps)
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


async def run(workdir: Path, *, hours_and_steps: bool) -> dict[str, float | int]:
    """The engine figures; with `hours_and_steps` their names end in `_hours_steps`."""
    suffix = "_hours_steps" if hours_and_steps else ""
    eng = await offers_per_second(workdir, hours_and_steps=hours_and_steps)
    small = await decision_seconds(workdir, 1_000, hours_and_steps=hours_and_steps)
    large = await decision_seconds(workdir, ITEMS, hours_and_steps=hours_and_steps)
    figures: dict[str, float | int] = {
        "engine_offers_per_s": round(eng.offers_per_s, 1),
        "engine_offers": eng.offers,
        "engine_load_s": round(eng.load_seconds, 2),
        "engine_decision_us_1k": round(small * 1e6, 1),
        "engine_decision_us_100k": round(large * 1e6, 1),
        "engine_cost_growth": round(large / small, 3),
    }
    return {f"{name}{suffix}": value for name, value in figures.items()}


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        steps = "--hours-steps" in sys.argv
        print(json.dumps(asyncio.run(run(Path(tmp), hours_and_steps=steps))))
