"""The Twilio Flex spoke: TaskRouter tasks, reservations, workers and activities."""

# The async twilio client (through our httpx transport) rather than the sync one in a thread:
# no thread pool to size, cancellation reaches the request, and Retry-After survives.

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from twilio.rest import Client

from omniroute.domain.outbound import RoutingEventType
from omniroute.domain.profile import ProfileGroup, ProfileSkill, ProviderProfile, clamp_level
from omniroute.spokes import events_schema as es
from omniroute.spokes.base import (
    CatalogEntry,
    CatalogKind,
    InboundEvent,
    RoutingEvent,
    Spoke,
    SpokeRejectedError,
)
from omniroute.spokes.store import SpokeStore
from omniroute.spokes.twilio_flex import inbound
from omniroute.spokes.twilio_flex.errors import mapped
from omniroute.spokes.twilio_flex.settings import TwilioFlexSettings
from omniroute.spokes.twilio_flex.transport import HttpxTwilioClient

WORK_ITEM = inbound.WORK_ITEM_ATTRIBUTE
PREVIOUS_TASK = "omniroute_previous_task_sid"
TRANSFER_TYPE = inbound.OWN_TRANSFER_ATTRIBUTE
TARGET_TYPE = inbound.FLEX_TRANSFER_TARGET
TARGET_SID = "transferTargetSid"
DEFAULT_CHANNEL = "default"
# TaskRouter's standard task channels that have a channel of ours by the same meaning.
PROFILE_CHANNELS = {"voice": "voice", "chat": "chat", "sms": "chat", "email": "email"}
# TaskRouter serves the highest priority first; Omniroute the lowest number.
PRIORITY_CEILING = 1000
OPEN_TASK = frozenset({"pending", "reserved"})
LIVE_TASK = frozenset({"pending", "reserved", "assigned", "wrapping"})


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


