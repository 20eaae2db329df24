"""Synthetic routing data written straight into a store."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import insert

from omniroute.auth_tokens import hash_token
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.tables import Base

SKILLS = ["english", "french", "german", "billing", "technical", "sales"]
CHANNELS = {"chat": 3, "email": 5, "case": 5}
START = datetime(2026, 1, 1, tzinfo=UTC)
ALL_WEEK = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def create_schema(db: Database) -> None:
    """Create every table."""
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)


async def seed_config(
    db: Database,
    queues: int = 50,
    offer_timeout_s: int | None = 600,
    capacity: int | None = None,
    *,
    hours_and_steps: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Channels, presence, skills, one rule and `queues` queues with mixed skill needs."""
    rng = random.Random(7)
    queue_ids = [f"q{i:02d}" for i in range(queues)]
    out: dict[str, list[dict[str, Any]]] = {}
    async with db.session() as s, s.begin():
        for ch, cap in CHANNELS.items():
            s.add(t.ChannelRow(id=ch, name=ch, default_capacity=capacity or cap))
        s.add_all(
            [
                t.PresenceStateRow(id="available", name="Available", is_available=True),
                t.PresenceStateRow(id="offline", name="Offline", is_available=False),
            ]
        )
        s.add_all([t.SkillRow(id=sk, name=sk) for sk in SKILLS])
        s.add(
            t.RuleRow(id="r", name="r", strategy="most_capacity", offer_timeout_s=offer_timeout_s)
        )
        # With `hours_and_steps` every queue is on a calendar (open around the clock, in a
        # zone with DST changes) with three escalation steps whose waits outlast the run:
        # routing pays for them.
        s.add(t.CalendarRow(id="cal", name="cal", tz="Europe/Berlin", weekly=ALL_WEEK))
        await s.flush()
        for i, qid in enumerate(queue_ids):
            skills: list[dict[str, Any]] = []
            if i % 3:
                skills.append(
                    {
                        "skill_id": rng.choice(SKILLS),
                        "min_level": rng.randint(1, 3),
                        "mandatory": True,
                        "widen_after_s": None,
                    }
                )
            if i % 5 == 0:
                skills.append(
                    {
                        "skill_id": rng.choice(SKILLS),
                        "min_level": 2,
                        "mandatory": False,
                        "widen_after_s": 300,
                    }
                )
            out[qid] = skills
            s.add(
                t.QueueRow(
                    id=qid,
                    name=qid,
                    channels=[list(CHANNELS)[i % len(CHANNELS)]],
                    priority=1 + i % 5,
                    rule_id="r",
                    skills=skills,
                    calendar_id="cal" if hours_and_steps else None,
                    escalation=_steps(i, queue_ids[0]) if hours_and_steps else [],
                )
            )
    return out


def _steps(i: int, first_queue: str) -> list[dict[str, Any]]:
    """Three escalation steps: widen, raise the priority, move to the first queue."""
    last: dict[str, Any] = (
        {"after_s": 10800, "action": "move_queue", "queue_id": first_queue}
        if i
        else {"after_s": 10800, "action": "raise_priority", "raise_by": 1}
    )
    return [
        {"after_s": 3600, "action": "widen", "drop_skills": [SKILLS[i % 6]]},
        {"after_s": 7200, "action": "raise_priority", "raise_by": 1},
        last,
    ]


async def seed_agents(db: Database, count: int, presence: str = "offline") -> list[str]:
    """Agents holding random skills at random levels, each with an agent token."""
    rng = random.Random(11)
    ids = [f"a{i:05d}" for i in range(count)]
    agents, skills, tokens = [], [], []
    for aid in ids:
        agents.append(
            {
                "id": aid,
                "name": aid,
                "email": f"{aid}@bench.test",
                "presence_id": presence,
                "created_at": START,
                "allow_external": True,
            }
        )
        for sk in rng.sample(SKILLS, rng.randint(2, 5)):
            skills.append({"agent_id": aid, "skill_id": sk, "level": rng.randint(1, 5)})
        tokens.append(
            {
                "id": f"t-{aid}",
                "name": aid,
                "token_hash": hash_token(f"tok-{aid}"),
                "role": "agent",
                "agent_id": aid,
                "created_at": START,
            }
        )
    tokens.append(
        {
            "id": "t-admin",
            "name": "admin",
            "token_hash": hash_token("tok-admin"),
            "role": "admin",
            "agent_id": None,
            "created_at": START,
        }
    )
    tokens.append(
        {
            "id": "t-int",
            "name": "int",
            "token_hash": hash_token("tok-int"),
            "role": "integration",
            "agent_id": None,
            "created_at": START,
        }
    )
    async with db.session() as s, s.begin():
        await s.execute(insert(t.AgentRow), agents)
        await s.execute(insert(t.AgentSkillRow), skills)
        await s.execute(insert(t.ApiTokenRow), tokens)
    return ids


