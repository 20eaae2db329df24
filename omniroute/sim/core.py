"""The simulated platform at run time: its queues, agents, webhook handling and offers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from omniroute.sim.calls import CallDesk
from omniroute.sim.client import ApiResult, OmnirouteClient, Sleep, work_offer_body
from omniroute.sim.routing import Candidate, pick_agent, routable
from omniroute.sim.world import World

# Work Offer errors that mean "this agent, not this item": try another agent.
AGENT_ERRORS = frozenset({"AGENT_NOT_AVAILABLE", "AGENT_AT_CAPACITY", "AGENT_NOT_ALLOWED_EXTERNAL"})
# Work Offer errors that mean the item is no longer ours to route.
ITEM_GONE_ERRORS = frozenset(
    {"WORK_ITEM_ALREADY_ACCEPTED", "WORK_ITEM_ASSIGNED", "DOCUMENT_NOT_ACTIVE"}
)


class InvalidEventError(Exception):
    """A webhook event whose data the simulator cannot use."""


def now_iso() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(UTC).isoformat()


@dataclass
class Config:
    """How to reach Omniroute as the provider behind one spoke."""

    omniroute_url: str
    token: str
    secret: str
    spoke: str
    sign_in_all: bool = False


@dataclass
class Faults:
    """Injected misbehaviour; each POST /sim/faults replaces the whole set."""

    webhook_status: int | None = None
    count: int = 0
    delay_ms: int = 0
    duplicate_work_offers: bool = False
    drop_offers: bool = False


@dataclass
class AgentRun:
    """An agent's live state on the platform."""

    id: str
    email: str
    name: str
    state: str
    skills: frozenset[str]
    capacity: int
    linked: bool
    idle_since: float
    state_since: str = field(default_factory=now_iso)
    omniroute_agent_id: str | None = None
    work: dict[str, str] = field(default_factory=dict)  # work item id -> document id
    reserved: set[str] = field(default_factory=set)  # work item ids being offered to the agent


@dataclass
class Item:
    """A piece of work the platform routes: a new interaction or a transfer."""

    id: str
    document_id: str
    queue_id: str | None
    kind: str
    seq: int
    priority: int = 0
    channel_id: str | None = None
    status: str = "waiting"
    agent_id: str | None = None
    target_agent_id: str | None = None
    from_agent_id: str | None = None
    transfer_type: str | None = None
    declined_by: list[str] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)  # declined for good (not reassignable)
    skipped: set[str] = field(default_factory=set)  # refused by Omniroute until news of them
    offers: int = 0
    attempt: int = 0
    received_at: str = field(default_factory=now_iso)


