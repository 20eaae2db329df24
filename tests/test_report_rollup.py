"""The interval roll-up, run in several catch-ups, agrees with one pass over every stored record."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from omniroute.services.reports.figures import (
    COUNTS,
    SUMS,
    Item,
    OfferRec,
    Stat,
    chunk_stats,
)
from omniroute.services.reports.query import report
from omniroute.services.reports.rollup import Rollup, _presence
from omniroute.services.supervisor.overview import DEFAULT_THRESHOLD_S
from omniroute.store import tables as t
from omniroute.store.db import Database

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=2, hours=12)
AGENTS = [f"a{i}" for i in range(4)]
QUEUES = ["q0", "q1", "q2"]


async def _config(db: Database) -> None:
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
        s.add_all([t.QueueRow(id=q, name=q, channels=["chat"], rule_id="r") for q in QUEUES])
        s.add(t.QueueServiceLevelRow(queue_id="q1", threshold_s=45, updated_at=START))
        # a0 never changes presence: it counts from its stored state.
        s.add_all(
            [
                t.AgentRow(
                    id=a,
                    name=a,
                    email=f"{a}@rollup.test",
                    presence_id="available",
                    presence_since=START - timedelta(hours=1),
                    created_at=START - timedelta(days=1),
                )
                for a in AGENTS
            ]
        )


def _item(i: int, rng: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    created = START + timedelta(
        seconds=rng.uniform(0, 2 * 86_400), microseconds=rng.randrange(10**6)
    )
    agent = rng.choice(AGENTS)
    kind = rng.choice(["handled", "handled", "open", "abandoned", "rerouted", "long"])
    accepted = ended = None
    state, reason = "closed", None
    if kind in {"handled", "open", "long"}:
        accepted = created + timedelta(seconds=rng.uniform(1, 90))
        hold = (
            timedelta(days=1, hours=3)
            if kind == "long"
            else timedelta(seconds=rng.uniform(30, 4000))
        )
        ended = None if kind == "open" else accepted + hold
        state = "accepted" if kind == "open" else "closed"
    else:
        ended = created + timedelta(seconds=rng.uniform(5, 1200))
        state = "cancelled"
        reason = "document_closed" if kind == "abandoned" else "rerouted"
    transfer = i % 7 == 0
    item: dict[str, Any] = {
        "id": f"w{i}",
        "document_type": "interaction",
        "document_id": f"d{i}",
        "queue_id": rng.choice(QUEUES),
        "channel_id": "chat",
        "state": state,
        "cancel_reason": reason,
        "priority": 1,
        "skills": [],
        "excluded_agents": [],
        "transfer_type": "blind" if transfer else None,
        "transfer_from_agent_id": rng.choice(AGENTS) if transfer else None,
        "agent_id": agent if accepted else None,
        "created_at": created,
        "updated_at": created,
        "accepted_at": accepted,
        "ended_at": ended,
    }
    offers = []
    first_end = created + timedelta(seconds=rng.uniform(0.5, 1))
    if rng.random() < 0.4:
        offers.append(_offer(f"o{i}r", f"w{i}", rng.choice(AGENTS), "rejected", created, first_end))
    outcome = "accepted" if accepted else rng.choice(["timed_out", "withdrawn"])
    offers.append(_offer(f"o{i}", f"w{i}", agent, outcome, first_end, accepted or ended))
    return item, offers


def _offer(
    oid: str, item: str, agent: str, state: str, at: datetime, ended: datetime | None
) -> dict[str, Any]:
    return {
        "id": oid,
        "work_item_id": item,
        "agent_id": agent,
        "state": state,
        "created_at": at,
        "ended_at": ended,
        "allowed_to_decline": True,
        "auto_accept": False,
    }


def _presence_events(rng: random.Random) -> list[dict[str, Any]]:
    times = sorted(START + timedelta(seconds=rng.uniform(0, 2.4 * 86_400)) for _ in range(40))
    return [
        {
            "seq": seq,
            "agent_id": rng.choice(AGENTS[1:]),
            "type": "presence.changed",
            "payload": {
                "presence_id": rng.choice(["available", "away"]),
                "channel_available": {},
                "reason": "agent",
            },
            "created_at": at,
        }
        for seq, at in enumerate(times, start=1)
    ]


async def _seed(db: Database) -> None:
    rng = random.Random(23)
    await _config(db)
    made = [_item(i, rng) for i in range(120)]
    async with db.session() as s, s.begin():
        await s.execute(insert(t.WorkItemRow), [item for item, _ in made])
        await s.execute(insert(t.OfferRow), [o for _, offers in made for o in offers])
        await s.execute(insert(t.AgentEventRow), _presence_events(rng))


async def _one_pass(db: Database) -> dict[datetime, dict[tuple[str, str], Stat]]:
    """Every interval of [START, END) from all stored records at once: the reference."""
    wi, of = t.WorkItemRow, t.OfferRow
    async with db.session() as s:
        items = [
            Item(*row)
            for row in await s.execute(
                select(
                    wi.queue_id,
                    wi.agent_id,
                    wi.created_at,
                    wi.accepted_at,
                    wi.ended_at,
                    wi.state,
                    wi.cancel_reason,
                    wi.transfer_type,
                    wi.transfer_from_agent_id,
                )
            )
        ]
        offers = [
            OfferRec(*row)
            for row in await s.execute(
                select(wi.queue_id, of.agent_id, of.state, of.created_at, of.ended_at).join(
                    wi, wi.id == of.work_item_id
                )
            )
        ]
        presence = await _presence(s, START, END)
    chunk = chunk_stats(START, END, items, offers, presence, {"q1": 45}, DEFAULT_THRESHOLD_S)
    out: dict[datetime, dict[tuple[str, str], Stat]] = {}
    for start, stats in chunk.stats.items():
        out[start] = dict(stats)
    for start, agents in chunk.presence.items():
        for agent, seconds in agents.items():
            stat = out.setdefault(start, {}).setdefault(("agent", agent), Stat())
            stat.presence_s = dict(seconds)
    return out


def _same(got: Stat, want: Stat) -> None:
    for name in (*COUNTS, *SUMS, "longest_wait_s"):
        assert getattr(got, name) == pytest.approx(getattr(want, name)), name
    assert got.presence_s == pytest.approx(want.presence_s)


async def test_rollup_in_steps_matches_one_pass(db: Database) -> None:
    await _seed(db)
    # Catch-ups that stop mid-day, a fresh roll-up object (nothing carried), then one run
    # over more than a day: chunks start mid-day and items are held across whole days.
    await Rollup(db, retention_days=90).catch_up(START + timedelta(hours=7, minutes=40))
    rollup = Rollup(db, retention_days=90)
    await rollup.catch_up(START + timedelta(days=1, hours=3))
    await rollup.catch_up(END)
    reference = await _one_pass(db)
    for scope in ("queue", "agent"):
        keys = QUEUES if scope == "queue" else AGENTS
        async with db.session() as s:
            per_interval = await report(s, scope, START, END, "15m")
            # Whole days come from the daily rows, the edges from the intervals.
            total = await report(s, scope, START + timedelta(hours=6), END, "total")
        got = {(row.key, row.start): row.stat for row in per_interval}
        want = {
            (key, start): stat
            for start, stats in reference.items()
            for (sc, key), stat in stats.items()
            if sc == scope
        }
        assert got.keys() == want.keys()
        for where, stat in want.items():
            _same(got[where], stat)
        sums = {key: Stat() for key in keys}
        for (key, start), stat in want.items():
            if start >= START + timedelta(hours=6):
                sums[key].add(stat)
        assert {row.key for row in total} == {k for k, v in sums.items() if not v.empty()}
        for row in total:
            _same(row.stat, sums[row.key])
    assert any(stat.busy_s > 0 for stats in reference.values() for stat in stats.values())
