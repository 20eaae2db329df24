"""An agent's workspace preferences: which alerts a new offer raises."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.domain.errors import NotFoundError
from omniroute.store import tables as t

# Each alert is on unless the agent turns it off.
ALERTS: tuple[str, ...] = ("tab_title", "favicon_badge", "sound", "desktop_notification")
DEFAULTS: dict[str, bool] = dict.fromkeys(ALERTS, True)


def _merged(stored: dict[str, object] | None) -> dict[str, bool]:
    known = {k: v for k, v in (stored or {}).items() if k in DEFAULTS and isinstance(v, bool)}
    return DEFAULTS | known


async def read(session: AsyncSession, agent_id: str) -> dict[str, bool]:
    """The agent's preferences, defaults filled in."""
    row = await session.get(t.AgentPreferencesRow, agent_id)
    return _merged(row.settings if row else None)


async def update(
    session: AsyncSession, agent_id: str, changes: dict[str, bool], now: datetime
) -> dict[str, bool]:
    """Store the given preferences (others stay) and commit; the agent must exist."""
    if await session.get(t.AgentRow, agent_id) is None:
        raise NotFoundError("agent", agent_id, "agent_id")
    row = await session.get(t.AgentPreferencesRow, agent_id)
    merged = _merged(row.settings if row else None) | changes
    if row is None:
        session.add(t.AgentPreferencesRow(agent_id=agent_id, settings=merged, updated_at=now))
    else:
        row.settings = merged
        row.updated_at = now
    await session.commit()
    return merged
