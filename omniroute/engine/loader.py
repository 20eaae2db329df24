"""Rebuild the engine's in-memory state from the store."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    any_,
    bindparam,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.state import EngineState, SpokeConfig
from omniroute.core.timers import TimerKind, item_timers
from omniroute.domain.calendar import OutOfHoursAction, calendar_from_json
from omniroute.domain.escalation import added_groups, steps_from_json
from omniroute.domain.model import (
    CAPACITY_HOLDING_STATES,
    CLOSED_CASE_STATES,
    CLOSED_INTERACTION_STATES,
    LIVE_WORK_ITEM_STATES,
    Agent,
    Channel,
    DisplayOption,
    Document,
    DocumentType,
    Offer,
    OfferState,
    PresenceState,
    Queue,
    RejectReason,
    RoutingMode,
    Rule,
    SkillRequirement,
    Strategy,
    WorkItem,
    WorkItemState,
    WrapUpCode,
)
from omniroute.domain.routing import RoutingConfig, RoutingIndex
from omniroute.store import tables as t
from omniroute.store.db import Database

# Load everything, or only the rows of these ids.
Ids = Collection[str] | None
# PostgreSQL takes at most 32,767 parameters in one statement: a long id list (a standby catching
# up on many commits) is read in slices of this many.
ID_SLICE = 5000
# A load builds objects from 100,000s of rows on the event loop: it lets the node's other tasks
# run after every this many, so its heartbeat, lease renewals, requests and their open
# transactions never wait seconds behind it (PostgreSQL ends a transaction idle for
# `OMNIROUTE_IDLE_TX_TIMEOUT_S`, and a leader not renewing loses its lease).
PACE = 1000
T = TypeVar("T")
Ts = TypeVarTuple("Ts")
LIVE_STATE_VALUES = [s.value for s in LIVE_WORK_ITEM_STATES]


@asynccontextmanager
async def read_snapshot(db: Database) -> AsyncIterator[AsyncSession]:
    """A read-only session on one consistent snapshot of the store, for loading state."""
    async with db.session() as session:
        if db.dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            await session.execute(
                text(
                    "SET LOCAL idle_in_transaction_session_timeout = "
                    f"'{int(db.load_idle_tx_timeout_s * 1000)}ms'"
                )
            )
        yield session


async def paced(rows: Iterable[T]) -> AsyncIterator[T]:
    """`rows` one by one, letting the event loop run other tasks after every `PACE`.

    While the caller works through `PACE` rows the cyclic garbage collector waits: a load
    builds millions of long-lived objects (and no reference cycles), and every collection it
    sets off walks those made so far (a third of a 100,000-item load's time; this saves a
    sixth of that). It runs whenever other tasks do.
    """
    enabled = gc.isenabled()
    try:
        for n, row in enumerate(rows, 1):
            if (n - 1) % PACE == 0:
                gc.disable()
            yield row
            if n % PACE == 0:
                if enabled:
                    gc.enable()
                await asyncio.sleep(0)
    finally:
        if enabled:
            gc.enable()


def slices(ids: Ids) -> list[list[str] | None]:
    """`ids` in slices one query each can take; [None] for everything."""
    if ids is None:
        return [None]
    ordered = sorted(ids)
    return [ordered[i : i + ID_SLICE] for i in range(0, len(ordered), ID_SLICE)]


def among(session: AsyncSession, column: Any, ids: Collection[str]) -> ColumnElement[bool]:
    """`column IN ids`; on PostgreSQL as `= ANY(array)`, one parameter however many ids (an
    expanded IN list is compiled anew for every statement: a tenth of a standby's catch-up)."""
    if session.get_bind().dialect.name == "postgresql":
        matches: ColumnElement[bool] = column == any_(
            bindparam(None, list(ids), type_=ARRAY(String))
        )
        return matches
    within: ColumnElement[bool] = column.in_(ids)
    return within


async def rows(session: AsyncSession, query: Select[*Ts]) -> Result[*Ts]:
    """A plain select's rows through the session's connection, past the ORM's per-row work."""
    connection = await session.connection()
    return await connection.execute(query)


# Items share a few requirement lists: each stored text is decoded once, and its items share
# the one tuple (the JSON is read as text, so the driver does not decode it for every row).
_REQUIREMENTS: dict[str, tuple[SkillRequirement, ...]] = {}
_REQUIREMENTS_KEPT = 10_000


def requirements_from_text(raw: str | None) -> tuple[SkillRequirement, ...]:
    """Skill requirements from their stored JSON text."""
    if not raw:
        return ()
    found = _REQUIREMENTS.get(raw)
    if found is None:
        found = skill_requirements(json.loads(raw))
        if len(_REQUIREMENTS) < _REQUIREMENTS_KEPT:
            _REQUIREMENTS[raw] = found
    return found


_NOBODY: frozenset[str] = frozenset()


def _agents_from_text(raw: str | None) -> frozenset[str]:
    if not raw or raw == "[]":
        return _NOBODY
    return frozenset(json.loads(raw))


def skill_requirements(raw: list[Any]) -> tuple[SkillRequirement, ...]:
    """Skill requirements from their stored JSON form."""
    return tuple(
        SkillRequirement(
            skill_id=r["skill_id"],
            min_level=int(r.get("min_level", 1)),
            mandatory=bool(r.get("mandatory", True)),
            widen_after_s=r.get("widen_after_s"),
            from_document=bool(r.get("from_document", False)),
        )
        for r in raw
    )


def requirements_json(reqs: tuple[SkillRequirement, ...]) -> list[dict[str, Any]]:
    """Skill requirements in their stored JSON form."""
    return [
        {
            "skill_id": r.skill_id,
            "min_level": r.min_level,
            "mandatory": r.mandatory,
            "widen_after_s": r.widen_after_s,
        }
        | ({"from_document": True} if r.from_document else {})
        for r in reqs
    ]


async def load_config(session: AsyncSession) -> tuple[RoutingConfig, dict[str, Any]]:
    """Channels, presence states, queues, rules and the other routing catalogs."""
    config = RoutingConfig()
    for ch in (await session.scalars(select(t.ChannelRow))).all():
        config.channels[ch.id] = Channel(ch.id, ch.name, ch.default_capacity)
    for ps in (await session.scalars(select(t.PresenceStateRow))).all():
        config.presence[ps.id] = PresenceState(ps.id, ps.name, ps.is_available)
    for r in (await session.scalars(select(t.RuleRow))).all():
        config.rules[r.id] = Rule(
            id=r.id,
            name=r.name,
            strategy=Strategy(r.strategy),
            offer_timeout_s=r.offer_timeout_s,
            allowed_to_decline=r.allowed_to_decline,
            auto_accept=r.auto_accept,
            presence_after_timeout=r.presence_after_timeout,
            reassign_on_timeout=r.reassign_on_timeout,
            primary_group_id=r.primary_group_id,
            overflow_group_id=r.overflow_group_id,
            overflow_after_s=r.overflow_after_s,
        )
    for q in (await session.scalars(select(t.QueueRow))).all():
        config.queues[q.id] = Queue(
            id=q.id,
            name=q.name,
            channels=tuple(q.channels),
            rule_id=q.rule_id,
            priority=q.priority,
            routing_mode=RoutingMode(q.routing_mode),
            max_wait_s=q.max_wait_s,
            skills=skill_requirements(q.skills),
            spoke=q.spoke,
            provider_queue_id=q.provider_queue_id,
            calendar_id=q.calendar_id,
            out_of_hours=OutOfHoursAction(q.out_of_hours_action),
            out_of_hours_queue_id=q.out_of_hours_queue_id,
            out_of_hours_message=q.out_of_hours_message,
            steps=steps_from_json(q.escalation or []),
            aging_per_min=q.aging_per_min,
            exclusion_ttl_s=q.exclusion_ttl_s,
            reject_cooldown_s=q.reject_cooldown_s,
            affinity_wait_s=q.affinity_wait_s,
        )
    for c in (await session.scalars(select(t.CalendarRow))).all():
        config.calendars[c.id] = calendar_from_json(
            c.id, c.name, c.tz, weekly=c.weekly, holidays=c.holidays, exceptions=c.exceptions
        )
    catalogs: dict[str, Any] = {
        "reject_reasons": {
            r.id: RejectReason(r.id, r.name, r.reassignable, r.channel_id)
            for r in (await session.scalars(select(t.RejectReasonRow))).all()
        },
        "wrap_up_codes": {
            w.id: WrapUpCode(w.id, w.name, w.time_limit_s)
            for w in (await session.scalars(select(t.WrapUpCodeRow))).all()
        },
        "skill_ids": set((await session.scalars(select(t.SkillRow.id))).all()),
    }
    return config, catalogs


async def load_agents(session: AsyncSession, ids: Ids = None) -> dict[str, Agent]:
    """Agents with their capacities, availability, skills and groups (load not included)."""
    agents: dict[str, Agent] = {}
    for part in slices(ids):
        agents |= await _load_agents(session, part)
    return agents


async def _load_agents(session: AsyncSession, ids: Ids) -> dict[str, Agent]:
    agents: dict[str, Agent] = {}
    ag, ch, sk, gr = t.AgentRow, t.AgentChannelRow, t.AgentSkillRow, t.AgentGroupRow
    agent_rows = select(ag)
    channel_rows, skill_rows, group_rows = select(ch), select(sk), select(gr)
    if ids is not None:
        agent_rows = agent_rows.where(ag.id.in_(ids))
        channel_rows = channel_rows.where(ch.agent_id.in_(ids))
        skill_rows = skill_rows.where(sk.agent_id.in_(ids))
        group_rows = group_rows.where(gr.agent_id.in_(ids))
    for a in (await session.scalars(agent_rows)).all():
        agents[a.id] = Agent(
            id=a.id,
            name=a.name,
            presence_id=a.presence_id,
            capacity_cap=a.capacity_cap,
            last_assigned_at=a.last_assigned_at,
            presence_since=a.presence_since,
            allow_external=a.allow_external,
            email=a.email,
            disabled=a.disabled,
        )
    for ac in (await session.scalars(channel_rows)).all():
        agent = agents.get(ac.agent_id)
        if agent is None:
            continue
        if ac.capacity is not None:
            agent.capacity_overrides[ac.channel_id] = ac.capacity
        agent.channel_available[ac.channel_id] = ac.available
    for level in (await session.scalars(skill_rows)).all():
        if level.agent_id in agents:
            agents[level.agent_id].skills[level.skill_id] = level.level
    groups: dict[str, set[str]] = {}
    for g in (await session.scalars(group_rows)).all():
        groups.setdefault(g.agent_id, set()).add(g.group_id)
    for agent_id, group_ids in groups.items():
        if agent_id in agents:
            agents[agent_id].groups = frozenset(group_ids)
    return agents


def _instants(stored: str | None) -> dict[str, datetime] | None:
    """Agent exclusions' ends from their JSON text."""
    ends = json.loads(stored) if stored and stored != "null" else None
    if not ends:
        return None
    return {agent: datetime.fromisoformat(end) for agent, end in ends.items()}


def _summary(name: str, email: str, subject: str) -> dict[str, str]:
    # A three-key dict per queued document is a tenth of the memory at 100k items.
    if not (name or email or subject):
        return {}
    return {"customer_name": name, "customer_email": email, "subject": subject}


async def load_documents(session: AsyncSession, ids: Ids = None) -> list[Document]:
    """Live interactions and cases (only those of `ids` when given)."""
    return [row for part in slices(ids) for row in await _load_documents(session, part)]


async def _load_documents(session: AsyncSession, ids: Ids) -> list[Document]:
    inter = t.InteractionRow
    closed_i = [s.value for s in CLOSED_INTERACTION_STATES]
    query = select(
        inter.id,
        inter.channel_id,
        inter.state,
        inter.work_item_id,
        inter.agent_id,
        inter.wrap_up_due_at,
        inter.customer_name,
        inter.customer_email,
        inter.subject,
        inter.wrap_up_code_id,
        inter.wrap_up_notes,
        inter.customer_id,
        inter.case_id,
    ).where(inter.state.not_in(closed_i))
    if ids is not None:
        query = query.where(among(session, inter.id, ids))
    docs = [
        Document(
            doc_id,
            DocumentType.INTERACTION,
            channel_id,
            st,
            work_item_id,
            None,
            agent_id,
            wrap_up_due_at,
            summary=_summary(name, email, subject),
            wrap_up_code_id=code_id,
            wrap_up_notes=notes,
            customer_id=customer_id,
            case_id=case_id,
        )
        async for (
            doc_id,
            channel_id,
            st,
            work_item_id,
            agent_id,
            wrap_up_due_at,
            name,
            email,
            subject,
            code_id,
            notes,
            customer_id,
            case_id,
        ) in paced(await rows(session, query))
    ]
    case = t.CaseRow
    closed_c = [s.value for s in CLOSED_CASE_STATES]
    case_query = select(
        case.id,
        case.channel_id,
        case.state,
        case.work_item_id,
        case.agent_id,
        case.customer_name,
        case.customer_email,
        case.subject,
    ).where(case.state.not_in(closed_c))
    if ids is not None:
        case_query = case_query.where(among(session, case.id, ids))
    async for doc_id, channel_id, st, wi, agent_id, name, email, subject in paced(
        await rows(session, case_query)
    ):
        docs.append(
            Document(
                doc_id,
                DocumentType.CASE,
                channel_id,
                st,
                wi,
                None,
                agent_id,
                summary=_summary(name, email, subject),
            )
        )
    return docs


async def load_last_agents(session: AsyncSession, customers: Ids = None) -> dict[str, str]:
    """The agent who last worked for each stable customer id (agent affinity)."""
    last: dict[str, str] = {}
    for part in slices(customers):
        last |= await _load_last_agents(session, part)
    return last


async def _load_last_agents(session: AsyncSession, customers: Ids) -> dict[str, str]:
    inter = t.InteractionRow
    latest = select(inter.customer_id, func.max(inter.created_at).label("at")).where(
        inter.customer_id.is_not(None), inter.agent_id.is_not(None)
    )
    if customers is not None:
        latest = latest.where(inter.customer_id.in_(customers))
    newest = latest.group_by(inter.customer_id).subquery()
    rows = await session.execute(
        select(inter.customer_id, inter.agent_id).join(
            newest,
            (inter.customer_id == newest.c.customer_id) & (inter.created_at == newest.c.at),
        )
    )
    return {
        customer_id: agent_id
        for customer_id, agent_id in rows
        if customer_id is not None and agent_id is not None
    }


async def load_items(session: AsyncSession, ids: Ids = None) -> list[WorkItem]:
    """Live work items (only those of `ids` when given), without their offers."""
    return [row for part in slices(ids) for row in await _load_items(session, part)]


async def _load_items(session: AsyncSession, ids: Ids) -> list[WorkItem]:
    wi = t.WorkItemRow
    query = select(
        wi.id,
        wi.document_type,
        wi.document_id,
        wi.queue_id,
        wi.channel_id,
        wi.priority,
        wi.created_at,
        cast(wi.skills, Text),
        wi.state,
        wi.rejected,
        wi.timed_out,
        wi.offer_count,
        wi.previous_id,
        wi.agent_id,
        cast(wi.excluded_agents, Text),
        cast(wi.excluded_until, Text),
        wi.escalation_step,
        wi.entered_at,
        wi.preferred_agent_id,
        wi.accepted_at,
        wi.transfer_type,
        wi.transfer_from_agent_id,
        wi.transfer_to_agent_id,
    ).where(wi.state.in_(LIVE_STATE_VALUES))
    if ids is not None:
        query = query.where(among(session, wi.id, ids))
    types, states = {d.value: d for d in DocumentType}, {s.value: s for s in WorkItemState}
    return [
        WorkItem(
            id=item_id,
            document_type=types[document_type],
            document_id=document_id,
            queue_id=queue_id,
            channel_id=channel_id,
            priority=priority,
            created_at=created_at,
            skills=requirements_from_text(skills),
            state=states[state],
            rejected=rejected,
            timed_out=timed_out,
            offer_count=offer_count,
            previous_id=previous_id,
            agent_id=agent_id,
            excluded_agents=_agents_from_text(excluded_agents),
            excluded_until=_instants(excluded_until),
            escalation_step=escalation_step,
            entered_at=entered_at,
            preferred_agent_id=preferred_agent_id,
            accepted_at=accepted_at,
            transfer_type=transfer_type,
            transfer_from_agent_id=transfer_from_agent_id,
            transfer_to_agent_id=transfer_to_agent_id,
        )
        async for (
            item_id,
            document_type,
            document_id,
            queue_id,
            channel_id,
            priority,
            created_at,
            skills,
            state,
            rejected,
            timed_out,
            offer_count,
            previous_id,
            agent_id,
            excluded_agents,
            excluded_until,
            escalation_step,
            entered_at,
            preferred_agent_id,
            accepted_at,
            transfer_type,
            transfer_from_agent_id,
            transfer_to_agent_id,
        ) in paced(await rows(session, query))
    ]


def place_item(state: EngineState, item: WorkItem) -> None:
    """Track a loaded live item: its escalation groups, and its document's spoke."""
    queue = state.config.queues.get(item.queue_id)
    if queue is not None:
        item.extra_groups = added_groups(queue.steps[: item.escalation_step])
    state.add_item(item)
    doc = state.documents.get(item.document_id)
    if doc is not None and queue is not None and queue.routing_mode is RoutingMode.EXTERNAL:
        doc.spoke = queue.spoke


def mark_accepted(state: EngineState, doc: Document) -> None:
    """Which of a document's live items is the one being worked."""
    accepted = [i for i in state.live_items(doc.id) if i.state is WorkItemState.ACCEPTED]
    # After a consult transfer the sender's item is still accepted; the current one is
    # the item no other accepted item of the document points back to.
    senders = {i.previous_id for i in accepted}
    current = [i for i in accepted if i.id not in senders]
    doc.accepted_item_id = current[-1].id if current else None


async def load_offers(session: AsyncSession, ids: Ids = None) -> list[Offer]:
    """Pending offers (only those of `ids` when given)."""
    return [row for part in slices(ids) for row in await _load_offers(session, part)]


async def _load_offers(session: AsyncSession, ids: Ids) -> list[Offer]:
    of = t.OfferRow
    query = select(of).where(of.state == OfferState.PENDING.value)
    if ids is not None:
        query = query.where(of.id.in_(ids))
    return [
        Offer(
            id=o.id,
            work_item_id=o.work_item_id,
            agent_id=o.agent_id,
            created_at=o.created_at,
            expires_at=o.expires_at,
            allowed_to_decline=o.allowed_to_decline,
            auto_accept=o.auto_accept,
            display_option=DisplayOption(o.display_option),
            presence_after_timeout=o.presence_after_timeout,
            external_segment_id=o.external_segment_id,
        )
        for (o,) in await session.execute(query)
    ]


async def load_ended_offers(
    session: AsyncSession, ids: Collection[str]
) -> list[tuple[str, str, OfferState]]:
    """The agent and outcome of those of `ids` that are no longer pending."""
    return [row for part in slices(ids) for row in await _load_ended_offers(session, part or ())]


async def _load_ended_offers(
    session: AsyncSession, ids: Collection[str]
) -> list[tuple[str, str, OfferState]]:
    of = t.OfferRow
    rows = await session.execute(
        select(of.id, of.agent_id, of.state).where(
            of.id.in_(ids), of.state != OfferState.PENDING.value
        )
    )
    return [(offer_id, agent_id, OfferState(st)) for offer_id, agent_id, st in rows]


def place_offer(state: EngineState, offer: Offer) -> None:
    """Track a pending offer: its item, its provider segment and its timeout."""
    state.offers[offer.id] = offer
    if offer.external_segment_id is not None:
        spoke = _item_spoke(state, offer.work_item_id)
        state.segment_offers[(spoke, offer.external_segment_id)] = offer.id
    if offer.work_item_id in state.work_items:
        state.work_items[offer.work_item_id].offer_id = offer.id
    if offer.expires_at is not None:
        state.timers.add(offer.expires_at, TimerKind.OFFER_TIMEOUT, offer.id)


async def _load_work(session: AsyncSession, state: EngineState) -> None:
    for doc in await load_documents(session):
        state.documents[doc.id] = doc
        if doc.wrap_up_due_at is not None:
            state.timers.add(doc.wrap_up_due_at, TimerKind.WRAP_UP_DUE, doc.id)
    state.last_agents = await load_last_agents(session)
    async for item in paced(await load_items(session)):
        place_item(state, item)
    async for doc in paced(list(state.documents.values())):
        mark_accepted(state, doc)
    for offer in await load_offers(session):
        place_offer(state, offer)
    # Outcomes of live items' past offers, so a late accept or reject still gets the precise
    # error after a restart (older ones are answered from the store by the API).
    of, wi = t.OfferRow, t.WorkItemRow
    ended = await session.execute(
        select(of.id, of.agent_id, of.state)
        .join(wi, wi.id == of.work_item_id)
        .where(of.state != OfferState.PENDING.value, wi.state.in_(LIVE_STATE_VALUES))
        .order_by(of.ended_at)
    )
    for offer_id, agent_id, offer_state in ended:
        state.ended_offers[offer_id] = (agent_id, OfferState(offer_state))


def index_agents(state: EngineState, agents: dict[str, Agent]) -> None:
    """Count each agent's load from the live items and index them."""
    state.index.config_changed()
    for item in state.work_items.values():
        agent = agents.get(item.agent_id or "")
        if agent is not None and item.state in CAPACITY_HOLDING_STATES:
            agent.load[item.channel_id] = agent.load.get(item.channel_id, 0) + 1
    for agent_id in list(state.index.agents):
        if agent_id not in agents:
            state.index.remove_agent(agent_id)
    for agent in agents.values():
        state.index.refresh_agent(agent)


def queue_item(state: EngineState, item: WorkItem) -> None:
    """Index a queued item for routing and arm the timers of a queued or offered one."""
    index_item(state, item)
    for due, kind, target in armed_timers(state, item):
        state.timers.add(due, kind, target)


def index_item(state: EngineState, item: WorkItem) -> None:
    """Index a queued item of an internally routed queue for routing."""
    internal = state.config.queues[item.queue_id].routing_mode is RoutingMode.INTERNAL
    if item.state is WorkItemState.QUEUED and internal:
        state.index.enqueue(item)


def armed_timers(state: EngineState, item: WorkItem) -> list[tuple[datetime, TimerKind, str]]:
    """The timers a load arms for an item in its queue, offered ones included."""
    # An offered item may come back (rejected, timed out): a widening, an exclusion's end or
    # its max wait still to come must then fire, as they would have without a reload.
    if item.state not in (WorkItemState.QUEUED, WorkItemState.PENDING_ACCEPT):
        return []
    queue = state.config.queues.get(item.queue_id)
    if queue is None or queue.rule_id not in state.config.rules:
        return []
    return item_timers(state.config, item)


async def load_state(session: AsyncSession) -> EngineState:
    """The whole engine state, as the store holds it."""
    config, catalogs = await load_config(session)
    state = EngineState(config=config, index=RoutingIndex(config))
    state.reject_reasons = catalogs["reject_reasons"]
    state.wrap_up_codes = catalogs["wrap_up_codes"]
    state.skill_ids = catalogs["skill_ids"]
    await _load_work(session, state)
    index_agents(state, await load_agents(session))
    async for item in paced(list(state.work_items.values())):
        queue_item(state, item)
    await load_counters(session, state)
    await _load_external(session, state)
    return state


async def load_counters(session: AsyncSession, state: EngineState) -> None:
    """The next feed sequence, chat message id, case number and outbox sequence."""
    max_seq = await session.scalar(select(func.max(t.AgentEventRow.seq)))
    state.next_seq = (max_seq or 0) + 1
    max_message = await session.scalar(select(func.max(t.ChatMessageRow.id)))
    state.next_chat_message_id = (max_message or 0) + 1
    max_case = await session.scalar(select(func.max(t.CaseRow.number)))
    state.next_case_number = max(max_case or 0, 1000) + 1
    max_out = await session.scalar(select(func.max(t.OutboxEventRow.seq)))
    state.next_outbox_seq = (max_out or 0) + 1


async def reload_config(session: AsyncSession, state: EngineState) -> dict[str, Agent]:
    """Re-read configuration, catalogs, spokes and agents into a live state; the agents."""
    config, catalogs = await load_config(session)
    agents = await load_agents(session)
    spokes = await load_spokes(session)
    identities = await load_identities(session)
    state.spokes = spokes
    state.identities.clear()
    state.agent_identities.clear()
    for (spoke, provider_agent_id), agent_id in identities.items():
        state.link_identity(spoke, provider_agent_id, agent_id)
    state.config.channels = config.channels
    state.config.presence = config.presence
    state.config.queues = config.queues
    state.config.rules = config.rules
    state.config.calendars = config.calendars
    state.reject_reasons = catalogs["reject_reasons"]
    state.wrap_up_codes = catalogs["wrap_up_codes"]
    state.skill_ids = catalogs["skill_ids"]
    index_agents(state, agents)
    return agents


def _item_spoke(state: EngineState, item_id: str) -> str:
    item = state.work_items.get(item_id)
    queue = state.config.queues.get(item.queue_id) if item is not None else None
    return (queue.spoke if queue is not None else None) or ""


async def load_spokes(session: AsyncSession) -> dict[str, SpokeConfig]:
    """The configured spokes' presence mappings and provisioning switches."""
    return {
        row.name: SpokeConfig(row.name, dict(row.presence_map), row.allow_provisioning, row.enabled)
        for row in (await session.scalars(select(t.SpokeRow))).all()
    }


async def load_identities(session: AsyncSession) -> dict[tuple[str, str], str]:
    """Provider agent ids linked to our agents."""
    rows = (await session.scalars(select(t.AgentIdentityRow))).all()
    return {(r.spoke, r.provider_agent_id): r.agent_id for r in rows}


async def _load_external(session: AsyncSession, state: EngineState) -> None:
    state.spokes = await load_spokes(session)
    for (spoke, provider_agent_id), agent_id in (await load_identities(session)).items():
        state.link_identity(spoke, provider_agent_id, agent_id)
    # Retries of a provider's request come within minutes; a day of keys is plenty.
    since = datetime.now(UTC) - timedelta(days=1)
    keys = await session.scalars(
        select(t.IdempotencyKeyRow).where(t.IdempotencyKeyRow.created_at >= since)
    )
    for key in keys.all():
        state.idempotency[key.key] = (key.request_hash, key.result_id)
    seen = await session.execute(
        select(t.InboundEventRow.spoke, t.InboundEventRow.event_id).where(
            t.InboundEventRow.received_at >= since
        )
    )
    state.inbound_seen = {(spoke, event_id) for spoke, event_id in seen}
    of, wi = t.OfferRow, t.WorkItemRow
    recent = await session.execute(
        select(of.id, of.external_segment_id, wi.queue_id)
        .join(wi, wi.id == of.work_item_id)
        .where(of.external_segment_id.is_not(None), of.created_at >= since)
    )
    for offer_id, segment, queue_id in recent:
        queue = state.config.queues.get(queue_id)
        spoke = (queue.spoke if queue is not None else None) or ""
        if segment is not None:
            state.segment_offers[(spoke, segment)] = offer_id
