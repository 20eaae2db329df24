"""Administration: CRUD for the routing catalog, agents and API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.api.admin_schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    CalendarCreate,
    CalendarOut,
    CalendarUpdate,
    ChannelCreate,
    ChannelOut,
    ChannelUpdate,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    NewRecord,
    PresenceStateCreate,
    PresenceStateOut,
    PresenceStateUpdate,
    QueueCreate,
    QueueOut,
    QueueUpdate,
    RejectReasonCreate,
    RejectReasonUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    SkillCreate,
    SkillOut,
    SkillUpdate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    WrapUpCodeCreate,
    WrapUpCodeOut,
    WrapUpCodeUpdate,
)
from omniroute.api.auditing import AdminAuditor
from omniroute.api.auth import Principal, Role, TokenCache
from omniroute.api.bounds import Offset, accepts_null
from omniroute.api.deps import AdminPrincipal, CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.schemas import Body, Out, RejectReasonOut
from omniroute.api.sessions import SessionStore
from omniroute.auth_tokens import hash_token, new_token
from omniroute.core.messages import SetAgentDisabled
from omniroute.domain.bounds import MAX_SECONDS
from omniroute.domain.calendar import DAYS, OutOfHoursAction, parse_span
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.escalation import StepError, check_steps, steps_from_json
from omniroute.domain.model import RoutingMode
from omniroute.engine.engine import Engine
from omniroute.services import admin as svc
from omniroute.services.admin import Use
from omniroute.store import tables as t

router = APIRouter(tags=["admin"])

RowT = TypeVar("RowT", bound=t.Base)
NewT = TypeVar("NewT", bound=NewRecord)


def _tokens(request: Request) -> TokenCache:
    tokens: TokenCache = request.app.state.tokens
    return tokens


TokensDep = Annotated[TokenCache, Depends(_tokens)]
Limit = Annotated[int, Query(ge=1, le=10_000)]


def _validated(model: type[NewT], data: dict[str, Any]) -> NewT:
    """A record re-validated whole after a partial update, errors mapped to their field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        message = f"{field}: {first['msg']}" if field else first["msg"]
        raise DomainError(ErrorCode.VALIDATION_ERROR, message, field) from None


class Entity(Generic[RowT, NewT]):
    """How one kind of record is checked, stored and shown; its routes are made from this."""

    kind: str
    path: str
    row: type[RowT]
    create: type[NewT]
    update: type[Body]
    out: type[Out]
    public: bool = True
    links: frozenset[str] = frozenset()
    clears_tokens: bool = False
    # Changes to these fields (or a delete) end the record's browser sessions and sockets.
    ends_sessions: frozenset[str] = frozenset()

    def ending(self, row: RowT, keys: set[str]) -> tuple[bool, bool]:
        """Whether a change ends the record's sessions, and also its API tokens' sockets."""
        return bool(keys & self.ends_sessions), False

    async def applied(self, engine: Engine, row: RowT, keys: set[str]) -> None:
        """Hand the engine what a stored change means beyond re-read configuration."""

    @property
    def name(self) -> str:
        """The kind as an identifier, for operation names."""
        return self.kind.replace(" ", "_").replace("-", "_")

    def check(self, model: NewT) -> None:
        """Rules across fields that the body schema cannot express."""

    async def check_refs(self, session: AsyncSession, model: NewT, entity_id: str) -> None:
        """Refuse references to records that do not exist, and taken unique values."""

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a record, so that it may not be deleted."""
        return []

    def may_read(self, who: Principal, entity_id: str | None) -> None:
        """Refuse callers that may not read these records."""
        if not self.public:
            who.require(Role.ADMIN)

    def current(self, row: RowT) -> dict[str, Any]:
        """The stored values, as fields of the create body."""
        fields = set(self.create.model_fields) - self.links - {"id"}
        return {name: getattr(row, name) for name in fields}

    async def derived(self, model: NewT, keys: set[str]) -> dict[str, Any]:
        """Column values computed from the given fields before anything is written."""
        return {}

    def new_row(self, entity_id: str, values: dict[str, Any], now: datetime) -> RowT:
        """A row for a new record."""
        return self.row(id=entity_id, **values)

    async def write_links(
        self, session: AsyncSession, row: RowT, model: NewT, keys: set[str]
    ) -> None:
        """Store the given fields that live outside the row."""

    async def view(self, session: AsyncSession, rows: Sequence[RowT]) -> list[Out]:
        """Response bodies for rows."""
        return [self.out.model_validate(r) for r in rows]

    async def fetch(self, session: AsyncSession, entity_id: str) -> RowT:
        """A record by id, or NOT_FOUND."""
        row = await session.get(self.row, entity_id)
        if row is None:
            raise NotFoundError(self.kind, entity_id, "id")
        return row


class Channels(Entity[t.ChannelRow, ChannelCreate]):
    """Service channels."""

    kind = "channel"
    path = "channels"
    row = t.ChannelRow
    create = ChannelCreate
    update = ChannelUpdate
    out = ChannelOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a channel."""
        return await svc.channel_uses(session, entity_id)