async def seed_items(
    db: Database,
    queues: dict[str, list[dict[str, Any]]],
    count: int,
    start: datetime = START,
) -> None:
    """`count` queued interactions with their work items, spread over the queues.

    One arrives every millisecond from `start`.
    """
    rng = random.Random(13)
    channels = list(CHANNELS)
    queue_ids = list(queues)
    docs, items = [], []
    for i in range(count):
        qi = rng.randrange(len(queue_ids))
        ch = channels[qi % len(channels)]
        created = start + timedelta(milliseconds=i)
        doc_id, item_id = f"d{i:07d}", f"w{i:07d}"
        docs.append(
            {
                "id": doc_id,
                "channel_id": ch,
                "state": "on_hold",
                "work_item_id": item_id,
                "customer_name": "",
                "customer_email": "",
                "subject": "",
                "created_at": created,
                "updated_at": created,
            }
        )
        items.append(
            {
                "id": item_id,
                "document_type": "interaction",
                "document_id": doc_id,
                "queue_id": queue_ids[qi],
                "channel_id": ch,
                "state": "queued",
                "rejected": False,
                "timed_out": False,
                "offer_count": 0,
                "priority": 1 + qi % 5,
                "skills": queues[queue_ids[qi]],
                "excluded_agents": [],
                "created_at": created,
                "updated_at": created,
            }
        )
    async with db.session() as s, s.begin():
        for at in range(0, count, 20_000):
            await s.execute(insert(t.InteractionRow), docs[at : at + 20_000])
            await s.execute(insert(t.WorkItemRow), items[at : at + 20_000])


def mark_migrated(path: Path) -> None:
    """Stamp a SQLite file built by `create_schema` as at the newest migration, for `serve`."""
    command.stamp(migrate.alembic_config(f"sqlite:///{path}"), "head")


def plain_queues(queues: dict[str, list[dict[str, Any]]], channel: str = "chat") -> list[str]:
    """The queues of `seed_config` on `channel` that need no mandatory skill."""
    channels = list(CHANNELS)
    return [
        qid
        for i, (qid, skills) in enumerate(queues.items())
        if channels[i % len(channels)] == channel and not any(s["mandatory"] for s in skills)
    ]


async def seed_external_queue(
    db: Database,
    *,
    spoke: str,
    sim_base: str,
    secret: str,
    provider_queue_id: str,
    queue_id: str = "ext",
    wrap_up_code_id: str = "resolved",
) -> tuple[str, str]:
    """A webhook spoke to the simulator, an external chat queue and a wrap-up code without limit."""
    async with db.session() as s, s.begin():
        s.add(
            t.SpokeRow(
                name=spoke,
                kind="webhook",
                settings={
                    "url": f"{sim_base}/webhook",
                    "catalog_url": f"{sim_base}/catalog",
                    "secret": secret,
                    "timeout_s": 10,
                },
                presence_map={"available": "On Queue", "offline": "Offline"},
                created_at=START,
                updated_at=START,
            )
        )
        s.add(t.WrapUpCodeRow(id=wrap_up_code_id, name="Resolved", time_limit_s=None))
        await s.flush()
        s.add(
            t.QueueRow(
                id=queue_id,
                name=queue_id,
                channels=["chat"],
                priority=1,
                routing_mode="external",
                rule_id="r",
                skills=[],
                spoke=spoke,
                provider_queue_id=provider_queue_id,
            )
        )
    return queue_id, wrap_up_code_id
