"""Connector panels: admins configure them per spoke; agents' workspaces load and use them."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from omniroute.api.auth import Role
from omniroute.api.call_schemas import (
    AgentPanelOut,
    PanelIn,
    PanelOut,
    PanelPresenceIn,
    PanelPresenceOut,
    PanelSignInIn,
    PanelSignInOut,
)
from omniroute.api.deps import AdminPrincipal, CurrentPrincipal, EngineDep, SessionDep
from omniroute.core import connector_panels as panels
from omniroute.core.messages import LinkPanelIdentity, SetPanelPresence
from omniroute.domain.errors import NotFoundError
from omniroute.store import tables as t

router = APIRouter(tags=["connector panels"])


def _panel_out(row: t.SpokePanelRow) -> PanelOut:
    return PanelOut(
        spoke=row.spoke,
        panel_url=row.panel_url,
        panel_origin=panels.origin_of(row.panel_url, "panel_url"),
        allowed_origins=list(row.allowed_origins),
        title=row.title,
        enabled=row.enabled,
        updated_at=row.updated_at,
    )


async def _panel(session: SessionDep, name: str) -> t.SpokePanelRow:
    row = await session.get(t.SpokePanelRow, name, populate_existing=True)
    if row is None:
        raise NotFoundError("connector panel of spoke", name, "name")
    return row


@router.put("/spokes/{name}/panel", response_model=PanelOut)
async def put_panel(
    name: str, body: PanelIn, _who: AdminPrincipal, session: SessionDep
) -> PanelOut:
    """Set the spoke's provider panel URL and allowed origins (its own origin is always allowed)."""
    if await session.get(t.SpokeRow, name) is None:
        raise NotFoundError("spoke", name, "name")
    origins = panels.allowed_origins(body.panel_url, body.allowed_origins)
    fields = {
        "panel_url": body.panel_url.strip(),
        "allowed_origins": origins,
        "title": body.title.strip() or name,
        "enabled": body.enabled,
        "updated_at": datetime.now(UTC),
    }
    row = await session.get(t.SpokePanelRow, name)
    if row is None:
        session.add(t.SpokePanelRow(spoke=name, **fields))
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    await session.commit()
    return _panel_out(await _panel(session, name))


@router.get("/spokes/{name}/panel", response_model=PanelOut)
async def get_panel(name: str, _who: AdminPrincipal, session: SessionDep) -> PanelOut:
    """The spoke's connector panel configuration."""
    return _panel_out(await _panel(session, name))


@router.delete("/spokes/{name}/panel", status_code=204, response_class=Response)
async def delete_panel(name: str, _who: AdminPrincipal, session: SessionDep) -> Response:
    """Stop showing the spoke's panel in workspaces."""
    await session.delete(await _panel(session, name))
    await session.commit()
    return Response(status_code=204)


@router.get("/agents/{agent_id}/connector-panels", response_model=list[AgentPanelOut])
async def agent_panels(
    agent_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[AgentPanelOut]:
    """The enabled panels of enabled spokes, with the agent's identity at each provider."""
    who.require_agent_or(agent_id, Role.ADMIN, Role.SUPERVISOR)
    if await session.get(t.AgentRow, agent_id) is None:
        raise NotFoundError("agent", agent_id, "agent_id")
    rows = await session.execute(
        select(t.SpokePanelRow, t.SpokeRow)
        .join(t.SpokeRow, t.SpokeRow.name == t.SpokePanelRow.spoke)
        .where(t.SpokePanelRow.enabled.is_(True), t.SpokeRow.enabled.is_(True))
        .order_by(t.SpokePanelRow.spoke)
    )
    links = await session.execute(
        select(t.AgentIdentityRow.spoke, t.AgentIdentityRow.provider_agent_id).where(
            t.AgentIdentityRow.agent_id == agent_id
        )
    )
    identity = {row[0]: row[1] for row in links}
    return [
        AgentPanelOut(
            spoke=panel.spoke,
            title=panel.title,
            panel_url=panel.panel_url,
            panel_origin=panels.origin_of(panel.panel_url, "panel_url"),
            allowed_origins=list(panel.allowed_origins),
            protocol_version=panels.PROTOCOL_VERSION,
            provider_agent_id=identity.get(panel.spoke),
            presence_map={str(k): str(v) for k, v in spoke.presence_map.items()},
        )
        for panel, spoke in rows
    ]


@router.post("/agents/{agent_id}/connector-panels/{spoke}/sign-in", response_model=PanelSignInOut)
async def panel_sign_in(
    agent_id: str,
    spoke: str,
    body: PanelSignInIn,
    who: CurrentPrincipal,
    *,
    engine: EngineDep,
    request: Request,
) -> PanelSignInOut:
    """Link the provider identity the panel reports, then sync the agent's profile from it."""
    who.require_agent_or(agent_id)
    provider_id = body.provider_agent_id.strip()
    outcome = await engine.execute(LinkPanelIdentity(spoke, provider_id, agent_id))
    request.app.state.profile_sync.request(agent_id, spoke)
    return PanelSignInOut(
        agent_id=agent_id, spoke=spoke, provider_agent_id=provider_id, outcome=outcome
    )


@router.post(
    "/agents/{agent_id}/connector-panels/{spoke}/presence", response_model=PanelPresenceOut
)
async def panel_presence(
    agent_id: str, spoke: str, body: PanelPresenceIn, who: CurrentPrincipal, engine: EngineDep
) -> PanelPresenceOut:
    """Set the agent's presence from a state chosen in the provider's panel."""
    who.require_agent_or(agent_id)
    state = body.state_name.strip()
    presence = await engine.execute(SetPanelPresence(spoke, agent_id, state))
    return PanelPresenceOut(agent_id=agent_id, presence_id=presence)
