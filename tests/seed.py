"""Helpers that put routing configuration in a test database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from omniroute.store import tables as t
from omniroute.store.db import Database

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def seed_catalog(db: Database) -> None:
    """Channels, presence states, skills, groups, reject reasons and wrap-up codes."""
    async with db.session() as s, s.begin():
        s.add_all(
            [
                t.ChannelRow(id="chat", name="Chat", default_capacity=2),
                t.ChannelRow(id="email", name="Email", default_capacity=3),
                t.ChannelRow(id="case", name="Case", default_capacity=3),
                t.ChannelRow(id="voice", name="Voice", default_capacity=1),
                t.PresenceStateRow(id="available", name="Available", is_available=True),
                t.PresenceStateRow(id="away", name="Away", is_available=False),
                t.PresenceStateRow(id="offline", name="Offline", is_available=False),
                t.SkillRow(id="english", name="English"),
                t.SkillRow(id="french", name="French"),
                t.SkillRow(id="billing", name="Billing"),
                t.GroupRow(id="tier1", name="Tier 1"),
                t.GroupRow(id="tier2", name="Tier 2"),
                t.RejectReasonRow(id="busy", name="Busy", reassignable=True),
                t.RejectReasonRow(id="wrong", name="Wrong skill", reassignable=False),
                t.RejectReasonRow(
                    id="email-only", name="Email only", reassignable=False, channel_id="email"
                ),
                t.WrapUpCodeRow(id="resolved", name="Resolved"),
                t.WrapUpCodeRow(id="follow-up", name="Follow up", time_limit_s=60),
            ]
        )


async def add_rule(db: Database, rule_id: str = "standard", **fields: Any) -> None:
    """An assignment rule."""
    values: dict[str, Any] = {"strategy": "most_capacity", "offer_timeout_s": 30} | fields
    async with db.session() as s, s.begin():
        s.add(t.RuleRow(id=rule_id, name=rule_id, **values))


async def add_queue(
    db: Database,
    queue_id: str,
    channels: Sequence[str] = ("chat",),
    rule_id: str = "standard",
    **fields: Any,
) -> None:
    """A queue."""
    async with db.session() as s, s.begin():
        s.add(
            t.QueueRow(
                id=queue_id, name=queue_id, channels=list(channels), rule_id=rule_id, **fields
            )
        )


async def add_agent(
    db: Database,
    agent_id: str,
    presence: str = "available",
    skills: dict[str, int] | None = None,
    groups: Sequence[str] = (),
    capacity_cap: int | None = None,
    capacities: dict[str, int] | None = None,
) -> None:
    """An agent with skills, groups and capacity overrides."""
    async with db.session() as s, s.begin():
        s.add(
            t.AgentRow(
                id=agent_id,
                name=agent_id.title(),
                email=f"{agent_id}@example.test",
                presence_id=presence,
                capacity_cap=capacity_cap,
                created_at=NOW,
            )
        )
        await s.flush()
        for skill, level in (skills or {}).items():
            s.add(t.AgentSkillRow(agent_id=agent_id, skill_id=skill, level=level))
        for group in groups:
            s.add(t.AgentGroupRow(agent_id=agent_id, group_id=group))
        for channel, capacity in (capacities or {}).items():
            s.add(t.AgentChannelRow(agent_id=agent_id, channel_id=channel, capacity=capacity))