class PresenceStates(Entity[t.PresenceStateRow, PresenceStateCreate]):
    """Presence states."""

    kind = "presence state"
    path = "presence-states"
    row = t.PresenceStateRow
    create = PresenceStateCreate
    update = PresenceStateUpdate
    out = PresenceStateOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a presence state."""
        return await svc.presence_uses(session, entity_id)


class Skills(Entity[t.SkillRow, SkillCreate]):
    """Skills."""

    kind = "skill"
    path = "skills"
    row = t.SkillRow
    create = SkillCreate
    update = SkillUpdate
    out = SkillOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a skill."""
        return await svc.skill_uses(session, entity_id)


class Groups(Entity[t.GroupRow, GroupCreate]):
    """Agent groups."""

    kind = "group"
    path = "groups"
    row = t.GroupRow
    create = GroupCreate
    update = GroupUpdate
    out = GroupOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a group."""
        return await svc.group_uses(session, entity_id)


class Rules(Entity[t.RuleRow, RuleCreate]):
    """Assignment rules."""

    kind = "rule"
    path = "rules"
    row = t.RuleRow
    create = RuleCreate
    update = RuleUpdate
    out = RuleOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a rule."""
        return await svc.rule_uses(session, entity_id)

    def check(self, model: RuleCreate) -> None:
        """A timeout is positive; overflow needs a primary group to overflow from."""
        timeout = model.offer_timeout_s
        if timeout is not None and not 1 <= timeout <= MAX_SECONDS:
            raise DomainError(
                ErrorCode.INVALID_TIMEOUT,
                f"offer_timeout_s must be between 1 and {MAX_SECONDS} seconds, or null for none",
                "offer_timeout_s",
            )
        if model.overflow_group_id is not None and model.primary_group_id is None:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                "overflow_group_id needs a primary_group_id to overflow from",
                "overflow_group_id",
            )
        if model.overflow_after_s is not None and model.overflow_group_id is None:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                "overflow_after_s needs an overflow_group_id",
                "overflow_after_s",
            )

    async def check_refs(self, session: AsyncSession, model: RuleCreate, entity_id: str) -> None:
        """The after-timeout presence and the groups exist."""
        if model.presence_after_timeout is not None:
            await svc.require(
                session,
                t.PresenceStateRow,
                model.presence_after_timeout,
                "presence state",
                "presence_after_timeout",
            )
        for field in ("primary_group_id", "overflow_group_id"):
            group_id = getattr(model, field)
            if group_id is not None:
                await svc.require(session, t.GroupRow, group_id, "group", field)