class Platform:
    """One simulated contact-center platform."""

    def __init__(
        self, config: Config, world: World, client: OmnirouteClient, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.config = config
        self.world = world
        self.client = client
        self.sleep = sleep
        self.faults = Faults()
        self._clock = itertools.count(1)
        self.agents: dict[str, AgentRun] = {
            a.id: AgentRun(
                id=a.id,
                email=a.email,
                name=a.name,
                state=a.state,
                skills=frozenset(a.skills),
                capacity=a.capacity,
                linked=a.linked,
                idle_since=next(self._clock),
            )
            for a in world.agents
        }
        self.items: dict[str, Item] = {}
        self.seen: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self.offers: list[dict[str, Any]] = []
        self.wrap_ups: list[dict[str, Any]] = []
        self.inbound: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.Task[None]] = set()
        self.desk = CallDesk(client, lambda coro: self._spawn(self._tasks, coro))

    # -- bookkeeping -------------------------------------------------------------------

    def count(self, name: str, by: int = 1) -> None:
        """Add to a named counter."""
        self.counters[name] = self.counters.get(name, 0) + by

    def _tick(self) -> int:
        return next(self._clock)

    def _spawn(self, group: set[asyncio.Task[None]], coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        group.add(task)
        task.add_done_callback(group.discard)

    async def settle(self, *, timers: bool = False) -> None:
        """Wait until no offer is in flight (and, if asked, no re-routing timer is pending)."""
        while self._tasks or (timers and self._timers):
            await asyncio.wait(self._tasks | self._timers if timers else set(self._tasks))

    async def close(self) -> None:
        """Cancel every background task."""
        for task in [*self._tasks, *self._timers]:
            task.cancel()
        for task in [*self._tasks, *self._timers]:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def restart(self) -> None:
        """Forget routing state as a restarted platform would; the world and presence stay."""
        await self.close()
        self.items.clear()
        self.seen.clear()
        for agent in self.agents.values():
            agent.work.clear()
            agent.reserved.clear()
        self.count("restarts")

    # -- routing -----------------------------------------------------------------------

    @staticmethod
    def _candidate(agent: AgentRun) -> Candidate:
        return Candidate(
            id=agent.id,
            state=agent.state,
            linked=agent.linked,
            load=len(agent.work) + len(agent.reserved),
            capacity=agent.capacity,
            skills=agent.skills,
            idle_since=agent.idle_since,
        )

    def _candidates(self) -> list[Candidate]:
        return [self._candidate(a) for a in self.agents.values()]

    def _choose(self, item: Item, candidates: list[Candidate]) -> str | None:
        queue = self.world.queue(item.queue_id or "")
        skills = queue.skills if queue is not None and item.target_agent_id is None else []
        exclude = item.skipped | item.excluded
        if item.declined_by:
            exclude.add(item.declined_by[-1])
        if item.from_agent_id is not None:
            exclude.add(item.from_agent_id)
        return pick_agent(
            candidates,
            on_queue_state=self.world.on_queue_state,
            required_skills=skills,
            exclude=exclude,
            avoid=item.declined_by,
            only=item.target_agent_id,
        )

    def route(self) -> None:
        """Offer each waiting item that has an eligible agent, by priority then age."""
        waiting = sorted(
            (i for i in self.items.values() if i.status == "waiting"),
            key=lambda i: (i.priority, i.seq),
        )
        for item in waiting:
            if item.target_agent_id is None and self.world.queue(item.queue_id or "") is None:
                continue
            agent_id = self._choose(item, self._candidates())
            if agent_id is None:
                continue
            item.status = "offering"
            item.agent_id = agent_id
            item.attempt += 1
            self.agents[agent_id].reserved.add(item.id)
            self._spawn(self._tasks, self._offer(item.id, agent_id, item.attempt))

    def _release(self, item: Item) -> None:
        if item.agent_id is not None and item.agent_id in self.agents:
            self.agents[item.agent_id].reserved.discard(item.id)

    def _requeue(self, item: Item) -> None:
        self._release(item)
        item.status = "waiting"
        item.agent_id = None

    def _drop(self, item: Item, reason: str) -> None:
        self._release(item)
        item.status = "dropped"
        item.agent_id = None
        self.items.pop(item.id, None)
        self.count(f"items_{reason}")

    def _reroute_later(self) -> None:
        if self._timers:
            return  # one pending pass re-routes every waiting item

        async def later() -> None:
            await self.sleep(self.world.settings.reroute_after_s)
            task = asyncio.current_task()
            if task is not None:
                self._timers.discard(task)  # so a failure in this pass can arm the next one
            self.route()

        self._spawn(self._timers, later())

    async def _offer(self, item_id: str, agent_id: str, attempt: int) -> None:
        settings = self.world.settings
        if settings.think_ms:
            await self.sleep(settings.think_ms / 1000)
        item = self.items.get(item_id)
        if item is None or item.attempt != attempt or item.status != "offering":
            return
        segment = f"sim-seg-{uuid.uuid4().hex}"
        record: dict[str, Any] = {
            "work_item_id": item_id,
            "document_id": item.document_id,
            "provider_agent_id": agent_id,
            "external_segment_id": segment,
            "idempotency_key": f"sim-offer-{segment}",
            "at": now_iso(),
        }
        self.offers.append(record)
        if self.faults.drop_offers:
            record["result"] = "dropped"
            self.count("offers_dropped")
            self._requeue(item)
            return
        body = work_offer_body(
            spoke=self.config.spoke,
            work_item_id=item_id,
            provider_agent_id=agent_id,
            timeout_s=settings.offer_timeout_s,
            offered_at=now_iso(),
            external_segment_id=segment,
        )
        calls = 2 if self.faults.duplicate_work_offers else 1
        key = record["idempotency_key"]
        results = [await self.client.work_offer(body, key) for _ in range(calls)]
        self.count("work_offer_calls", sum(r.attempts for r in results))
        result = next((r for r in results if r.ok), results[0])
        record |= {
            "result": "offered" if result.ok else "failed",
            "http_status": result.status,
            "statuses": [list(r.statuses) for r in results],
            "error_code": result.error_code,
            "offer_id": result.body.get("offer_id"),
            "replayed": [bool(r.body.get("replayed")) for r in results],
        }
        item = self.items.get(item_id)
        if item is None or item.attempt != attempt:
            return  # cancelled, ended or re-routed while the call was in flight
        self._settle_offer(item, agent_id, result)

    def _settle_offer(self, item: Item, agent_id: str, result: ApiResult) -> None:
        code = result.error_code
        if result.ok:
            self.count("offers_made")
            item.offers += 1
            self.desk.offered(item.document_id)
            if item.status == "offering":
                item.status = "offered"
            return
        self.count(f"work_offer_error_{code}")
        if item.status != "offering":
            return  # an outcome overtook this answer and already decided
        agent_unknown = code == "NOT_FOUND" and (result.error_field or "").endswith("agent_id")
        if code in AGENT_ERRORS or agent_unknown:
            if agent_unknown:
                self.agents[agent_id].linked = False
            item.skipped.add(agent_id)
            self._requeue(item)
            self.route()
        elif result.status == 0 or result.status >= 500:
            self._requeue(item)
            self._reroute_later()
        else:
            # ITEM_GONE_ERRORS and any other refusal: this item is not ours to route any more.
            reason = "gone" if code in ITEM_GONE_ERRORS else "refused"
            self._drop(item, reason)

    # -- agents ------------------------------------------------------------------------

    def set_state(self, agent: AgentRun, state: str) -> None:
        """Change an agent's presence state; becoming on queue starts its idle time."""
        # Any news about the agent is a reason to offer it the items it was skipped for.
        self._forget_skips(agent.id)
        if state == agent.state:
            return
        if state == self.world.on_queue_state:
            agent.idle_since = self._tick()
        agent.state = state
        agent.state_since = now_iso()

    def _forget_skips(self, agent_id: str) -> None:
        for item in self.items.values():
            item.skipped.discard(agent_id)

    def _free(self, agent: AgentRun, work_item_id: str) -> None:
        if agent.work.pop(work_item_id, None) is not None and not agent.work:
            agent.idle_since = self._tick()
        self._forget_skips(agent.id)

    # -- webhook events ----------------------------------------------------------------

    def receive(self, envelope: dict[str, Any]) -> str:
        """Apply one verified envelope once; returns processed, duplicate or ignored."""
        # Unusable data raises InvalidEventError and is not remembered, so a fixed retry works.
        event_id = str(envelope["id"])
        if event_id in self.seen:
            self.count("webhooks_duplicate")
            return "duplicate"
        event_type = str(envelope["type"])
        handler = self._handlers().get(event_type)
        if handler is not None:
            try:
                handler(envelope.get("data") or {})
            except (TypeError, ValueError, AttributeError) as err:
                self.count("webhooks_invalid")
                raise InvalidEventError(f"{event_type} data is not usable: {err}") from err
        self.seen.add(event_id)
        self.events.append(
            {
                "seq": len(self.events) + 1,
                "id": event_id,
                "type": event_type,
                "ordering_key": envelope.get("ordering_key"),
                "attempt": envelope.get("attempt"),
                "created_at": envelope.get("created_at"),
                "received_at": now_iso(),
            }
        )
        self.count("webhooks_processed")
        if handler is None:
            self.count("webhooks_ignored")
            return "ignored"
        self.route()
        return "processed"

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {
            "new_interaction": self._new_interaction,
            "offer_outcome": self._offer_outcome,
            "end_interaction": self._end_interaction,
            "transfer_to_agent": self._transfer_to_agent,
            "transfer_to_queue": self._transfer_to_queue,
            "cancel_transfer": self._cancel_transfer,
            "agent_presence": self._agent_presence,
            "interaction_control": self.desk.control,
        }

    def _item_from(self, data: dict[str, Any], kind: str, item_id: str) -> Item:
        return Item(
            id=item_id,
            document_id=str(data.get("document_id") or ""),
            queue_id=data.get("provider_queue_id"),
            kind=kind,
            seq=self._tick(),
            priority=int(data.get("priority") or 0),
            channel_id=data.get("channel_id"),
        )

    def _add(self, item: Item) -> None:
        if item.id in self.items:
            self.count("items_already_known")
            return
        if item.target_agent_id is None and self.world.queue(item.queue_id or "") is None:
            self.count("items_unknown_queue")
        self.items[item.id] = item

    def _new_interaction(self, data: dict[str, Any]) -> None:
        self._add(self._item_from(data, "new", str(data.get("work_item_id"))))

    @staticmethod
    def _ref(data: dict[str, Any], key: str) -> str | None:
        ref = data.get(key)
        value = ref.get("provider_agent_id") if isinstance(ref, dict) else None
        return value if isinstance(value, str) else None

    def _transfer_to_agent(self, data: dict[str, Any]) -> None:
        item = self._item_from(data, "transfer_agent", str(data.get("transfer_id")))
        item.transfer_type = data.get("transfer_type")
        item.from_agent_id = self._ref(data, "from")
        item.target_agent_id = self._ref(data, "to")
        if item.target_agent_id not in self.agents:
            self.count("items_unknown_target")
            return
        self._add(item)

    def _transfer_to_queue(self, data: dict[str, Any]) -> None:
        item = self._item_from(data, "transfer_queue", str(data.get("transfer_id")))
        item.transfer_type = data.get("transfer_type")
        item.from_agent_id = self._ref(data, "from")
        self._add(item)

    def _cancel_transfer(self, data: dict[str, Any]) -> None:
        item = self.items.get(str(data.get("transfer_id")))
        if item is not None:
            self._drop(item, "transfer_cancelled")

    def _offer_outcome(self, data: dict[str, Any]) -> None:
        outcome = data.get("outcome")
        agent = self.agents.get(str(data.get("provider_agent_id")))
        item = self.items.get(str(data.get("work_item_id")))
        if agent is None:
            self.count("outcomes_unknown_agent")
            return
        if outcome == "accepted":
            self._accepted(agent, item, data)
            return
        if item is None:
            self.count("outcomes_unknown_item")
            return
        if item.agent_id not in (None, agent.id):
            self.count("outcomes_stale")
            return
        if outcome == "withdrawn":
            self._drop(item, "withdrawn")
            return
        item.declined_by.append(agent.id)
        if outcome == "rejected" and data.get("reassignable") is not True:
            item.excluded.add(agent.id)
        if item.kind == "transfer_agent":
            # A declined transfer leaves the work with its sender.
            self._drop(item, "transfer_declined")
            return
        self._requeue(item)

    def _accepted(self, agent: AgentRun, item: Item | None, data: dict[str, Any]) -> None:
        work_item_id = str(data.get("work_item_id"))
        document_id = str(data.get("document_id") or (item.document_id if item else ""))
        if item is not None:
            self._release(item)
            item.status = "accepted"
            item.agent_id = agent.id
        agent.reserved.discard(work_item_id)
        agent.work[work_item_id] = document_id
        self.desk.accepted(document_id)
        if item is not None and item.kind != "new" and item.transfer_type != "consult":
            # A blind transfer frees whoever worked on the document before.
            for other in self.agents.values():
                for old in [w for w, d in other.work.items() if d == document_id]:
                    if old != work_item_id:
                        self._free(other, old)
                        self.items.pop(old, None)

    def _end_interaction(self, data: dict[str, Any]) -> None:
        document_id = str(data.get("document_id"))
        self.desk.ended(document_id)
        for item in [i for i in self.items.values() if i.document_id == document_id]:
            if item.status != "accepted":
                self._drop(item, "ended_unassigned")
            else:
                self.items.pop(item.id, None)
        for agent in self.agents.values():
            for work_item_id in [w for w, d in agent.work.items() if d == document_id]:
                self._free(agent, work_item_id)
        code = self.world.wrap_up_by_name(data.get("wrap_up_code_name"))
        self.wrap_ups.append(
            {
                "document_id": document_id,
                "work_item_id": data.get("work_item_id"),
                "provider_agent_id": data.get("provider_agent_id"),
                "state": data.get("state"),
                "wrap_up_code_id": data.get("wrap_up_code_id"),
                "wrap_up_code_name": data.get("wrap_up_code_name"),
                "provider_wrap_up_code_id": code.id if code is not None else None,
                "notes": data.get("notes"),
                "at": data.get("at"),
            }
        )

    def _agent_presence(self, data: dict[str, Any]) -> None:
        agent = self.agents.get(str(data.get("provider_agent_id")))
        state = data.get("provider_state")
        if agent is None or not isinstance(state, str):
            self.count("presence_unknown_agent")
            return
        agent.linked = True
        if data.get("agent_id"):
            agent.omniroute_agent_id = str(data["agent_id"])
        # Deliveries are asynchronous: a change made here after Omniroute's event was
        # written must win over that older event (last writer by time wins).
        if _older(data.get("at"), agent.state_since):
            self.count("presence_stale")
            return
        self.set_state(agent, state)

    # -- inbound events to Omniroute ---------------------------------------------------

    async def sign_in(self, agent: AgentRun) -> ApiResult:
        """Tell Omniroute the agent signed in through the platform's panel."""
        data = {"provider_agent_id": agent.id, "email": agent.email, "name": agent.name}
        result = await self._inbound("agent_signed_in", agent, data)
        outcome = _first_outcome(result)
        if result.ok and outcome.get("outcome") in ("linked", "duplicate"):
            agent.linked = True
            if outcome.get("agent_id"):
                agent.omniroute_agent_id = str(outcome["agent_id"])
            self._forget_skips(agent.id)
            self.route()
        return result

    async def push_presence(self, agent: AgentRun) -> ApiResult:
        """Tell Omniroute the agent's presence state changed on the platform."""
        data = {"provider_agent_id": agent.id, "state_name": agent.state}
        result = await self._inbound("agent_presence", agent, data)
        self.route()
        return result

    async def _inbound(self, event_type: str, agent: AgentRun, data: dict[str, Any]) -> ApiResult:
        event_id = str(uuid.uuid4())
        result = await self.client.send_event(event_type, data, event_id)
        self.count(f"inbound_{event_type}")
        self.inbound.append(
            {
                "id": event_id,
                "type": event_type,
                "provider_agent_id": agent.id,
                "data": data,
                "http_status": result.status,
                "statuses": list(result.statuses),
                "response": result.body,
                "at": now_iso(),
            }
        )
        return result

    # -- views -------------------------------------------------------------------------

    def agent_view(self, agent: AgentRun) -> dict[str, Any]:
        """One agent as GET /sim/state shows it."""
        return {
            "id": agent.id,
            "email": agent.email,
            "name": agent.name,
            "state": agent.state,
            "state_since": agent.state_since,
            "linked": agent.linked,
            "omniroute_agent_id": agent.omniroute_agent_id,
            "skills": sorted(agent.skills),
            "capacity": agent.capacity,
            "routable": routable(self._candidate(agent), self.world.on_queue_state),
            "idle_rank": agent.idle_since,
            "work": [{"work_item_id": w, "document_id": d} for w, d in agent.work.items()],
            "offering": sorted(agent.reserved),
        }

    def state(self) -> dict[str, Any]:
        """Everything tests assert on."""
        order: dict[str, list[str]] = {}
        for event in self.events:
            order.setdefault(str(event["ordering_key"]), []).append(event["id"])
        items = sorted(self.items.values(), key=lambda i: (i.priority, i.seq))
        waiting = [i for i in items if i.status == "waiting"]
        return {
            "spoke": self.config.spoke,
            "on_queue_state": self.world.on_queue_state,
            "settings": self.world.settings.model_dump(),
            "faults": asdict(self.faults),
            "agents": [self.agent_view(a) for a in self.agents.values()],
            "queues": [
                {
                    "id": q.id,
                    "name": q.name,
                    "skills": list(q.skills),
                    "waiting": [i.id for i in waiting if i.queue_id == q.id],
                }
                for q in self.world.queues
            ],
            "items": [_item_view(i) for i in items],
            "events": list(self.events),
            "order": order,
            "offers": list(self.offers),
            "wrap_ups": list(self.wrap_ups),
            "inbound": list(self.inbound),
            "counters": dict(self.counters),
            "in_flight": len(self._tasks),
            "calls": self.desk.view(),
        }


def _older(at: Any, since: str) -> bool:
    """Whether an event time is before a state's start (unknown times are never older)."""
    if not isinstance(at, str):
        return False
    try:
        return datetime.fromisoformat(at) < datetime.fromisoformat(since)
    except ValueError:
        return False


def _item_view(item: Item) -> dict[str, Any]:
    return {
        "work_item_id": item.id,
        "document_id": item.document_id,
        "queue_id": item.queue_id,
        "kind": item.kind,
        "status": item.status,
        "agent_id": item.agent_id,
        "target_agent_id": item.target_agent_id,
        "from_agent_id": item.from_agent_id,
        "transfer_type": item.transfer_type,
        "declined_by": list(item.declined_by),
        "excluded": sorted(item.excluded),
        "skipped": sorted(item.skipped),
        "offers": item.offers,
        "priority": item.priority,
        "channel_id": item.channel_id,
        "received_at": item.received_at,
    }


def _first_outcome(result: ApiResult) -> dict[str, Any]:
    events = result.body.get("events")
    if isinstance(events, list) and events and isinstance(events[0], dict):
        return events[0]
    return {}
