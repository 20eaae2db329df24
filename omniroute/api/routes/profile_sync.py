"""Profile sync: what each provider last said about an agent, locks, and sync on demand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from omniroute.api.auth import Role
from omniroute.api.deps import AdminPrincipal, CurrentPrincipal, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.domain.errors import NotFoundError
from omniroute.domain.profile import ProfileField
from omniroute.services.profile_sync import ProfileSync, sync_error
from omniroute.store import tables as t

router = APIRouter(tags=["profile sync"])


class ProfileSyncOut(Out):
    """One spoke's sync of the agent: the provider's profile as last received, and locks."""

    agent_id: str
    spoke: str
    provider_agent_id: str
    locked: list[ProfileField]
    profile: dict[str, Any] | None
    owned: dict[str, list[str]]
    synced_at: datetime | None
    attempted_at: datetime | None
    error: str | None


class ProfileSyncRunOut(ProfileSyncOut):
    """The sync just run: what it changed."""

    outcome: str
    changed: list[ProfileField]


class LocksIn(Body):
    """The fields the sync must leave as an administrator set them."""

    locked: list[ProfileField]


def _out(row: t.AgentProfileSyncRow) -> ProfileSyncOut:
    return ProfileSyncOut(
        agent_id=row.agent_id,
        spoke=row.spoke,
        provider_agent_id=row.provider_agent_id,
        locked=[ProfileField(f) for f in row.locked],
        profile=row.profile,
        owned={k: list(v) for k, v in (row.owned or {}).items()},
        synced_at=row.synced_at,
        attempted_at=row.attempted_at,
        error=row.error,
    )


async def _linked(session: SessionDep, agent_id: str, spoke: str) -> t.AgentIdentityRow:
    link = await session.scalar(
        select(t.AgentIdentityRow).where(
            t.AgentIdentityRow.agent_id == agent_id, t.AgentIdentityRow.spoke == spoke
        )
    )
    if link is None:
        raise NotFoundError("provider identity of the agent at spoke", spoke, "spoke")
    return link


@router.get("/agents/{agent_id}/profile-sync", response_model=list[ProfileSyncOut])
async def list_syncs(
    agent_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[ProfileSyncOut]:
    """Each spoke's last sync of the agent (admins, supervisors, the agent itself)."""
    who.require_agent_or(agent_id, Role.ADMIN, Role.SUPERVISOR)
    if await session.get(t.AgentRow, agent_id) is None:
        raise NotFoundError("agent", agent_id, "agent_id")
    rows = await session.scalars(
        select(t.AgentProfileSyncRow)
        .where(t.AgentProfileSyncRow.agent_id == agent_id)
        .order_by(t.AgentProfileSyncRow.spoke)
    )
    return [_out(row) for row in rows]


@router.put("/agents/{agent_id}/profile-sync/{spoke}", response_model=ProfileSyncOut)
async def set_locks(
    agent_id: str, spoke: str, body: LocksIn, _who: AdminPrincipal, session: SessionDep
) -> ProfileSyncOut:
    """Keep some fields of this agent as set here: later syncs leave them alone (admins)."""
    link = await _linked(session, agent_id, spoke)
    row = await session.get(t.AgentProfileSyncRow, (agent_id, spoke))
    if row is None:
        row = t.AgentProfileSyncRow(
            agent_id=agent_id,
            spoke=spoke,
            provider_agent_id=link.provider_agent_id,
            locked=[],
            owned={},
        )
        session.add(row)
    row.locked = sorted({f.value for f in body.locked})
    await session.commit()
    return _out(row)


@router.post("/agents/{agent_id}/profile-sync/{spoke}/run", response_model=ProfileSyncRunOut)
async def run_sync(
    agent_id: str, spoke: str, request: Request, who: CurrentPrincipal, session: SessionDep
) -> ProfileSyncRunOut:
    """Bring the provider's profile in now (admins, or the agent itself)."""
    who.require_agent_or(agent_id, Role.ADMIN)
    await _linked(session, agent_id, spoke)
    syncer: ProfileSync = request.app.state.profile_sync
    result = await syncer.request(agent_id, spoke)
    error = sync_error(result)
    if error is not None:
        raise error
    row = await session.get(t.AgentProfileSyncRow, (agent_id, spoke), populate_existing=True)
    if row is None:
        raise NotFoundError("profile sync of the agent at spoke", spoke, "spoke")
    return ProfileSyncRunOut(
        **_out(row).model_dump(), outcome=result.outcome, changed=list(result.changed)
    )