class Queues(Entity[t.QueueRow, QueueCreate]):
    """Queues."""

    kind = "queue"
    path = "queues"
    row = t.QueueRow
    create = QueueCreate
    update = QueueUpdate
    out = QueueOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a queue."""
        return await svc.queue_uses(session, entity_id)

    def check(self, model: QueueCreate) -> None:
        """An external queue names its spoke and provider queue; each skill appears once."""
        if model.routing_mode is RoutingMode.EXTERNAL:
            for field in ("spoke", "provider_queue_id"):
                if getattr(model, field) is None:
                    raise DomainError(
                        ErrorCode.VALIDATION_ERROR, f"an external queue needs {field}", field
                    )
        seen: set[str] = set()
        for i, req in enumerate(model.skills):
            if req.skill_id in seen:
                raise DomainError(
                    ErrorCode.VALIDATION_ERROR,
                    f"skill '{req.skill_id}' is required twice",
                    f"skills.{i}.skill_id",
                )
            if req.widen_after_s is not None and req.widen_after_s > MAX_SECONDS:
                raise DomainError(
                    ErrorCode.VALIDATION_ERROR,
                    f"widen_after_s may be at most {MAX_SECONDS} seconds",
                    f"skills.{i}.widen_after_s",
                )
            seen.add(req.skill_id)
        self._check_routing(model)

    def _check_routing(self, model: QueueCreate) -> None:
        """Out-of-hours routing names its queue; steps wait longer each; only the last abandons."""
        route = model.out_of_hours_action is OutOfHoursAction.ROUTE_TO_QUEUE
        if route and model.out_of_hours_queue_id is None:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                "out_of_hours_action route_to_queue needs an out_of_hours_queue_id",
                "out_of_hours_queue_id",
            )
        if model.max_wait_s is not None and model.escalation:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                "give either max_wait_s or escalation steps (a final abandon step replaces it)",
                "max_wait_s",
            )
        try:
            check_steps(steps_from_json([step.model_dump() for step in model.escalation]))
        except StepError as err:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR, str(err), f"escalation.{err.index}.{err.field}"
            ) from None

    async def check_refs(self, session: AsyncSession, model: QueueCreate, entity_id: str) -> None:
        """The rule, channels, skills, calendar and the queues and groups it routes to exist."""
        await svc.require(session, t.RuleRow, model.rule_id, "rule", "rule_id")
        for i, channel_id in enumerate(model.channels):
            await svc.require(session, t.ChannelRow, channel_id, "channel", f"channels.{i}")
        for i, req in enumerate(model.skills):
            await svc.require(session, t.SkillRow, req.skill_id, "skill", f"skills.{i}.skill_id")
        if model.calendar_id is not None:
            await svc.require(session, t.CalendarRow, model.calendar_id, "calendar", "calendar_id")
        targets = [("out_of_hours_queue_id", model.out_of_hours_queue_id)]
        targets += [
            (f"escalation.{i}.queue_id", s.queue_id) for i, s in enumerate(model.escalation)
        ]
        for field, queue_id in targets:
            if queue_id is None:
                continue
            if queue_id == entity_id:
                raise DomainError(
                    ErrorCode.VALIDATION_ERROR, "a queue cannot route work to itself", field
                )
            await svc.require(session, t.QueueRow, queue_id, "queue", field)
        for i, step in enumerate(model.escalation):
            for j, skill_id in enumerate(step.drop_skills):
                field = f"escalation.{i}.drop_skills.{j}"
                await svc.require(session, t.SkillRow, skill_id, "skill", field)
            for j, group_id in enumerate(step.add_groups):
                field = f"escalation.{i}.add_groups.{j}"
                await svc.require(session, t.GroupRow, group_id, "group", field)


class Calendars(Entity[t.CalendarRow, CalendarCreate]):
    """Business-hours calendars."""

    kind = "calendar"
    path = "calendars"
    row = t.CalendarRow
    create = CalendarCreate
    update = CalendarUpdate
    out = CalendarOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a calendar."""
        return await svc.calendar_uses(session, entity_id)

    def check(self, model: CalendarCreate) -> None:
        """The time zone is known; every span is HH:MM-HH:MM and ends after it starts."""
        try:
            ZoneInfo(model.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                f"'{model.tz}' is not an IANA time zone (such as Europe/Berlin)",
                "tz",
            ) from None
        spans = [
            (f"weekly.{d}.{i}", s) for d in DAYS for i, s in enumerate(getattr(model.weekly, d))
        ]
        seen: set[date] = set()
        for i, exception in enumerate(model.exceptions):
            if exception.date in seen:
                raise DomainError(
                    ErrorCode.VALIDATION_ERROR,
                    f"{exception.date} has more than one exception",
                    f"exceptions.{i}.date",
                )
            seen.add(exception.date)
            spans += [(f"exceptions.{i}.hours.{j}", s) for j, s in enumerate(exception.hours)]
        for field, text in spans:
            try:
                parse_span(text)
            except ValueError as err:
                raise DomainError(ErrorCode.VALIDATION_ERROR, str(err), field) from None


