"""Report benchmark: a 90-day per-agent report over 1,000,000 stored interactions (PostgreSQL).

The interactions, their work items and offers, and the agents' presence changes are written
straight into a fresh database; the interval statistics are then rolled up from them as the
server does, and the report query is timed. It runs on the PostgreSQL server that
`OMNIROUTE_BENCH_PG_URL` names, or else on one it starts itself as the cluster benchmark does
(null, with `report_error`, when PostgreSQL is not installed).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.cluster_bench import postgres
from omniroute.services.reports.query import report
from omniroute.services.reports.rollup import Rollup
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.tables import Base

AGENTS = 500
INTERACTIONS = 1_000_000
QUEUES = 20
DAYS = 90
RUNS = 30
BATCH = 20_000
END = datetime(2026, 4, 1, tzinfo=UTC)


def pg_url() -> str | None:
    """The PostgreSQL server to benchmark on, if any."""
    return os.environ.get("OMNIROUTE_BENCH_PG_URL")


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _seed_config(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with db.session() as s, s.begin():
        s.add(t.ChannelRow(id="chat", name="chat", default_capacity=3))
        s.add_all(
            [
                t.PresenceStateRow(id="available", name="Available", is_available=True),
                t.PresenceStateRow(id="away", name="Away", is_available=False),
            ]
        )
        s.add(t.RuleRow(id="r", name="r", strategy="most_capacity", offer_timeout_s=30))
        await s.flush()
        s.add_all(
            [
                t.QueueRow(id=f"q{i}", name=f"q{i}", channels=["chat"], rule_id="r")
                for i in range(QUEUES)
            ]
        )
        await s.flush()
        s.add_all(
            [
                t.AgentRow(
                    id=f"a{i:03d}",
                    name=f"a{i:03d}",
                    email=f"a{i:03d}@bench.test",
                    presence_id="available",
                    presence_since=END - timedelta(days=DAYS + 1),
                    created_at=END - timedelta(days=DAYS + 1),
                )
                for i in range(AGENTS)
            ]
        )


def _rows(i: int, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    # Stored in time order, as a server writes them.
    step = DAYS * 86_400 / INTERACTIONS
    created = END - timedelta(days=DAYS) + timedelta(seconds=(i + rng.random()) * step)
    agent = f"a{rng.randrange(AGENTS):03d}"
    queue = f"q{rng.randrange(QUEUES)}"
    wait = rng.uniform(1, 120)
    abandoned = rng.random() < 0.05
    accepted = None if abandoned else created + timedelta(seconds=wait)
    ended = (
        created + timedelta(seconds=wait)
        if abandoned
        else created + timedelta(seconds=wait + rng.uniform(60, 900))
    )
    doc = f"i{i:07d}"
    interaction = {
        "id": doc,
        "channel_id": "chat",
        "state": "closed_abandoned" if abandoned else "closed_complete",
        "agent_id": None if abandoned else agent,
        "work_item_id": f"w{i:07d}",
        "customer_name": "",
        "customer_email": "",
        "subject": "",
        "created_at": created,
        "updated_at": ended,
        "closed_at": ended,
    }
    item = {
        "id": f"w{i:07d}",
        "document_type": "interaction",
        "document_id": doc,
        "queue_id": queue,
        "channel_id": "chat",
        "state": "cancelled" if abandoned else "closed",
        "cancel_reason": "document_closed" if abandoned else None,
        "priority": 100,
        "rejected": False,
        "timed_out": False,
        "offer_count": 1,
        "skills": "[]",
        "excluded_agents": "[]",
        "escalation_step": 0,
        "agent_id": None if abandoned else agent,
        "created_at": created,
        "updated_at": ended,
        "accepted_at": accepted,
        "ended_at": ended,
    }
    offer = {
        "id": f"o{i:07d}",
        "work_item_id": f"w{i:07d}",
        "agent_id": agent,
        "state": "withdrawn" if abandoned else "accepted",
        "created_at": created,
        "expires_at": None,
        "allowed_to_decline": True,
        "auto_accept": False,
        "ended_at": ended if abandoned else accepted,
    }
    return interaction, item, offer


async def _copy(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk-load rows with PostgreSQL's COPY (a million rows in seconds, not minutes)."""
    columns = list(rows[0])
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        # The rows are consistent by construction: skip the per-row foreign-key triggers.
        await pg.execute("SET session_replication_role = replica")
        await pg.copy_records_to_table(
            table, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
        )
        await pg.execute("RESET session_replication_role")


