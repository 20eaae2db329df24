"""Spoke administration and the outbox: configure spokes, check them, see and retry deliveries."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field, Secret, SecretBytes, SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from omniroute.api.deps import AdminPrincipal, EngineDep, SessionDep
from omniroute.api.external_schemas import SpokeIn, SpokeOut, SpokePatch
from omniroute.api.schemas import Out
from omniroute.domain.bounds import MAX_INT64
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.engine.dispatcher import Dispatcher
from omniroute.engine.engine import Engine
from omniroute.services import admin as svc
from omniroute.services import outbox_admin
from omniroute.services.admin import Use
from omniroute.spokes import registry
from omniroute.spokes.base import (
    AnySpoke,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.manager import SpokeManager, settings_errors
from omniroute.store import tables as t

router = APIRouter(tags=["spokes"])

MASK = "********"
HEALTH_TIMEOUT_S = 30.0
Limit = Annotated[int, Query(ge=1, le=1000)]


def _outbox_seq(seq: Annotated[int, Path(description="the event's sequence number")]) -> int:
    # A number no event can have names nothing: 404 rather than a store error.
    if not 1 <= seq <= MAX_INT64:
        raise NotFoundError("outbox event", str(seq), "seq")
    return seq


OutboxSeq = Annotated[int, Depends(_outbox_seq)]
OutboxStateName = Literal["pending", "dead", "delivered", "discarded"]


async def _spokes(request: Request) -> SpokeManager:
    manager: SpokeManager = request.app.state.spokes
    return manager


async def _dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


SpokesDep = Annotated[SpokeManager, Depends(_spokes)]
DispatcherDep = Annotated[Dispatcher, Depends(_dispatcher)]


class SpokeView(SpokeOut):
    """A configured spoke and how it stands in this process."""

    status: str
    status_error: str | None = None


class SpokeHealthOut(BaseModel):
    """A successful health check."""

    name: str
    status: Literal["ok"] = "ok"
    checked_at: datetime


class SpokeKindOut(BaseModel):
    """An installed kind of spoke: what it supports and the schema of its settings."""

    name: str
    status: Literal["ok", "broken"] = "ok"
    error: str | None = Field(None, description="why a broken entry point gave no spoke")
    entry_point: str = Field(description="the entry point's target, module:Class")
    distribution: str | None = Field(None, description="the package that installed it")
    version: str = ""
    title: str = ""
    supports: list[str] = Field(default_factory=list)
    documentation: str = ""
    settings_schema: dict[str, Any] = Field(default_factory=dict)


class OutboxEventOut(Out):
    """A routing event in the outbox; `blocked_by` is the dead event it waits behind."""

    seq: int
    id: str
    spoke: str
    ordering_key: str
    type: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    blocked_by: int | None
    payload: dict[str, Any]


class RetriedOut(BaseModel):
    """How many events were made pending again."""

    retried: int


class IncidentOut(Out):
    """Something a spoke could not do that an operator should see."""

    id: str
    spoke: str
    kind: str
    message: str
    details: dict[str, Any]
    created_at: datetime


# -- settings -------------------------------------------------------------------------


def _is_secret(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, SecretStr | SecretBytes | Secret):
        return True
    origin = get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, Secret):
        return True
    return any(_is_secret(arg) for arg in get_args(annotation))


def secret_fields(model: type[BaseModel]) -> set[str]:
    """The settings keys that hold secrets (typed SecretStr, SecretBytes or Secret[...])."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        if _is_secret(info.annotation):
            keys.add(name)
            if info.alias:
                keys.add(info.alias)
    return keys


def _kind(kind: str) -> type[AnySpoke] | None:
    try:
        return registry.spoke_class(kind)
    except KeyError:
        return None


def _require_kind(kind: str) -> type[AnySpoke]:
    try:
        return registry.spoke_class(kind)
    except KeyError as err:
        raise DomainError(ErrorCode.VALIDATION_ERROR, str(err.args[0]), "kind") from None