class RejectReasons(Entity[t.RejectReasonRow, RejectReasonCreate]):
    """Reject reasons."""

    kind = "reject reason"
    path = "reject-reasons"
    row = t.RejectReasonRow
    create = RejectReasonCreate
    update = RejectReasonUpdate
    out = RejectReasonOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a reject reason."""
        return await svc.reject_reason_uses(session, entity_id)

    async def check_refs(
        self, session: AsyncSession, model: RejectReasonCreate, entity_id: str
    ) -> None:
        """The channel exists."""
        if model.channel_id is not None:
            await svc.require(session, t.ChannelRow, model.channel_id, "channel", "channel_id")


class WrapUpCodes(Entity[t.WrapUpCodeRow, WrapUpCodeCreate]):
    """Wrap-up codes."""

    kind = "wrap-up code"
    path = "wrap-up-codes"
    row = t.WrapUpCodeRow
    create = WrapUpCodeCreate
    update = WrapUpCodeUpdate
    out = WrapUpCodeOut

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a wrap-up code."""
        return await svc.wrap_up_code_uses(session, entity_id)


class Agents(Entity[t.AgentRow, AgentCreate]):
    """Agents, with their skill levels, groups and password."""

    kind = "agent"
    path = "agents"
    row = t.AgentRow
    create = AgentCreate
    update = AgentUpdate
    out = AgentOut
    public = False
    links = frozenset({"skills", "groups", "password"})
    clears_tokens = True
    ends_sessions = frozenset({"password"})

    def ending(self, row: t.AgentRow, keys: set[str]) -> tuple[bool, bool]:
        """A new or cleared password ends sessions; disabling ends sessions and tokens."""
        disabling = "disabled" in keys and row.disabled
        return bool(keys & self.ends_sessions) or disabling, disabling

    async def applied(self, engine: Engine, row: t.AgentRow, keys: set[str]) -> None:
        """A disabled agent is set offline and its offers go back; an enabled one may work."""
        if "disabled" in keys:
            await engine.execute(SetAgentDisabled(row.id, disabled=row.disabled))

    async def uses(self, session: AsyncSession, entity_id: str) -> list[Use]:
        """What refers to a agent."""
        return await svc.agent_uses(session, entity_id)

    def may_read(self, who: Principal, entity_id: str | None) -> None:
        """Administrators read every agent; an agent reads itself."""
        if entity_id is None:
            who.require(Role.ADMIN)
        else:
            who.require_agent_or(entity_id, Role.ADMIN)

    async def check_refs(self, session: AsyncSession, model: AgentCreate, entity_id: str) -> None:
        """The presence, skills and groups exist and the email is free."""
        await svc.require(
            session, t.PresenceStateRow, model.presence_id, "presence state", "presence_id"
        )
        await svc.check_agent_links(session, model.skills, model.groups)
        await svc.require_email_free(session, model.email, entity_id)

    async def derived(self, model: AgentCreate, keys: set[str]) -> dict[str, Any]:
        """The password hash, when a password (or null, to clear it) is given."""
        if "password" not in keys:
            return {}
        password = model.password
        return {"password_hash": None if password is None else await svc.hash_password(password)}

    def new_row(self, entity_id: str, values: dict[str, Any], now: datetime) -> t.AgentRow:
        """A new agent, in its initial presence since now."""
        return t.AgentRow(id=entity_id, **values, presence_since=now, created_at=now)

    async def write_links(
        self, session: AsyncSession, row: t.AgentRow, model: AgentCreate, keys: set[str]
    ) -> None:
        """Replace skills and groups, as given."""
        if "skills" in keys:
            await svc.replace_agent_skills(session, row.id, model.skills)
        if "groups" in keys:
            await svc.replace_agent_groups(session, row.id, model.groups)

    async def view(self, session: AsyncSession, rows: Sequence[t.AgentRow]) -> list[Out]:
        """Agents with their skills and groups, never the password."""
        skills, groups = await svc.agent_links(session, [r.id for r in rows])
        return [
            AgentOut(
                id=r.id,
                name=r.name,
                email=r.email,
                presence_id=r.presence_id,
                capacity_cap=r.capacity_cap,
                allow_external=r.allow_external,
                skills=skills[r.id],
                groups=groups[r.id],
                has_password=r.password_hash is not None,
                supervisor=r.supervisor,
                disabled=r.disabled,
                created_at=r.created_at,
            )
            for r in rows
        ]