async def _seed_history(db: Database) -> None:
    rng = random.Random(5)
    for first in range(0, INTERACTIONS, BATCH * 5):
        rows = [_rows(i, rng) for i in range(first, min(first + BATCH * 5, INTERACTIONS))]
        await _copy(db, "interactions", [r[0] for r in rows])
        await _copy(db, "work_items", [r[1] for r in rows])
        await _copy(db, "offers", [r[2] for r in rows])
    events = []
    seq = 1
    for day in range(DAYS):
        for i in range(AGENTS):
            start = END - timedelta(days=DAYS - day) + timedelta(hours=8)
            for hours, presence in ((0, "available"), (4, "away"), (5, "available"), (9, "away")):
                payload = {"presence_id": presence, "channel_available": {}, "reason": "agent"}
                events.append(
                    {
                        "seq": seq,
                        "agent_id": f"a{i:03d}",
                        "type": "presence.changed",
                        "payload": json.dumps(payload),
                        "created_at": start + timedelta(hours=hours, minutes=i % 30),
                    }
                )
                seq += 1
    await _copy(db, "agent_events", events)
    # As autovacuum would have done on a server that stored these rows over 90 days.
    engine = create_async_engine(db.url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


async def run(workdir: Path) -> dict[str, Any]:
    """The report figures on `OMNIROUTE_BENCH_PG_URL`, or on a PostgreSQL started here."""
    url = pg_url()
    if url is not None:
        return await measure(url)
    try:
        with postgres(workdir) as own:
            return await measure(own)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as err:
        return {"report_query_ms_p99": None, "report_error": str(err)}


async def measure(url: str) -> dict[str, Any]:
    """Seed, roll up and time the 90-day per-agent report."""
    base = make_url(url)
    name = f"{base.database}_report_bench"
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(url, f'CREATE DATABASE "{name}"')
    db = Database(base.set(database=name).render_as_string(hide_password=False))
    try:
        t0 = time.perf_counter()
        await _seed_config(db)
        await _seed_history(db)
        seed_s = time.perf_counter() - t0
        rollup = Rollup(db, retention_days=DAYS + 1)
        t1 = time.perf_counter()
        await rollup.catch_up(END)
        rollup_s = time.perf_counter() - t1
        # As the API answers a report: the catch-up check (nothing due), then the query.
        checks, timings = [], []
        for _ in range(RUNS):
            t2 = time.perf_counter()
            await rollup.catch_up(END)
            t3 = time.perf_counter()
            async with db.session() as session:
                rows = await report(session, "agent", END - timedelta(days=DAYS), END, "total")
            timings.append((time.perf_counter() - t3) * 1000)
            checks.append((t3 - t2) * 1000)
        assert len(rows) == AGENTS
        return {
            "report_query_ms_p50": round(statistics.median(timings), 1),
            "report_query_ms_p99": round(statistics.quantiles(timings, n=100)[98], 1),
            "report_catch_up_ms_p99": round(statistics.quantiles(checks, n=100)[98], 1),
            "report_seed_s": round(seed_s, 1),
            "report_rollup_s": round(rollup_s, 1),
        }
    finally:
        await db.dispose()
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    import asyncio
    import tempfile

    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        print(json.dumps(asyncio.run(run(Path(tmp)))))
