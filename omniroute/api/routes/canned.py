"""Canned responses: shared ones kept by admins, personal ones kept by each agent."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field

from omniroute.api.auth import Principal, Role
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.api.visibility import check_visible
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.services.toolkit import canned
from omniroute.store import tables as t

router = APIRouter(tags=["canned responses"])
USERS = (Role.ADMIN, Role.AGENT)
SHORTCUT = r"^[a-z0-9][a-z0-9_-]*$"


class CannedIn(Body):
    """A new canned response; agents make personal ones, admins shared ones or an agent's."""

    title: str = Field(min_length=1, max_length=200)
    shortcut: str = Field("", max_length=64, pattern=f"{SHORTCUT}|^$")
    body: str = Field(min_length=1, max_length=10_000)
    owner_agent_id: str | None = Field(None, description="admins only; none makes it shared")


class CannedPatch(Body):
    """Fields to change."""

    title: str | None = Field(None, min_length=1, max_length=200)
    shortcut: str | None = Field(None, max_length=64, pattern=f"{SHORTCUT}|^$")
    body: str | None = Field(None, min_length=1, max_length=10_000)


class CannedOut(Out):
    """A canned response; `shared` when it has no owner."""

    id: str
    title: str
    shortcut: str
    body: str
    owner_agent_id: str | None
    shared: bool = False
    created_at: datetime
    updated_at: datetime


class RenderIn(Body):
    """The interaction or case whose customer the placeholders name."""

    document_id: str | None = None
    document_type: str = Field("interaction", pattern="^(interaction|case)$")


class RenderOut(Out):
    """The body with its placeholders filled in."""

    body: str


def _out(row: t.CannedResponseRow) -> CannedOut:
    out = CannedOut.model_validate(row)
    out.shared = row.owner_agent_id is None
    return out


def _check_owner(who: Principal, row: t.CannedResponseRow) -> None:
    if who.role is Role.ADMIN:
        return
    if row.owner_agent_id is None or row.owner_agent_id != who.agent_id:
        raise DomainError(
            ErrorCode.FORBIDDEN, "agents change only their own canned responses; ask an admin"
        )


async def _readable(session: SessionDep, who: Principal, response_id: str) -> t.CannedResponseRow:
    row = await canned.get(session, response_id)
    if who.role is Role.AGENT and row.owner_agent_id not in {None, who.agent_id}:
        raise DomainError(ErrorCode.FORBIDDEN, "this canned response belongs to another agent")
    return row


@router.get("/canned-responses", response_model=list[CannedOut])
async def list_canned(
    who: CurrentPrincipal, session: SessionDep, q: str | None = None
) -> list[CannedOut]:
    """Shared responses and the caller's own (admins: all), by title; `q` filters."""
    who.require(*USERS)
    rows = await canned.visible(session, who.acting_agent(), q)
    return [_out(r) for r in rows]


@router.post("/canned-responses", response_model=CannedOut, status_code=201)
async def create_canned(
    body: CannedIn, who: CurrentPrincipal, session: SessionDep, engine: EngineDep
) -> CannedOut:
    """Add a canned response: an agent's own, or (admin) a shared one or an agent's."""
    who.require(*USERS)
    owner = body.owner_agent_id
    if who.role is Role.AGENT:
        if owner not in {None, who.agent_id}:
            raise DomainError(
                ErrorCode.FORBIDDEN, "agents add canned responses for themselves only"
            )
        owner = who.agent_id
    row = await canned.create(
        session,
        title=body.title,
        shortcut=body.shortcut,
        body=body.body,
        owner_agent_id=owner,
        now=engine.clock.now(),
    )
    return _out(row)


@router.get("/canned-responses/{canned_response_id}", response_model=CannedOut)
async def get_canned(
    canned_response_id: str, who: CurrentPrincipal, session: SessionDep
) -> CannedOut:
    """One canned response."""
    who.require(*USERS)
    return _out(await _readable(session, who, canned_response_id))


@router.patch("/canned-responses/{canned_response_id}", response_model=CannedOut)
async def update_canned(
    canned_response_id: str,
    body: CannedPatch,
    who: CurrentPrincipal,
    session: SessionDep,
    engine: EngineDep,
) -> CannedOut:
    """Change a canned response (agents: their own only)."""
    who.require(*USERS)
    row = await _readable(session, who, canned_response_id)
    _check_owner(who, row)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} cannot be null", name)
        setattr(row, name, value)
    row.updated_at = engine.clock.now()
    await session.commit()
    return _out(row)


@router.delete("/canned-responses/{canned_response_id}", status_code=204, response_class=Response)
async def delete_canned(
    canned_response_id: str, who: CurrentPrincipal, session: SessionDep
) -> Response:
    """Delete a canned response (agents: their own only)."""
    who.require(*USERS)
    row = await _readable(session, who, canned_response_id)
    _check_owner(who, row)
    await session.delete(row)
    await session.commit()
    return Response(status_code=204)


@router.post("/canned-responses/{canned_response_id}/render", response_model=RenderOut)
async def render_canned(
    canned_response_id: str, body: RenderIn, who: CurrentPrincipal, session: SessionDep
) -> RenderOut:
    """The body with {customer name} and {agent name} filled for a document."""
    who.require(*USERS)
    row = await _readable(session, who, canned_response_id)
    customer = ""
    if body.document_id is not None:
        doc = await check_visible(session, who, body.document_type, body.document_id)
        customer = doc.customer_name
    agent = await session.get(t.AgentRow, who.agent_id) if who.agent_id else None
    return RenderOut(
        body=canned.fill(
            row.body,
            customer_name=customer or "there",
            agent_name=agent.name if agent is not None else "the support team",
        )
    )