def _sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def _add_routes(entity: Entity[Any, Any]) -> None:
    """The five CRUD routes of one kind of record."""
    many = f"/{entity.path}"
    one = f"/{entity.path}/{{entity_id}}"
    kind = entity.kind
    name = entity.name
    id_column = entity.row.__table__.c["id"]

    async def create_record(
        body: NewRecord,
        audit: AdminAuditor,
        session: SessionDep,
        engine: EngineDep,
    ) -> Out:
        entity.check(body)
        if body.id is not None and await session.get(entity.row, body.id) is not None:
            raise DomainError(ErrorCode.CONFLICT, f"{kind} '{body.id}' already exists", "id")
        entity_id = body.id or await svc.free_id(session, entity.row, body.name, entity.name)
        await entity.check_refs(session, body, entity_id)
        keys = set(type(body).model_fields)
        values = body.model_dump(mode="json", exclude={"id", *entity.links})
        values |= await entity.derived(body, keys)
        row = entity.new_row(entity_id, values, engine.clock.now())
        session.add(row)
        await session.flush()
        await entity.write_links(session, row, body, keys)
        details = body.model_dump(mode="json", exclude={"id"})
        await audit.log(session, f"{name}.create", (name, entity_id), details)
        await session.commit()
        await engine.reload_config()
        await entity.applied(engine, row, keys)
        return (await entity.view(session, [row]))[0]

    async def list_records(
        who: CurrentPrincipal, session: SessionDep, limit: Limit = 1000, offset: Offset = 0
    ) -> list[Out]:
        entity.may_read(who, None)
        rows = await session.scalars(
            select(entity.row).order_by(id_column).limit(limit).offset(offset)
        )
        return await entity.view(session, rows.all())

    async def get_record(entity_id: str, who: CurrentPrincipal, session: SessionDep) -> Out:
        entity.may_read(who, entity_id)
        return (await entity.view(session, [await entity.fetch(session, entity_id)]))[0]

    async def update_record(  # noqa: PLR0917 - FastAPI dependencies
        entity_id: str,
        body: Body,
        audit: AdminAuditor,
        session: SessionDep,
        engine: EngineDep,
        tokens: TokensDep,
        request: Request,
    ) -> Out:
        row = await entity.fetch(session, entity_id)
        # Null leaves a field as it is, unless the record itself may hold null (then it clears).
        fields = entity.create.model_fields
        keys = {
            k
            for k in body.model_fields_set
            if getattr(body, k) is not None or (k in fields and accepts_null(fields[k].annotation))
        }
        if keys:
            merged = entity.current(row) | body.model_dump(include=keys)
            model = _validated(entity.create, merged)
            entity.check(model)
            await entity.check_refs(session, model, entity_id)
            values = model.model_dump(mode="json", include=keys - entity.links)
            values |= await entity.derived(model, keys)
            for column, value in values.items():
                setattr(row, column, value)
            await entity.write_links(session, row, model, keys)
            details = body.model_dump(mode="json", include=keys)
            await audit.log(session, f"{name}.update", (name, entity_id), details)
            await session.commit()
            ends_sessions, ends_tokens = entity.ending(row, keys)
            if ends_tokens:
                tokens.clear()
            if ends_sessions:
                await _sessions(request).end_agent(entity_id, tokens_too=ends_tokens)
            await engine.reload_config()
            await entity.applied(engine, row, keys)
        return (await entity.view(session, [row]))[0]

    async def delete_record(  # noqa: PLR0917 - FastAPI dependencies
        entity_id: str,
        audit: AdminAuditor,
        session: SessionDep,
        engine: EngineDep,
        tokens: TokensDep,
        request: Request,
    ) -> Response:
        row = await entity.fetch(session, entity_id)
        svc.refuse_if_used(kind, entity_id, await entity.uses(session, entity_id))
        await session.delete(row)
        await audit.log(session, f"{name}.delete", (name, entity_id), {})
        await session.commit()
        if entity.clears_tokens:
            tokens.clear()
        if entity.ends_sessions:
            await _sessions(request).end_agent(entity_id, tokens_too=entity.clears_tokens)
        await engine.reload_config()
        return Response(status_code=204)

    # FastAPI reads the body model from the annotation, which differs per kind of record.
    create_record.__annotations__["body"] = entity.create
    update_record.__annotations__["body"] = entity.update
    out = entity.out
    readers = "any authenticated caller" if entity.public else "administrators"
    router.add_api_route(
        many,
        create_record,
        methods=["POST"],
        status_code=201,
        response_model=out,
        name=f"create_{name}",
        summary=f"Create a {kind}",
        description=f"Create a {kind}; without an id, one is made from the name. Admin only.",
    )
    router.add_api_route(
        many,
        list_records,
        methods=["GET"],
        response_model=list[out],  # type: ignore[valid-type]
        name=f"list_{name}s",
        summary=f"List {kind}s",
        description=f"Every {kind}, ordered by id. Readable by {readers}.",
    )
    router.add_api_route(
        one,
        get_record,
        methods=["GET"],
        response_model=out,
        name=f"get_{name}",
        summary=f"Get a {kind}",
        description=f"One {kind}. Readable by {readers}.",
    )
    router.add_api_route(
        one,
        update_record,
        methods=["PATCH"],
        response_model=out,
        name=f"update_{name}",
        summary=f"Update a {kind}",
        description=f"Change the given fields of a {kind}; others stay. Admin only.",
    )
    router.add_api_route(
        one,
        delete_record,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        name=f"delete_{name}",
        summary=f"Delete a {kind}",
        description=f"Delete a {kind} that nothing uses (409 IN_USE otherwise). Admin only.",
    )


