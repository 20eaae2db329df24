"""The Twilio Flex spoke: TaskRouter tasks, reservations, workers and activities."""

# The async twilio client (through our httpx transport) rather than the sync one in a thread:
# no thread pool to size, cancellation reaches the request, and Retry-After survives.

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, ClassVar

from pydantic import BaseModel
from twilio.rest import Client

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes.base import (
    Capability,
    CatalogEntry,
    CatalogKind,
    InboundEvent,
    Manifest,
    RoutingEvent,
    Spoke,
    SpokeRejectedError,
)
from omniroute.spokes.twilio_flex import inbound
from omniroute.spokes.twilio_flex.errors import mapped
from omniroute.spokes.twilio_flex.settings import TwilioFlexSettings
from omniroute.spokes.twilio_flex.transport import HttpxTwilioClient

WORK_ITEM = inbound.WORK_ITEM_ATTRIBUTE
PREVIOUS_TASK = "omniroute_previous_task_sid"
TRANSFER_TYPE = "omniroute_transfer_type"
TARGET_TYPE = "transferTargetType"
TARGET_SID = "transferTargetSid"
DEFAULT_CHANNEL = "default"
# TaskRouter serves the highest priority first; Omniroute the lowest number.
PRIORITY_CEILING = 1000
OPEN_TASK = frozenset({"pending", "reserved"})
LIVE_TASK = frozenset({"pending", "reserved", "assigned", "wrapping"})


def load_manifest() -> Manifest:
    """The manifest from manifest.json, with the settings model."""
    text = resources.files(__name__.rpartition(".")[0]).joinpath("manifest.json").read_text("utf-8")
    raw = json.loads(text)
    return Manifest(
        name=raw["name"],
        version=raw["version"],
        title=raw["title"],
        supports=frozenset(Capability(c) for c in raw["supports"]),
        settings_model=TwilioFlexSettings,
        documentation=raw.get("documentation", ""),
    )