def _level(value: object) -> int:
    """A Flex `routing.levels` entry as our skill level (1 when absent or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 1
    return clamp_level(value)


def task_priority(priority: int) -> int:
    """TaskRouter's priority (higher first) for Omniroute's (lower first)."""
    return max(0, PRIORITY_CEILING - priority)


class TwilioFlexSpoke(Spoke[TwilioFlexSettings]):
    """Twilio Flex through TaskRouter's REST API and its signed callbacks."""

    def __init__(
        self, instance_name: str, settings: TwilioFlexSettings, store: SpokeStore | None = None
    ) -> None:
        super().__init__(instance_name, settings, store)
        self._http: HttpxTwilioClient | None = None
        self._client: Client | None = None
        self._activities: dict[str, str] = {}

    async def setup(self) -> None:
        """Build the twilio client; Twilio is not contacted."""
        if self._client is not None:
            return
        base = self.settings.taskrouter_base_url
        self._http = HttpxTwilioClient(self.settings.timeout_s, str(base) if base else None)
        if self.settings.api_key_sid and self.settings.api_key_secret:
            user, password = self.settings.api_key_sid, self.settings.api_key_secret
        else:
            user, password = self.settings.account_sid, self.settings.auth_token
        self._client = Client(
            user,
            password.get_secret_value(),
            account_sid=self.settings.account_sid,
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
            await self._workspace().workflows(self.settings.workflow_sid).fetch_async()

    async def deliver(self, event: RoutingEvent) -> None:
        """Carry one routing event out as TaskRouter calls."""
        match event.type:
            case RoutingEventType.NEW_INTERACTION:
                await self._create_task(event.data_as(es.NewInteractionData), {})
            case RoutingEventType.TRANSFER_TO_AGENT | RoutingEventType.TRANSFER_TO_QUEUE:
                await self._transfer(event.type, event.data_as(es.TransferData))
            case RoutingEventType.CANCEL_TRANSFER:
                await self._cancel(event.data_as(es.TransferData).transfer_id)
            case RoutingEventType.OFFER_OUTCOME:
                outcome = event.data_as(es.OfferOutcomeData)
                await self._offer_outcome(
                    outcome.outcome, outcome.external_segment_id, outcome.provider_agent_id
                )
            case RoutingEventType.OFFER_REFUSED:
                refused = event.data_as(es.OfferRefusedData)
                await self._offer_outcome(
                    "refused", refused.external_segment_id, refused.provider_agent_id
                )
            case RoutingEventType.END_INTERACTION:
                await self._end(event.data_as(es.EndInteractionData))
            case RoutingEventType.AGENT_PRESENCE:
                await self._presence(event.data_as(es.AgentPresenceData))

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
        token = self.settings.auth_token.get_secret_value()
        fields = inbound.verify(token, str(self.settings.callback_url), headers, body)
        if fields.get("WorkspaceSid", self.settings.workspace_sid) != self.settings.workspace_sid:
            msg = f"the callback is for workspace {fields['WorkspaceSid']}, not ours"
            raise SpokeRejectedError(msg)
        return inbound.events(fields, self.settings.reservation_timeout_s)

    # -- routing events ------------------------------------------------------------------

    async def _create_task(self, data: es.WorkItemData, extra: Mapping[str, Any]) -> str:
        work_item_id = data.work_item_id
        existing = await self._task_of(work_item_id)
        if existing is not None:
            return existing  # a retry after a lost answer: the task is there already
        customer = data.customer
        attributes = {
            WORK_ITEM: work_item_id,
            inbound.DOCUMENT_ATTRIBUTE: data.document_id,
            "omniroute_document_type": data.document_type,
            "channel": data.channel_id,
            "queue": data.provider_queue_id,
            "skills": [s.skill_id for s in data.skills],
            "name": customer.get("customer_name") or customer.get("subject") or data.document_id,
            "customer": dict(customer),
        } | dict(extra)
        channel = self.settings.task_channels.get(data.channel_id, DEFAULT_CHANNEL)
        async with mapped(self._what(f"create the task of work item {work_item_id}")):
            task = await self._workspace().tasks.create_async(
                workflow_sid=self.settings.workflow_sid,
                attributes=json.dumps(attributes),
                priority=task_priority(data.priority),
                task_channel=channel,
                timeout=self.settings.task_timeout_s,
            )
        return str(task.sid)

    async def _transfer(self, kind: RoutingEventType, data: es.TransferData) -> None:
        previous = data.previous_work_item_id
        previous_task = await self._task_of(previous) if previous else None
        extra: dict[str, Any] = {
            TRANSFER_TYPE: data.transfer_type,
            PREVIOUS_TASK: previous_task,
        }
        if kind is RoutingEventType.TRANSFER_TO_AGENT:
            worker = data.to.provider_agent_id
            if not worker:
                msg = (
                    f"agent '{data.to.agent_id}' has no Twilio worker: sign the agent in to "
                    "Flex once so the identities are linked"
                )
                raise SpokeRejectedError(msg)
            extra |= {TARGET_TYPE: "worker", TARGET_SID: worker}
        else:
            extra |= {TARGET_TYPE: "queue", TARGET_SID: data.provider_queue_id}
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

    async def _offer_outcome(
        self, outcome: str, reservation_sid: str | None, worker_sid: str | None
    ) -> None:
        if not reservation_sid or not worker_sid:
            return  # an offer TaskRouter did not make: nothing to answer
        reservation = self._workspace().workers(worker_sid).reservations(reservation_sid)
        what = self._what(f"answer reservation {reservation_sid}")
        # Read first: a retry after a lost answer, or TaskRouter's own timeout, may have
        # settled the reservation already.
        async with mapped(what):
            current = await reservation.fetch_async()
        status = current.reservation_status
        accepting = outcome == "accepted"
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

    async def _end(self, data: es.EndInteractionData) -> None:
        task_sid = await self._task_of(data.work_item_id) if data.work_item_id else None
        if task_sid is None:
            msg = f"no TaskRouter task has {WORK_ITEM} '{data.work_item_id}'"
            raise SpokeRejectedError(msg)
        wrap_up = {
            "omniroute_wrap_up": {
                "code_id": data.wrap_up_code_id,
                "code_name": data.wrap_up_code_name,
                "notes": data.notes,
                "state": data.state,
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

    async def _presence(self, data: es.AgentPresenceData) -> None:
        worker_sid = data.provider_agent_id
        activity = await self._activity_sid(data.provider_state)
        async with mapped(self._what(f"set worker {worker_sid}'s activity")):
            await self._workspace().workers(worker_sid).update_async(activity_sid=activity)

    async def fetch_profile(self, provider_agent_id: str) -> ProviderProfile:
        """The worker's attributes (name, email, skills and levels), queues and channels."""
        worker = self._workspace().workers(provider_agent_id)
        async with mapped(self._what(f"fetch worker {provider_agent_id}")):
            fetched = await worker.fetch_async()
            channels = await worker.worker_channels.list_async()
            queues = await self._workspace().task_queues.list_async(worker_sid=provider_agent_id)
        attributes = _attributes(fetched.attributes)
        routing = attributes.get("routing")
        levels = routing.get("levels") if isinstance(routing, dict) else None
        levels = levels if isinstance(levels, dict) else {}
        capacity: dict[str, int] = {}
        for channel in channels:
            ours = self._channel_of(str(channel.task_channel_unique_name))
            if ours is not None and channel.configured_capacity is not None:
                capacity[ours] = max(capacity.get(ours, 0), int(channel.configured_capacity))
        return ProviderProfile(
            provider_agent_id=provider_agent_id,
            name=str(attributes.get("full_name") or fetched.friendly_name),
            email=inbound.email_of(attributes),
            skills=tuple(
                ProfileSkill(skill, skill, _level(levels.get(skill)))
                for skill in dict.fromkeys(self._skills(attributes))
            ),
            groups=tuple(ProfileGroup(q.sid, q.friendly_name) for q in queues),
            capacity=capacity,
        )

    # -- helpers -------------------------------------------------------------------------

    def _channel_of(self, task_channel: str) -> str | None:
        """Our channel id for a TaskRouter task channel: the settings' mapping, then by name."""
        mapped_here = {v: k for k, v in self.settings.task_channels.items()}
        return mapped_here.get(task_channel) or PROFILE_CHANNELS.get(task_channel)

    def _what(self, action: str) -> str:
        return f"twilio_flex spoke '{self.instance_name}': {action}"

    def _workspace(self) -> Any:
        if self._client is None:
            msg = f"twilio_flex spoke '{self.instance_name}' is not set up; call setup() first"
            raise RuntimeError(msg)
        return self._client.taskrouter.v1.workspaces(self.settings.workspace_sid)

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
