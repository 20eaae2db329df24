"""Profile sync: bring a provider's view of an agent (name, skills, groups, capacity) into ours."""

# The provider is asked outside any transaction; what it says is merged into the agent's rows
# in one transaction (domain/profile.py decides what changes), then the engine re-reads its
# configuration. A sync is requested at sign-in (provider event or connector panel), run on a
# schedule by the node that leads the engine, and on demand through the API.

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.profile import (
    AgentLinks,
    ProfileField,
    ProviderProfile,
    Synced,
    clamp_level,
    merge,
)
from omniroute.engine.clock import Clock
from omniroute.services import audit
from omniroute.services.admin import free_id
from omniroute.spokes.base import AnySpoke, Capability, SpokeError, SpokeUnavailableError
from omniroute.spokes.profile import profile_settings
from omniroute.store import tables as t
from omniroute.store.db import Database

log = logging.getLogger(__name__)

ATTEMPTS = 3
TICK_S = 30.0


@dataclass(frozen=True, slots=True)
class SyncResult:
    """How one sync went: `synced`, `failed` or `skipped`, with what changed."""

    agent_id: str
    spoke: str
    outcome: str
    changed: tuple[str, ...] = ()
    error: str | None = None


GetSpoke = Callable[[str], Awaitable[AnySpoke]]
Reload = Callable[[], Awaitable[None]]