ENTITIES: tuple[Entity[Any, Any], ...] = (
    Channels(),
    PresenceStates(),
    Skills(),
    Groups(),
    Rules(),
    Calendars(),
    Queues(),
    RejectReasons(),
    WrapUpCodes(),
    Agents(),
)
for _entity in ENTITIES:
    _add_routes(_entity)


# -- API tokens -----------------------------------------------------------------------


async def _token(session: AsyncSession, token_id: str) -> t.ApiTokenRow:
    row = await session.get(t.ApiTokenRow, token_id)
    if row is None:
        raise NotFoundError("token", token_id, "id")
    return row


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def create_token(
    body: TokenCreate,
    audit: AdminAuditor,
    session: SessionDep,
    engine: EngineDep,
) -> TokenCreated:
    """Create an API token; its secret is returned only this once."""
    if body.role is Role.AGENT:
        if body.agent_id is None:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR, "an agent token needs an agent_id", "agent_id"
            )
        await svc.require(session, t.AgentRow, body.agent_id, "agent", "agent_id")
    elif body.agent_id is not None:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR, "only an agent token names an agent", "agent_id"
        )
    if body.id is not None and await session.get(t.ApiTokenRow, body.id) is not None:
        raise DomainError(ErrorCode.CONFLICT, f"token '{body.id}' already exists", "id")
    token_id = body.id or await svc.free_id(session, t.ApiTokenRow, body.name, "token")
    secret = new_token()
    row = t.ApiTokenRow(
        id=token_id,
        name=body.name,
        token_hash=hash_token(secret),
        role=body.role.value,
        agent_id=body.agent_id,
        created_at=engine.clock.now(),
    )
    session.add(row)
    details = {"name": body.name, "role": body.role.value, "agent_id": body.agent_id}
    await audit.log(session, "token.create", ("token", token_id), details)
    await session.commit()
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(
    _who: AdminPrincipal, session: SessionDep, limit: Limit = 1000, offset: Offset = 0
) -> list[TokenOut]:
    """API tokens, without their secrets, ordered by id."""
    rows = await session.scalars(
        select(t.ApiTokenRow).order_by(t.ApiTokenRow.id).limit(limit).offset(offset)
    )
    return [TokenOut.model_validate(r) for r in rows]


@router.get("/tokens/{token_id}", response_model=TokenOut)
async def get_token(token_id: str, _who: AdminPrincipal, session: SessionDep) -> TokenOut:
    """One API token, without its secret."""
    return TokenOut.model_validate(await _token(session, token_id))


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response)
async def revoke_token(
    token_id: str,
    audit: AdminAuditor,
    session: SessionDep,
    tokens: TokensDep,
    engine: EngineDep,
) -> Response:
    """Revoke an API token; it stops working at once."""
    await session.delete(await _token(session, token_id))
    await audit.log(session, "token.revoke", ("token", token_id), {})
    await session.commit()
    tokens.clear()
    return Response(status_code=204)


@router.post("/engine/reload", status_code=204, response_class=Response)
async def reload_engine(request: Request, _who: AdminPrincipal, engine: EngineDep) -> Response:
    """Re-read configuration written outside this server (e.g. by `omniroute import`)."""
    await engine.reload_config()
    request.app.state.tokens.clear()
    return Response(status_code=204)