def _attributes(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _quoted(value: str) -> str:
    # TaskRouter expressions quote strings with double quotes and have no escape for them.
    if '"' in value or "\\" in value:
        msg = f"'{value}' cannot be used in a TaskRouter expression"
        raise SpokeRejectedError(msg)
    return f'"{value}"'


def task_priority(priority: int) -> int:
    """TaskRouter's priority (higher first) for Omniroute's (lower first)."""
    return max(0, PRIORITY_CEILING - priority)


class TwilioFlexSpoke(Spoke):
    """Twilio Flex through TaskRouter's REST API and its signed callbacks."""

    manifest: ClassVar[Manifest] = load_manifest()

    def __init__(self, instance_name: str, settings: BaseModel) -> None:
        if not isinstance(settings, TwilioFlexSettings):
            msg = f"settings must be TwilioFlexSettings, not {type(settings).__name__}"
            raise TypeError(msg)
        super().__init__(instance_name, settings)
        self.config: TwilioFlexSettings = settings
        self._http: HttpxTwilioClient | None = None
        self._client: Client | None = None
        self._activities: dict[str, str] = {}

    async def setup(self) -> None:
        """Build the twilio client; Twilio is not contacted."""
        if self._client is not None:
            return
        base = self.config.taskrouter_base_url
        self._http = HttpxTwilioClient(self.config.timeout_s, str(base) if base else None)
        if self.config.api_key_sid and self.config.api_key_secret:
            user, password = self.config.api_key_sid, self.config.api_key_secret
        else:
            user, password = self.config.account_sid, self.config.auth_token
        self._client = Client(
            user,
            password.get_secret_value(),
            account_sid=self.config.account_sid,
            http_client=self._http,
        )

    async def unload(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.close()
        self._http = None
        self._client = None

    async def health(self) -> None:
        """Fetch the workspace and the workflow with our credentials."""
        async with mapped(self._what("fetch the workspace")):
            await self._workspace().fetch_async()
        async with mapped(self._what("fetch the workflow")):
            await self._workspace().workflows(self.config.workflow_sid).fetch_async()

    async def deliver(self, event: RoutingEvent) -> None:
        """Carry one routing event out as TaskRouter calls."""
        data = event.payload
        match event.type:
            case RoutingEventType.NEW_INTERACTION:
                await self._create_task(data, {})
            case RoutingEventType.TRANSFER_TO_AGENT | RoutingEventType.TRANSFER_TO_QUEUE:
                await self._transfer(event.type, data)
            case RoutingEventType.CANCEL_TRANSFER:
                await self._cancel(str(data["transfer_id"]))
            case RoutingEventType.OFFER_OUTCOME:
                await self._offer_outcome(data)
            case RoutingEventType.OFFER_REFUSED:
                await self._offer_outcome({**data, "outcome": "refused"})
            case RoutingEventType.END_INTERACTION:
                await self._end(data)
            case RoutingEventType.AGENT_PRESENCE:
                await self._presence(data)

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """Task queues, workers, or the skills named in workers' attributes."""
        ws = self._workspace()
        if kind is CatalogKind.QUEUES:
            async with mapped(self._what("list task queues")):
                queues = await ws.task_queues.list_async()
            return [
                CatalogEntry(q.sid, q.friendly_name, {"target_workers": q.target_workers})
                for q in queues
            ]
        if kind not in (CatalogKind.AGENTS, CatalogKind.SKILLS):
            return await super().list_catalog(kind)
        async with mapped(self._what("list workers")):
            workers = await ws.workers.list_async()
        if kind is CatalogKind.AGENTS:
            return [self._agent_entry(w.sid, w.friendly_name, w.attributes) for w in workers]
        skills: dict[str, CatalogEntry] = {}
        for worker in workers:
            for skill in self._skills(_attributes(worker.attributes)):
                skills.setdefault(skill, CatalogEntry(skill, skill))
        return list(skills.values())

    def parse_inbound(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify X-Twilio-Signature and turn TaskRouter's callback into inbound events."""
        token = self.config.auth_token.get_secret_value()
        fields = inbound.verify(token, str(self.config.callback_url), headers, body)
        if fields.get("WorkspaceSid", self.config.workspace_sid) != self.config.workspace_sid:
            msg = f"the callback is for workspace {fields['WorkspaceSid']}, not ours"
            raise SpokeRejectedError(msg)
        return inbound.events(fields, self.config.reservation_timeout_s)

    # -- routing events ------------------------------------------------------------------

    async def _create_task(self, data: Mapping[str, Any], extra: Mapping[str, Any]) -> str:
        work_item_id = str(data["work_item_id"])
        existing = await self._task_of(work_item_id)
        if existing is not None:
            return existing  # a retry after a lost answer: the task is there already
        customer = data.get("customer") or {}
        attributes = {
            WORK_ITEM: work_item_id,
            inbound.DOCUMENT_ATTRIBUTE: data["document_id"],
            "omniroute_document_type": data.get("document_type"),
            "channel": data["channel_id"],
            "queue": data.get("provider_queue_id"),
            "skills": [s["skill_id"] for s in data.get("skills", [])],
            "name": customer.get("customer_name") or customer.get("subject") or data["document_id"],
            "customer": dict(customer),
        } | dict(extra)
        channel = self.config.task_channels.get(str(data["channel_id"]), DEFAULT_CHANNEL)
        async with mapped(self._what(f"create the task of work item {work_item_id}")):
            task = await self._workspace().tasks.create_async(
                workflow_sid=self.config.workflow_sid,
                attributes=json.dumps(attributes),
                priority=task_priority(int(data.get("priority", 0))),
                task_channel=channel,
                timeout=self.config.task_timeout_s,
            )
        return str(task.sid)

    async def _transfer(self, kind: RoutingEventType, data: Mapping[str, Any]) -> None:
        previous = data.get("previous_work_item_id")
        previous_task = await self._task_of(str(previous)) if previous else None
        extra: dict[str, Any] = {
            TRANSFER_TYPE: data.get("transfer_type"),
            PREVIOUS_TASK: previous_task,
        }
        if kind is RoutingEventType.TRANSFER_TO_AGENT:
            worker = (data.get("to") or {}).get("provider_agent_id")
            if not worker:
                agent = (data.get("to") or {}).get("agent_id")
                msg = (
                    f"agent '{agent}' has no Twilio worker: sign the agent in to Flex once "
                    "so the identities are linked"
                )
                raise SpokeRejectedError(msg)
            extra |= {TARGET_TYPE: "worker", TARGET_SID: worker}
        else:
            extra |= {TARGET_TYPE: "queue", TARGET_SID: data.get("provider_queue_id")}
        await self._create_task(data, extra)

    async def _cancel(self, work_item_id: str) -> None:
        task_sid = await self._task_of(work_item_id)
        if task_sid is None:
            return  # never created: nothing to cancel
        task = await self._fetch_task(task_sid)
        if task.assignment_status not in OPEN_TASK:
            return
        async with mapped(self._what(f"cancel task {task_sid}")):
            await (
                self._workspace()
                .tasks(task_sid)
                .update_async(
                    assignment_status="canceled", reason="transfer cancelled in Omniroute"
                )
            )

    async def _offer_outcome(self, data: Mapping[str, Any]) -> None:
        reservation_sid = data.get("external_segment_id")
        worker_sid = data.get("provider_agent_id")
        if not reservation_sid or not worker_sid:
            return  # an offer TaskRouter did not make: nothing to answer
        reservation = self._workspace().workers(worker_sid).reservations(reservation_sid)
        what = self._what(f"answer reservation {reservation_sid}")
        # Read first: a retry after a lost answer, or TaskRouter's own timeout, may have
        # settled the reservation already.
        async with mapped(what):
            current = await reservation.fetch_async()
        status = current.reservation_status
        accepting = data["outcome"] == "accepted"
        if accepting and status not in ("pending", "accepted"):
            msg = (
                f"{what}: our agent accepted but TaskRouter's reservation is {status}; "
                "TaskRouter no longer counts this work as the agent's"
            )
            raise SpokeRejectedError(msg)
        if status == "pending":
            async with mapped(what):
                await reservation.update_async(
                    reservation_status="accepted" if accepting else "rejected"
                )
        if accepting:
            await self._finish_blind_transfer(str(current.task_sid))

    async def _finish_blind_transfer(self, task_sid: str) -> None:
        task = await self._fetch_task(task_sid)
        attributes = _attributes(task.attributes)
        previous = attributes.get(PREVIOUS_TASK)
        if attributes.get(TRANSFER_TYPE) != "blind" or not isinstance(previous, str):
            return
        await self._complete(previous, {}, "transferred")

    async def _end(self, data: Mapping[str, Any]) -> None:
        task_sid = await self._task_of(str(data["work_item_id"]))
        if task_sid is None:
            msg = f"no TaskRouter task has {WORK_ITEM} '{data['work_item_id']}'"
            raise SpokeRejectedError(msg)
        wrap_up = {
            "omniroute_wrap_up": {
                "code_id": data.get("wrap_up_code_id"),
                "code_name": data.get("wrap_up_code_name"),
                "notes": data.get("notes"),
                "state": data.get("state"),
            }
        }
        await self._complete(task_sid, wrap_up, "ended in Omniroute")

    async def _complete(self, task_sid: str, extra: Mapping[str, Any], reason: str) -> None:
        task = await self._fetch_task(task_sid)
        status = task.assignment_status
        if status not in LIVE_TASK:
            return  # completed or canceled already: a retry, or ended at Twilio
        attributes = _attributes(task.attributes) | dict(extra)
        outcome = extra.get("omniroute_wrap_up", {}).get("code_name")
        if outcome:
            # Flex Insights reads a task's disposition from conversations.outcome.
            conversations = attributes.get("conversations")
            attributes["conversations"] = (
                conversations if isinstance(conversations, dict) else {}
            ) | {"outcome": outcome}
        new_status = "completed" if status in ("assigned", "wrapping") else "canceled"
        async with mapped(self._what(f"complete task {task_sid}")):
            await (
                self._workspace()
                .tasks(task_sid)
                .update_async(
                    assignment_status=new_status, reason=reason, attributes=json.dumps(attributes)
                )
            )

    async def _presence(self, data: Mapping[str, Any]) -> None:
        worker_sid = str(data["provider_agent_id"])
        activity = await self._activity_sid(str(data["provider_state"]))
        async with mapped(self._what(f"set worker {worker_sid}'s activity")):
            await self._workspace().workers(worker_sid).update_async(activity_sid=activity)

    # -- helpers -------------------------------------------------------------------------

    def _what(self, action: str) -> str:
        return f"twilio_flex spoke '{self.instance_name}': {action}"

    def _workspace(self) -> Any:
        if self._client is None:
            msg = f"twilio_flex spoke '{self.instance_name}' is not set up; call setup() first"
            raise RuntimeError(msg)
        return self._client.taskrouter.v1.workspaces(self.config.workspace_sid)

    async def _task_of(self, work_item_id: str) -> str | None:
        expression = f"{WORK_ITEM} == {_quoted(work_item_id)}"
        async with mapped(self._what(f"find the task of work item {work_item_id}")):
            tasks = await self._workspace().tasks.list_async(
                evaluate_task_attributes=expression, limit=1
            )
        return str(tasks[0].sid) if tasks else None

    async def _fetch_task(self, task_sid: str) -> Any:
        async with mapped(self._what(f"fetch task {task_sid}")):
            return await self._workspace().tasks(task_sid).fetch_async()

    async def _activity_sid(self, name: str) -> str:
        if name not in self._activities:
            async with mapped(self._what("list activities")):
                activities = await self._workspace().activities.list_async()
            self._activities = {a.friendly_name: a.sid for a in activities}
            self._activities |= {a.sid: a.sid for a in activities}
        sid = self._activities.get(name)
        if sid is None:
            known = ", ".join(sorted(k for k, v in self._activities.items() if k != v))
            msg = f"TaskRouter has no activity '{name}': fix the spoke's presence map ({known})"
            raise SpokeRejectedError(msg)
        return sid

    @staticmethod
    def _skills(attributes: Mapping[str, Any]) -> list[str]:
        # Flex keeps skills in routing.skills; plain TaskRouter setups often use skills.
        routing = attributes.get("routing")
        found: list[Any] = list(routing.get("skills", [])) if isinstance(routing, dict) else []
        plain = attributes.get("skills")
        found += plain if isinstance(plain, list) else []
        return [s for s in found if isinstance(s, str) and s]

    @staticmethod
    def _agent_entry(sid: str, name: str, raw: str | None) -> CatalogEntry:
        attributes = _attributes(raw)
        return CatalogEntry(
            sid,
            str(attributes.get("full_name") or name),
            {"email": inbound.email_of(attributes), "friendly_name": name},
        )
