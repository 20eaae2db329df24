"""Administration use cases: identifiers, reference checks, usages and agent links."""

from __future__ import annotations

import asyncio
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import ColumnElement, Text, cast, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import LIVE_WORK_ITEM_STATES
from omniroute.store import tables as t

SHOWN = 3
_LIVE = [s.value for s in LIVE_WORK_ITEM_STATES]
_HASHER = PasswordHasher()


def slug_id(name: str, fallback: str) -> str:
    """An id from a name: its ASCII slug plus a short random suffix."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].rstrip("-")
    return f"{base or fallback}-{secrets.token_hex(3)}"


async def free_id(session: AsyncSession, row: type[t.Base], name: str, fallback: str) -> str:
    """A generated id that no row of this table holds yet."""
    while True:
        candidate = slug_id(name, fallback)
        if await session.get(row, candidate) is None:
            return candidate


async def require(
    session: AsyncSession, row: type[t.Base], entity_id: str, kind: str, field: str
) -> None:
    """Refuse a reference to a row that does not exist."""
    if await session.get(row, entity_id) is None:
        raise NotFoundError(kind, entity_id, field)


async def require_email_free(session: AsyncSession, email: str, agent_id: str | None) -> None:
    """Refuse an email another agent already has."""
    query = select(t.AgentRow.id).where(t.AgentRow.email == email)
    if agent_id is not None:
        query = query.where(t.AgentRow.id != agent_id)
    other = await session.scalar(query.limit(1))
    if other is not None:
        raise DomainError(
            ErrorCode.CONFLICT, f"agent '{other}' already has the email '{email}'", "email"
        )


# -- what uses a record ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Use:
    """Some records of one kind that refer to the record to delete."""

    what: str
    ids: tuple[str, ...]

    def __str__(self) -> str:
        """E.g. "queues 'a', 'b' and more"."""
        shown = ", ".join(f"'{i}'" for i in self.ids[:SHOWN])
        more = " and more" if len(self.ids) > SHOWN else ""
        return f"{self.what} {shown}{more}"


async def _ids(
    session: AsyncSession, column: InstrumentedAttribute[str], *where: ColumnElement[bool]
) -> tuple[str, ...]:
    rows = await session.scalars(
        select(column).where(*where).distinct().order_by(column).limit(SHOWN + 1)
    )
    return tuple(rows)


def _uses(found: Iterable[tuple[str, Sequence[str]]]) -> list[Use]:
    return [Use(what, tuple(ids)) for what, ids in found if ids]


def refuse_if_used(kind: str, entity_id: str, uses: list[Use]) -> None:
    """Refuse to delete a record that others refer to, saying which."""
    if uses:
        listed = "; ".join(str(u) for u in uses)
        raise DomainError(ErrorCode.IN_USE, f"{kind} '{entity_id}' is used by {listed}")


async def _queues_where(
    session: AsyncSession, test: Callable[[list[Any], list[Any]], bool]
) -> tuple[str, ...]:
    # Queue channels and skills are JSON lists; queues are few, so filter them here.
    rows = await session.execute(
        select(t.QueueRow.id, t.QueueRow.channels, t.QueueRow.skills).order_by(t.QueueRow.id)
    )
    return tuple(qid for qid, channels, skills in rows if test(channels, skills))


async def channel_uses(session: AsyncSession, channel_id: str) -> list[Use]:
    """What refers to a channel."""
    return _uses(
        [
            ("queues", await _queues_where(session, lambda ch, _sk: channel_id in ch)),
            (
                "agents",
                await _ids(
                    session, t.AgentChannelRow.agent_id, t.AgentChannelRow.channel_id == channel_id
                ),
            ),
            (
                "reject reasons",
                await _ids(
                    session, t.RejectReasonRow.id, t.RejectReasonRow.channel_id == channel_id
                ),
            ),
            (
                "work items",
                await _ids(session, t.WorkItemRow.id, t.WorkItemRow.channel_id == channel_id),
            ),
            (
                "interactions",
                await _ids(session, t.InteractionRow.id, t.InteractionRow.channel_id == channel_id),
            ),
            ("cases", await _ids(session, t.CaseRow.id, t.CaseRow.channel_id == channel_id)),
        ]
    )


async def presence_uses(session: AsyncSession, presence_id: str) -> list[Use]:
    """What refers to a presence state."""
    return _uses(
        [
            ("agents", await _ids(session, t.AgentRow.id, t.AgentRow.presence_id == presence_id)),
            (
                "rules",
                await _ids(session, t.RuleRow.id, t.RuleRow.presence_after_timeout == presence_id),
            ),
        ]
    )


def _requires(skills: list[Any], skill_id: str) -> bool:
    return any(r.get("skill_id") == skill_id for r in skills)


async def skill_uses(session: AsyncSession, skill_id: str) -> list[Use]:
    """What refers to a skill: agents, queues and live work items that require it."""
    wi = t.WorkItemRow
    # The text match only narrows the rows; the JSON is checked exactly below.
    rows = await session.execute(
        select(wi.id, wi.skills).where(
            wi.state.in_(_LIVE), cast(wi.skills, Text).like(f'%"{skill_id}"%')
        )
    )
    items = [item_id for item_id, skills in rows if _requires(skills, skill_id)]
    return _uses(
        [
            (
                "agents",
                await _ids(session, t.AgentSkillRow.agent_id, t.AgentSkillRow.skill_id == skill_id),
            ),
            ("queues", await _queues_where(session, lambda _ch, sk: _requires(sk, skill_id))),
            ("live work items", items[: SHOWN + 1]),
        ]
    )


async def group_uses(session: AsyncSession, group_id: str) -> list[Use]:
    """What refers to an agent group."""
    rule = t.RuleRow
    return _uses(
        [
            (
                "agents",
                await _ids(session, t.AgentGroupRow.agent_id, t.AgentGroupRow.group_id == group_id),
            ),
            (
                "rules",
                await _ids(
                    session,
                    rule.id,
                    (rule.primary_group_id == group_id) | (rule.overflow_group_id == group_id),
                ),
            ),
        ]
    )


async def rule_uses(session: AsyncSession, rule_id: str) -> list[Use]:
    """What refers to an assignment rule."""
    return _uses([("queues", await _ids(session, t.QueueRow.id, t.QueueRow.rule_id == rule_id))])


async def queue_uses(session: AsyncSession, queue_id: str) -> list[Use]:
    """What refers to a queue: its work items, live or past, and queues that route to it."""
    q = t.QueueRow
    rows = await session.execute(
        select(q.id, q.out_of_hours_queue_id, q.escalation).where(q.id != queue_id).order_by(q.id)
    )
    routing = tuple(
        qid
        for qid, target, steps in rows
        if target == queue_id or any(s.get("queue_id") == queue_id for s in steps or [])
    )
    return _uses(
        [
            (
                "work items",
                await _ids(session, t.WorkItemRow.id, t.WorkItemRow.queue_id == queue_id),
            ),
            ("queues", routing),
        ]
    )


async def calendar_uses(session: AsyncSession, calendar_id: str) -> list[Use]:
    """What refers to a calendar: the queues whose hours it sets."""
    return _uses(
        [("queues", await _ids(session, t.QueueRow.id, t.QueueRow.calendar_id == calendar_id))]
    )


async def reject_reason_uses(session: AsyncSession, reason_id: str) -> list[Use]:
    """What refers to a reject reason: the offers rejected with it."""
    return _uses(
        [("offers", await _ids(session, t.OfferRow.id, t.OfferRow.reject_reason_id == reason_id))]
    )


async def wrap_up_code_uses(session: AsyncSession, code_id: str) -> list[Use]:
    """What refers to a wrap-up code: the interactions wrapped up with it."""
    inter = t.InteractionRow
    return _uses(
        [("interactions", await _ids(session, inter.id, inter.wrap_up_code_id == code_id))]
    )


async def agent_uses(session: AsyncSession, agent_id: str) -> list[Use]:
    """What keeps an agent: work items queued for, offered to or accepted by it."""
    wi = t.WorkItemRow
    return _uses(
        [
            (
                "live work items",
                await _ids(session, wi.id, wi.agent_id == agent_id, wi.state.in_(_LIVE)),
            )
        ]
    )


# -- agents ---------------------------------------------------------------------------


async def agent_links(
    session: AsyncSession, agent_ids: Sequence[str]
) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """The skill levels and groups of these agents."""
    skills: dict[str, dict[str, int]] = {a: {} for a in agent_ids}
    groups: dict[str, list[str]] = {a: [] for a in agent_ids}
    if not agent_ids:
        return skills, groups
    sk = t.AgentSkillRow
    for agent_id, skill_id, level in await session.execute(
        select(sk.agent_id, sk.skill_id, sk.level)
        .where(sk.agent_id.in_(agent_ids))
        .order_by(sk.agent_id, sk.skill_id)
    ):
        skills[agent_id][skill_id] = level
    gr = t.AgentGroupRow
    for agent_id, group_id in await session.execute(
        select(gr.agent_id, gr.group_id)
        .where(gr.agent_id.in_(agent_ids))
        .order_by(gr.agent_id, gr.group_id)
    ):
        groups[agent_id].append(group_id)
    return skills, groups


async def check_agent_links(
    session: AsyncSession, skills: dict[str, int], groups: list[str]
) -> None:
    """Refuse skills or groups that do not exist."""
    for skill_id in skills:
        await require(session, t.SkillRow, skill_id, "skill", f"skills.{skill_id}")
    for i, group_id in enumerate(groups):
        await require(session, t.GroupRow, group_id, "group", f"groups.{i}")


async def replace_agent_skills(
    session: AsyncSession, agent_id: str, skills: dict[str, int]
) -> None:
    """Replace an agent's skill levels."""
    await session.execute(delete(t.AgentSkillRow).where(t.AgentSkillRow.agent_id == agent_id))
    session.add_all(
        t.AgentSkillRow(agent_id=agent_id, skill_id=s, level=level) for s, level in skills.items()
    )


async def replace_agent_groups(session: AsyncSession, agent_id: str, groups: list[str]) -> None:
    """Replace an agent's group memberships."""
    await session.execute(delete(t.AgentGroupRow).where(t.AgentGroupRow.agent_id == agent_id))
    session.add_all(t.AgentGroupRow(agent_id=agent_id, group_id=g) for g in groups)


async def hash_password(password: str) -> str:
    """An argon2 hash of a password, computed off the event loop."""
    digest: str = await asyncio.to_thread(_HASHER.hash, password)
    return digest