def _group_id(spoke: str, provider_id: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", f"{spoke}-{provider_id}".casefold()).strip("-")[:64]


def profile_json(profile: ProviderProfile) -> dict[str, Any]:
    """The profile as stored and shown."""
    data = asdict(profile)
    data["capacity"] = dict(profile.capacity)
    return data


class ProfileSync:
    """Runs profile syncs: on request, on a schedule, and one at a time per agent and spoke."""

    def __init__(
        self, db: Database, clock: Clock, get_spoke: GetSpoke, reload: Reload, retry_s: float = 1.0
    ) -> None:
        self.db = db
        self.clock = clock
        self.get_spoke = get_spoke
        self.reload = reload
        self.retry_s = retry_s
        self._running: dict[tuple[str, str], asyncio.Task[SyncResult]] = {}

    def request(self, agent_id: str, spoke: str) -> asyncio.Task[SyncResult]:
        """Start a sync in the background (or join the one already running)."""
        key = (agent_id, spoke)
        task = self._running.get(key)
        if task is None or task.done():
            task = asyncio.create_task(self.sync(agent_id, spoke), name=f"profile-sync {key}")
            self._running[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _forget(self, key: tuple[str, str], task: asyncio.Task[SyncResult]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("profile sync %s failed", key, exc_info=task.exception())

    async def stop(self) -> None:
        """Cancel running syncs."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run_schedule(self, leads: Callable[[], bool]) -> None:
        """Sync each linked agent again once its spoke's interval has passed (leader only)."""
        while True:
            await asyncio.sleep(TICK_S)
            if leads():
                try:
                    for agent_id, spoke in await self.due():
                        await self.request(agent_id, spoke)
                except Exception:
                    log.exception("scheduled profile sync pass failed")

    async def due(self) -> list[tuple[str, str]]:
        """Linked (agent, spoke) pairs whose last sync attempt is older than the interval."""
        now = self.clock.now()
        async with self.db.session() as session:
            links = (await session.execute(select(t.AgentIdentityRow))).scalars().all()
            rows = (await session.execute(select(t.AgentProfileSyncRow))).scalars().all()
        attempted = {(r.agent_id, r.spoke): r.attempted_at for r in rows}
        found: list[tuple[str, str]] = []
        for link in links:
            try:
                spoke = await self.get_spoke(link.spoke)
            except DomainError:
                continue
            config = profile_settings(spoke.settings)
            if Capability.PROFILE_SYNC not in spoke.manifest.supports:
                continue
            if not config.enabled or config.interval_s == 0:
                continue
            last = attempted.get((link.agent_id, link.spoke))
            if last is None or now - last >= timedelta(seconds=config.interval_s):
                found.append((link.agent_id, link.spoke))
        return found

    async def sync(self, agent_id: str, spoke_name: str) -> SyncResult:
        """Ask the provider for the agent's profile and merge it into ours."""
        async with self.db.session() as session:
            link = await session.scalar(
                select(t.AgentIdentityRow).where(
                    t.AgentIdentityRow.agent_id == agent_id, t.AgentIdentityRow.spoke == spoke_name
                )
            )
        if link is None:
            raise NotFoundError("identity of agent at spoke", f"{agent_id}@{spoke_name}")
        spoke = await self.get_spoke(spoke_name)
        config = profile_settings(spoke.settings)
        if Capability.PROFILE_SYNC not in spoke.manifest.supports or not config.enabled:
            return SyncResult(agent_id, spoke_name, "skipped", error="profile sync is off")
        try:
            profile = await self._fetch(spoke, link.provider_agent_id)
        except SpokeError as err:
            message = f"{type(err).__name__}: {err}"
            await self._failed(agent_id, spoke_name, link.provider_agent_id, message)
            return SyncResult(agent_id, spoke_name, "failed", error=message)
        try:
            changed = await self._apply(agent_id, spoke_name, profile, frozenset(config.fields))
        except DomainError:
            raise
        except Exception as err:
            log.exception("profile sync of %s at %s could not be applied", agent_id, spoke_name)
            message = f"the profile could not be applied: {type(err).__name__}"
            await self._failed(agent_id, spoke_name, link.provider_agent_id, message)
            return SyncResult(agent_id, spoke_name, "failed", error=message)
        if changed:
            await self.reload()
        return SyncResult(agent_id, spoke_name, "synced", changed)

    async def _fetch(self, spoke: AnySpoke, provider_agent_id: str) -> ProviderProfile:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await spoke.fetch_profile(provider_agent_id)
            except SpokeUnavailableError as err:
                if attempt == ATTEMPTS:
                    raise
                wait = max(err.retry_after_s or 0.0, self.retry_s * 2 ** (attempt - 1))
                await asyncio.sleep(min(wait, 30.0))
        raise AssertionError  # pragma: no cover - the loop returns or raises

    async def _failed(self, agent_id: str, spoke: str, provider_agent_id: str, error: str) -> None:
        now = self.clock.now()
        async with self.db.session() as session, session.begin():
            row = await self._row(session, agent_id, spoke, provider_agent_id)
            row.attempted_at = now
            row.error = error
            session.add(
                t.SpokeIncidentRow(
                    id=uuid.uuid4().hex,
                    spoke=spoke,
                    kind="profile_sync_failed",
                    message=f"profile of agent '{agent_id}' could not be synced: {error}",
                    details={"agent_id": agent_id, "provider_agent_id": provider_agent_id},
                    created_at=now,
                )
            )

    @staticmethod
    async def _row(
        session: AsyncSession, agent_id: str, spoke: str, provider_agent_id: str
    ) -> t.AgentProfileSyncRow:
        row = await session.get(t.AgentProfileSyncRow, (agent_id, spoke), with_for_update=True)
        if row is None:
            row = t.AgentProfileSyncRow(
                agent_id=agent_id,
                spoke=spoke,
                provider_agent_id=provider_agent_id,
                locked=[],
                owned={},
            )
            session.add(row)
        row.provider_agent_id = provider_agent_id
        return row

    async def _apply(
        self,
        agent_id: str,
        spoke: str,
        profile: ProviderProfile,
        allowed: frozenset[ProfileField],
    ) -> tuple[str, ...]:
        now = self.clock.now()
        async with self.db.session() as session, session.begin():
            agent = await session.get(t.AgentRow, agent_id, with_for_update=True)
            if agent is None:
                raise NotFoundError("agent", agent_id, "agent_id")
            row = await self._row(session, agent_id, spoke, profile.provider_agent_id)
            fields = allowed - {ProfileField(f) for f in row.locked}
            current = await _links(session, agent)
            skills = await _skill_ids(session, spoke, profile)
            groups = await _group_ids(session, spoke, profile)
            channels = set((await session.scalars(select(t.ChannelRow.id))).all())
            known = ProviderProfile(
                profile.provider_agent_id,
                profile.name,
                profile.email,
                profile.skills,
                profile.groups,
                {c: n for c, n in profile.capacity.items() if c in channels},
            )
            before = Synced(
                frozenset(row.owned.get("skills", [])),
                frozenset(row.owned.get("groups", [])),
                frozenset(row.owned.get("capacity", [])),
            )
            after, owned = merge(
                current, before, skills=skills, groups=groups, profile=known, fields=fields
            )
            if after.email != current.email and await _email_taken(session, after.email, agent_id):
                log.warning("profile sync: email of agent %s is used by another agent", agent_id)
                after = AgentLinks(
                    after.name, current.email, after.skills, after.groups, after.capacity
                )
            changed = await _write(session, agent, current, after)
            row.profile = profile_json(profile)
            row.owned = {
                "skills": sorted(owned.skills),
                "groups": sorted(owned.groups),
                "capacity": sorted(owned.capacity),
            }
            row.synced_at = row.attempted_at = now
            row.error = None
            if changed:
                audit.record(
                    session,
                    audit.Actor(f"spoke:{spoke}", "integration"),
                    "agent.profile_sync",
                    ("agent", agent_id),
                    {"changed": list(changed), "provider_agent_id": profile.provider_agent_id},
                    now,
                )
        return changed


async def _links(session: AsyncSession, agent: t.AgentRow) -> AgentLinks:
    skills = await session.execute(
        select(t.AgentSkillRow.skill_id, t.AgentSkillRow.level).where(
            t.AgentSkillRow.agent_id == agent.id
        )
    )
    groups = await session.scalars(
        select(t.AgentGroupRow.group_id).where(t.AgentGroupRow.agent_id == agent.id)
    )
    channels = await session.execute(
        select(t.AgentChannelRow.channel_id, t.AgentChannelRow.capacity).where(
            t.AgentChannelRow.agent_id == agent.id
        )
    )
    return AgentLinks(
        agent.name,
        agent.email,
        dict(skills.tuples().all()),
        frozenset(groups.all()),
        dict(channels.tuples().all()),
    )


async def _skill_ids(session: AsyncSession, spoke: str, profile: ProviderProfile) -> dict[str, int]:
    """The profile's skills as ours, importing a skill the spoke has not brought in yet."""
    found: dict[str, int] = {}
    for skill in profile.skills:
        row = await session.scalar(
            select(t.SkillRow).where(
                t.SkillRow.spoke == spoke, t.SkillRow.provider_id == skill.provider_id
            )
        )
        if row is None:
            row = t.SkillRow(
                id=await free_id(session, t.SkillRow, skill.name, "skill"),
                name=skill.name[:200] or skill.provider_id,
                description="",
                spoke=spoke,
                provider_id=skill.provider_id,
                provider_data={"name": skill.name, "attributes": {}},
            )
            session.add(row)
            await session.flush()
        found[row.id] = clamp_level(skill.level)
    return found


async def _group_ids(session: AsyncSession, spoke: str, profile: ProviderProfile) -> frozenset[str]:
    """The profile's queues or groups as our groups, made on first sight."""
    found: set[str] = set()
    for group in profile.groups:
        group_id = _group_id(spoke, group.provider_id)
        row = await session.get(t.GroupRow, group_id)
        name = group.name[:200] or group.provider_id
        if row is None:
            session.add(t.GroupRow(id=group_id, name=name))
            await session.flush()
        elif row.name != name:
            row.name = name
        found.add(group_id)
    return frozenset(found)


async def _email_taken(session: AsyncSession, email: str, agent_id: str) -> bool:
    other = await session.scalar(
        select(t.AgentRow.id).where(t.AgentRow.email == email, t.AgentRow.id != agent_id)
    )
    return other is not None


async def _write(
    session: AsyncSession, agent: t.AgentRow, before: AgentLinks, after: AgentLinks
) -> tuple[str, ...]:
    changed: list[str] = []
    if after.name != before.name:
        agent.name = after.name
        changed.append(ProfileField.NAME)
    if after.email != before.email:
        agent.email = after.email
        changed.append(ProfileField.EMAIL)
    if dict(after.skills) != dict(before.skills):
        await session.execute(delete(t.AgentSkillRow).where(t.AgentSkillRow.agent_id == agent.id))
        session.add_all(
            t.AgentSkillRow(agent_id=agent.id, skill_id=s, level=level)
            for s, level in after.skills.items()
        )
        changed.append(ProfileField.SKILLS)
    if after.groups != before.groups:
        await session.execute(delete(t.AgentGroupRow).where(t.AgentGroupRow.agent_id == agent.id))
        session.add_all(t.AgentGroupRow(agent_id=agent.id, group_id=g) for g in after.groups)
        changed.append(ProfileField.GROUPS)
    if dict(after.capacity) != dict(before.capacity):
        for channel_id, capacity in after.capacity.items():
            if before.capacity.get(channel_id, None) == capacity and channel_id in before.capacity:
                continue
            row = await session.get(t.AgentChannelRow, (agent.id, channel_id))
            if row is None:
                session.add(
                    t.AgentChannelRow(
                        agent_id=agent.id, channel_id=channel_id, capacity=capacity, available=True
                    )
                )
            else:
                row.capacity = capacity
        changed.append(ProfileField.CAPACITY)
    return tuple(changed)


def sync_error(result: SyncResult) -> DomainError | None:
    """The API error for a sync that did not happen."""
    if result.outcome == "failed":
        return DomainError(ErrorCode.SPOKE_UNAVAILABLE, result.error or "the provider failed")
    if result.outcome == "skipped":
        message = f"profile sync is off for spoke '{result.spoke}' (or it cannot sync profiles)"
        return DomainError(ErrorCode.CONFLICT, message, "spoke")
    return None
