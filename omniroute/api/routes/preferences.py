"""An agent's workspace preferences: the alerts a new offer raises."""

from __future__ import annotations

from fastapi import APIRouter

from omniroute.api.auth import Role
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.services import preferences as svc

router = APIRouter(tags=["workspace"])


class PreferencesOut(Out):
    """Which alerts a new offer raises in the agent's workspace."""

    tab_title: bool
    favicon_badge: bool
    sound: bool
    desktop_notification: bool


class PreferencesIn(Body):
    """The alerts to turn on or off; the others stay as they are."""

    tab_title: bool | None = None
    favicon_badge: bool | None = None
    sound: bool | None = None
    desktop_notification: bool | None = None


@router.get("/agents/{agent_id}/preferences", response_model=PreferencesOut)
async def get_preferences(
    agent_id: str, who: CurrentPrincipal, session: SessionDep
) -> PreferencesOut:
    """The agent's alert preferences (the agent itself or an administrator)."""
    who.require_agent_or(agent_id, Role.ADMIN)
    return PreferencesOut.model_validate(await svc.read(session, agent_id))


@router.patch("/agents/{agent_id}/preferences", response_model=PreferencesOut)
async def patch_preferences(
    agent_id: str,
    body: PreferencesIn,
    who: CurrentPrincipal,
    session: SessionDep,
    engine: EngineDep,
) -> PreferencesOut:
    """Turn alerts on or off (the agent itself or an administrator)."""
    who.require_agent_or(agent_id, Role.ADMIN)
    changes = body.model_dump(exclude_none=True)
    stored = await svc.update(session, agent_id, changes, engine.clock.now())
    return PreferencesOut.model_validate(stored)