def masked(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as shown: secrets replaced by a mask (every value, for a kind not installed)."""
    cls = _kind(kind)
    secrets = set(settings) if cls is None else secret_fields(cls.manifest.settings_model)
    return {k: MASK if k in secrets and v not in (None, "") else v for k, v in settings.items()}


def _validate_settings(cls: type[AnySpoke], settings: dict[str, Any]) -> None:
    for key in secret_fields(cls.manifest.settings_model):
        if settings.get(key) == MASK:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                f"settings.{key}: give the secret itself, not its mask",
                f"settings.{key}",
            )
    try:
        cls.manifest.settings_model.model_validate(settings)
    except ValidationError as err:
        field, message = settings_errors(err)[0]
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"{field}: {message}", field) from None


async def _check_presence_map(session: AsyncSession, presence_map: dict[str, str]) -> None:
    for presence_id in presence_map:
        await svc.require(
            session,
            t.PresenceStateRow,
            presence_id,
            "presence state",
            f"presence_map.{presence_id}",
        )


# -- spokes ---------------------------------------------------------------------------


async def _row(session: AsyncSession, name: str) -> t.SpokeRow:
    row = await session.get(t.SpokeRow, name, populate_existing=True)
    if row is None:
        raise NotFoundError("spoke", name, "name")
    return row


def _view(row: t.SpokeRow, manager: SpokeManager) -> SpokeView:
    status = manager.status(row.name)
    return SpokeView(
        name=row.name,
        kind=row.kind,
        settings=masked(row.kind, dict(row.settings)),
        presence_map=dict(row.presence_map),
        allow_provisioning=row.allow_provisioning,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=status[0].value if status else "not_loaded",
        status_error=status[1] if status else None,
    )


async def _applied(
    name: str,
    session: AsyncSession,
    manager: SpokeManager,
    engine: Engine,
    dispatcher: Dispatcher,
) -> None:
    """Put a configuration change to work: the spoke, the engine, and waiting deliveries."""
    await manager.reload(name)
    await engine.reload_config()
    async with session.begin():
        await outbox_admin.retry_spoke_now(session, name, engine.clock.now())
    dispatcher.wake()


@router.get("/spoke-kinds", response_model=list[SpokeKindOut])
async def list_spoke_kinds(_who: AdminPrincipal) -> list[SpokeKindOut]:
    """The installed kinds of spoke with their settings' JSON Schema; broken ones with why."""
    working = registry.available_spokes()
    kinds = [
        SpokeKindOut(
            name=name,
            entry_point=f"{cls.__module__}:{cls.__qualname__}",
            distribution=_distribution(name),
            version=cls.manifest.version,
            title=cls.manifest.title,
            supports=sorted(c.value for c in cls.manifest.supports),
            documentation=cls.manifest.documentation,
            settings_schema=cls.manifest.settings_model.model_json_schema(),
        )
        for name, cls in sorted(working.items())
    ]
    kinds += [
        SpokeKindOut(
            name=k.name,
            status="broken",
            error=k.error,
            entry_point=k.target,
            distribution=k.distribution,
        )
        for k in registry.broken_spokes()
    ]
    return kinds


def _distribution(name: str) -> str | None:
    found = next((k for k in registry.discover() if k.name == name and k.cls), None)
    return found.distribution if found is not None else None


@router.get("/spokes", response_model=list[SpokeView])
async def list_spokes(
    _who: AdminPrincipal, session: SessionDep, manager: SpokesDep
) -> list[SpokeView]:
    """Configured spokes, secrets masked, with their status in this process."""
    rows = await session.scalars(select(t.SpokeRow).order_by(t.SpokeRow.name))
    return [_view(r, manager) for r in rows.all()]


@router.post("/spokes", response_model=SpokeView, status_code=201)
async def create_spoke(
    body: SpokeIn,
    *,
    _who: AdminPrincipal,
    session: SessionDep,
    engine: EngineDep,
    manager: SpokesDep,
    dispatcher: DispatcherDep,
) -> SpokeView:
    """Configure a spoke of an installed kind; its settings are checked against its manifest."""
    cls = _require_kind(body.kind)
    _validate_settings(cls, body.settings)
    await _check_presence_map(session, body.presence_map)
    if await session.get(t.SpokeRow, body.name) is not None:
        raise DomainError(ErrorCode.CONFLICT, f"spoke '{body.name}' already exists", "name")
    now = engine.clock.now()
    session.add(t.SpokeRow(**body.model_dump(), created_at=now, updated_at=now))
    await session.commit()
    await _applied(body.name, session, manager, engine, dispatcher)
    return _view(await _row(session, body.name), manager)


@router.get("/spokes/{name}", response_model=SpokeView)
async def get_spoke(
    name: str, _who: AdminPrincipal, session: SessionDep, manager: SpokesDep
) -> SpokeView:
    """One configured spoke, secrets masked."""
    return _view(await _row(session, name), manager)


@router.patch("/spokes/{name}", response_model=SpokeView)
async def update_spoke(
    name: str,
    body: SpokePatch,
    *,
    _who: AdminPrincipal,
    session: SessionDep,
    engine: EngineDep,
    manager: SpokesDep,
    dispatcher: DispatcherDep,
) -> SpokeView:
    """Change a spoke; given settings keys replace stored ones, a masked secret stays as it is."""
    row = await _row(session, name)
    if body.settings is not None:
        cls = _require_kind(row.kind)
        secrets = secret_fields(cls.manifest.settings_model)
        merged = dict(row.settings)
        for key, value in body.settings.items():
            if not (key in secrets and value == MASK):
                merged[key] = value
        _validate_settings(cls, merged)
        row.settings = merged
    if body.presence_map is not None:
        await _check_presence_map(session, body.presence_map)
        row.presence_map = dict(body.presence_map)
    if body.allow_provisioning is not None:
        row.allow_provisioning = body.allow_provisioning
    if body.enabled is not None:
        row.enabled = body.enabled
    row.updated_at = engine.clock.now()
    await session.commit()
    await _applied(name, session, manager, engine, dispatcher)
    return _view(await _row(session, name), manager)


async def _spoke_uses(session: AsyncSession, name: str) -> list[Use]:
    queues = await session.scalars(
        select(t.QueueRow.id).where(t.QueueRow.spoke == name).order_by(t.QueueRow.id).limit(4)
    )
    ev = t.OutboxEventRow
    events = await session.scalars(
        select(ev.seq)
        .where(ev.spoke == name, ev.state.in_(outbox_admin.UNDELIVERED))
        .order_by(ev.seq)
        .limit(4)
    )
    found = [
        ("queues", tuple(queues.all())),
        ("undelivered outbox events (retry or discard them first)", tuple(map(str, events.all()))),
    ]
    return [Use(what, ids) for what, ids in found if ids]


@router.delete("/spokes/{name}", status_code=204, response_class=Response)
async def delete_spoke(
    name: str,
    _who: AdminPrincipal,
    session: SessionDep,
    engine: EngineDep,
    manager: SpokesDep,
) -> Response:
    """Remove a spoke that no queue uses and that has no undelivered events; unload it."""
    row = await _row(session, name)
    svc.refuse_if_used("spoke", name, await _spoke_uses(session, name))
    await session.delete(row)
    await session.commit()
    await manager.reload(name)
    await engine.reload_config()
    return Response(status_code=204)


@router.post("/spokes/{name}/health", response_model=SpokeHealthOut)
async def check_spoke(
    name: str, _who: AdminPrincipal, engine: EngineDep, manager: SpokesDep
) -> SpokeHealthOut:
    """Ask the provider whether it answers with our credentials (502 with the reason if not)."""
    spoke = await manager.ready(name)
    try:
        await asyncio.wait_for(spoke.health(), HEALTH_TIMEOUT_S)
    except SpokeUnavailableError as err:
        raise DomainError(ErrorCode.SPOKE_UNAVAILABLE, str(err)) from err
    except TimeoutError as err:
        raise DomainError(
            ErrorCode.SPOKE_UNAVAILABLE,
            f"spoke '{name}' did not answer within {HEALTH_TIMEOUT_S:g} s",
        ) from err
    except SpokeAuthError as err:
        raise DomainError(ErrorCode.SPOKE_AUTH_FAILED, str(err)) from err
    except SpokeRejectedError as err:
        raise DomainError(ErrorCode.SPOKE_REJECTED, str(err)) from err
    return SpokeHealthOut(name=name, checked_at=engine.clock.now())


@router.get("/spokes/{name}/incidents", response_model=list[IncidentOut])
async def list_incidents(
    name: str, _who: AdminPrincipal, session: SessionDep, limit: Limit = 100
) -> list[IncidentOut]:
    """What a spoke could not do, newest first (kept after the spoke is removed)."""
    inc = t.SpokeIncidentRow
    rows = (
        await session.scalars(
            select(inc).where(inc.spoke == name).order_by(inc.created_at.desc()).limit(limit)
        )
    ).all()
    if not rows and await session.get(t.SpokeRow, name) is None:
        raise NotFoundError("spoke", name, "name")
    return [IncidentOut.model_validate(r) for r in rows]


# -- the outbox -----------------------------------------------------------------------


@router.get("/outbox", response_model=list[OutboxEventOut])
async def list_outbox(
    _who: AdminPrincipal,
    session: SessionDep,
    state: OutboxStateName | None = None,
    spoke: str | None = None,
    ordering_key: str | None = None,
    limit: Limit = 100,
) -> list[OutboxEventOut]:
    """Routing events (default: pending and dead, oldest first; delivered newest first)."""
    views = await outbox_admin.list_events(
        session, state=state, spoke=spoke, ordering_key=ordering_key, limit=limit
    )
    return [OutboxEventOut.model_validate(v) for v in views]


@router.api_route(
    "/outbox/retry-dead", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def retry_dead_other_methods() -> None:
    """Without this, GET /outbox/retry-dead would be read as the event 'retry-dead'."""
    raise StarletteHTTPException(405)


@router.get("/outbox/{seq}", response_model=OutboxEventOut)
async def get_outbox_event(
    seq: OutboxSeq, _who: AdminPrincipal, session: SessionDep
) -> OutboxEventOut:
    """One routing event."""
    return OutboxEventOut.model_validate(await outbox_admin.one(session, seq))


@router.post("/outbox/{seq}/retry", response_model=OutboxEventOut)
async def retry_outbox_event(
    seq: OutboxSeq,
    _who: AdminPrincipal,
    session: SessionDep,
    engine: EngineDep,
    dispatcher: DispatcherDep,
) -> OutboxEventOut:
    """Send a dead event again (attempts start over), or a pending one now."""
    async with session.begin():
        await outbox_admin.retry(session, seq, engine.clock.now())
    dispatcher.wake()
    return OutboxEventOut.model_validate(await outbox_admin.one(session, seq))


@router.post("/outbox/{seq}/discard", response_model=OutboxEventOut)
async def discard_outbox_event(
    seq: OutboxSeq, _who: AdminPrincipal, session: SessionDep, dispatcher: DispatcherDep
) -> OutboxEventOut:
    """Give up on a dead or pending event: state `discarded`, never sent, no longer blocking."""
    async with session.begin():
        await outbox_admin.discard(session, seq)
    dispatcher.wake()
    return OutboxEventOut.model_validate(await outbox_admin.one(session, seq))


@router.post("/outbox/retry-dead", response_model=RetriedOut)
async def retry_dead_events(
    _who: AdminPrincipal,
    session: SessionDep,
    engine: EngineDep,
    dispatcher: DispatcherDep,
    spoke: str | None = None,
) -> RetriedOut:
    """Send every dead event (of one spoke) again."""
    async with session.begin():
        count = await outbox_admin.retry_dead(session, engine.clock.now(), spoke)
    dispatcher.wake()
    return RetriedOut(retried=count)
