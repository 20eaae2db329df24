"""The Twilio Flex spoke: TaskRouter tasks, reservations, workers and activities."""

# The async twilio client (through our httpx transport) rather than the sync one in a thread:
# no thread pool to size, cancellation reaches the request, and Retry-After survives.

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from omniroute.domain.calls import CallAction, CallKind, CallState
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
from omniroute.spokes.twilio_flex import calls, inbound
from omniroute.spokes.twilio_flex.book import CallBook
from omniroute.spokes.twilio_flex.calls import Call
from omniroute.spokes.twilio_flex.errors import mapped
from omniroute.spokes.twilio_flex.settings import TwilioFlexSettings
from omniroute.spokes.twilio_flex.transport import HttpxTwilioClient

WORK_ITEM = inbound.WORK_ITEM_ATTRIBUTE
PREVIOUS_TASK = "omniroute_previous_task_sid"
TRANSFER_TYPE = inbound.OWN_TRANSFER_ATTRIBUTE
TARGET_TYPE = inbound.FLEX_TRANSFER_TARGET
TARGET_SID = "transferTargetSid"
DEFAULT_CHANNEL = "default"
VOICE_CHANNEL = "voice"
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
        self._book = CallBook(self.store)
        self._book_loaded = False

    async def setup(self) -> None:
        """Build the twilio client and read the calls kept in the store; Twilio is not contacted."""
        if not self._book_loaded:
            await self._book.load()
            self._book_loaded = True
        if self._client is not None:
            return
        base = self.settings.taskrouter_base_url
        voice = self.settings.api_base_url
        self._http = HttpxTwilioClient(
            self.settings.timeout_s, str(base) if base else None, str(voice) if voice else None
        )
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
                    outcome.outcome,
                    outcome.external_segment_id,
                    outcome.provider_agent_id,
                    outcome.work_item_id,
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
            case RoutingEventType.INTERACTION_CONTROL:
                await self._control(event.data_as(es.InteractionControlData))

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

    async def receive(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Read the callback's call from the store, parse it, then store what it taught."""
        fields = self._verified(headers, body)
        async with self._book.lock:
            await self._book.refresh(*calls.keys_of(fields))
            events = self._events(fields)
            await self._book.write()
        return events

    def parse_inbound(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify X-Twilio-Signature and turn TaskRouter's callback into inbound events."""
        return self._events(self._verified(headers, body))

    def _verified(self, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        token = self.settings.auth_token.get_secret_value()
        fields = inbound.verify(token, str(self.settings.callback_url), headers, body)
        if fields.get("WorkspaceSid", self.settings.workspace_sid) != self.settings.workspace_sid:
            msg = f"the callback is for workspace {fields['WorkspaceSid']}, not ours"
            raise SpokeRejectedError(msg)
        return fields

    def _events(self, fields: dict[str, str]) -> list[InboundEvent]:
        if "ConferenceSid" in fields and "StatusCallbackEvent" in fields:
            return self._conference_event(fields)
        if "CallStatus" in fields and "EventType" not in fields:
            return self._call_status(fields)
        found = inbound.events(fields, self.settings.reservation_timeout_s)
        return found + self._task_call(fields)

    # -- calls -----------------------------------------------------------------------------

    @property
    def _can_dial(self) -> bool:
        return self.settings.caller_id is not None

    def _context(self, event_id: str, call: Call, fields: dict[str, str]) -> list[InboundEvent]:
        self._book.put(call)
        return [calls.context_event(event_id, call, calls.when(fields), self._can_dial)]

    def _task_call(self, fields: dict[str, str]) -> list[InboundEvent]:
        """A voice task reserved (the call rings) or a callback task accepted (ready to dial)."""
        event_type = fields.get("EventType")
        if event_type not in ("reservation.created", "reservation.accepted"):
            return []
        attributes = _attributes(fields.get("TaskAttributes"))
        document_id = attributes.get(calls.DOCUMENT_ATTRIBUTE)
        call = calls.from_task(str(document_id), attributes) if document_id else None
        if call is None:
            return []
        accepted = event_type == "reservation.accepted"
        if accepted and call.kind is not CallKind.CALLBACK:
            return []  # the inbound call connects when it joins the conference
        known = self._book.get(call.interaction_id)
        if known is not None and known.state is not call.state:
            return []  # a late event for a call that has moved on
        at = inbound.event_time(fields) or datetime.now(UTC)
        event = calls.context_event(
            f"{fields.get('ReservationSid', '')}:{event_type}:call",
            call,
            at,
            self._can_dial and accepted,
        )
        self._book.put(call)
        return [event]

    def _conference_event(self, fields: dict[str, str]) -> list[InboundEvent]:
        name = fields.get("FriendlyName", "")
        if not name.startswith(calls.CONFERENCE_PREFIX):
            return []  # a conference Omniroute did not make
        interaction_id = name.removeprefix(calls.CONFERENCE_PREFIX)
        known = self._book.get(interaction_id)
        call = known or Call(interaction_id, CallKind.INBOUND, None, CallState.ALERTING)
        changed = calls.conference_update(call, fields)
        if known is None and (changed is None or changed.state is CallState.ENDED):
            return []  # nothing to show, or the end of a call forgotten when its interaction ended
        if changed is None:
            conference = fields["ConferenceSid"]
            self._book.put(replace(call, conference_sid=conference))
            return []
        event_id = f"{fields['ConferenceSid']}:{fields.get('SequenceNumber', '')}"
        return self._context(event_id, changed, fields)

    def _call_status(self, fields: dict[str, str]) -> list[InboundEvent]:
        sid = fields.get("CallSid", "")
        interaction_id = self._book.of_sid(sid) or self._book.of_number(fields.get("To", ""))
        if interaction_id:
            self._book.link_sid(sid, interaction_id)
        call = self._book.get(interaction_id) if interaction_id else None
        changed = calls.status_update(call, fields) if call else None
        if changed is None:
            return []
        return self._context(f"{sid}:{fields.get('CallStatus', '')}", changed, fields)

    async def _control(self, data: es.InteractionControlData) -> None:
        try:
            await self._act(data)
        finally:
            await self._book.flush()

    async def _act(self, data: es.InteractionControlData) -> None:
        async with self._book.lock:
            await self._book.refresh([data.interaction_id])
        call = self._book.get(data.interaction_id)
        if call is None:
            msg = f"no Twilio call is known for interaction {data.interaction_id}"
            raise SpokeRejectedError(msg)
        action = CallAction(data.action)
        what = self._what(f"{action.value} the call of interaction {data.interaction_id}")
        client = self._voice()
        async with mapped(what):
            match action:
                case CallAction.HOLD | CallAction.RESUME:
                    conference = calls.needs(call, call.conference_sid, "conference")
                    customer = calls.needs(call, call.customer_call_sid, "customer call")
                    participant = client.conferences(conference).participants(customer)
                    await participant.update_async(hold=action is CallAction.HOLD)
                case CallAction.MUTE | CallAction.UNMUTE:
                    conference = calls.needs(call, call.conference_sid, "conference")
                    worker = calls.needs(call, call.worker_call_sid, "agent call")
                    participant = client.conferences(conference).participants(worker)
                    await participant.update_async(muted=action is CallAction.MUTE)
                case CallAction.END:
                    customer = calls.needs(call, call.customer_call_sid, "customer call")
                    await client.calls(customer).update_async(status="completed")
                case CallAction.TRANSFER:
                    await self._transfer_call(call, data.params["target"])
                case CallAction.DIAL | CallAction.RETRY_CALLBACK:
                    number = data.params.get("number") or call.number
                    if not number:
                        msg = f"the callback of interaction {call.interaction_id} has no number"
                        raise SpokeRejectedError(msg)
                    await self._dial(call, number, data.provider_agent_id)
                case CallAction.ANSWER:
                    msg = "Twilio calls are answered by accepting the offer"
                    raise SpokeRejectedError(msg)

    def _voice(self) -> Client:
        if self._client is None:
            msg = "the spoke is not set up"
            raise SpokeRejectedError(msg)
        return self._client

    def _caller_id(self) -> str:
        if self.settings.caller_id is None:
            msg = "set caller_id to place calls through Twilio"
            raise SpokeRejectedError(msg)
        return self.settings.caller_id

    async def _transfer_call(self, call: Call, target: str) -> None:
        """A cold transfer: the target joins the conference, then the agent leaves it."""
        conference = calls.needs(call, call.conference_sid, "conference")
        worker = calls.needs(call, call.worker_call_sid, "agent call")
        client = self._voice()
        await client.conferences(conference).participants.create_async(
            from_=self._caller_id(), to=target, label=calls.TRANSFER
        )
        await client.calls(worker).update_async(status="completed")

    async def _worker_joins(self, interaction_id: str, worker_sid: str | None) -> None:
        """Ring the agent's Flex client into the interaction's conference."""
        if not worker_sid:
            msg = f"the call of interaction {interaction_id} has no Twilio worker to ring"
            raise SpokeRejectedError(msg)
        async with mapped(self._what(f"fetch worker {worker_sid}")):
            worker = await self._workspace().workers(worker_sid).fetch_async()
        contact = _attributes(worker.attributes).get("contact_uri")
        contact = contact if isinstance(contact, str) and contact else f"client:{worker_sid}"
        callback = str(self.settings.callback_url)
        await (
            self._voice()
            .conferences(calls.conference_name(interaction_id))
            .participants.create_async(
                from_=self._caller_id() if self._can_dial else contact,
                to=contact,
                label=calls.WORKER,
                end_conference_on_exit=False,
                conference_status_callback=callback,
                conference_status_callback_event=calls.CONFERENCE_EVENTS,
            )
        )

    async def _dial(self, call: Call, number: str, worker_sid: str | None) -> None:
        """Bring the agent into the conference (once), then ring the customer into it."""
        if call.worker_call_sid is None:
            await self._worker_joins(call.interaction_id, worker_sid)
        callback = str(self.settings.callback_url)
        self._book.dialing(number, call.interaction_id)
        await self._book.flush()  # its status callback may come before this request returns
        placed = await (
            self._voice()
            .conferences(calls.conference_name(call.interaction_id))
            .participants.create_async(
                from_=self._caller_id(),
                to=number,
                label=calls.CUSTOMER,
                end_conference_on_exit=True,
                status_callback=callback,
                status_callback_event=calls.CALL_EVENTS,
                conference_status_callback=callback,
                conference_status_callback_event=calls.CONFERENCE_EVENTS,
            )
        )
        self._book.link_sid(str(placed.call_sid), call.interaction_id)

    async def _connect_inbound(self, task_sid: str, worker_sid: str) -> None:
        """An accepted inbound call: ring the agent in, then move the caller's call in."""
        task = await self._fetch_task(task_sid)
        attributes = _attributes(task.attributes)
        document_id = attributes.get(calls.DOCUMENT_ATTRIBUTE)
        caller = attributes.get("call_sid")
        kind = calls.call_kind(attributes)
        if kind is not CallKind.INBOUND or not isinstance(document_id, str):
            return
        if not isinstance(caller, str):
            msg = f"voice task {task_sid} has no call_sid attribute"
            raise SpokeRejectedError(msg)
        what = self._what(f"connect call {caller} to its agent")
        async with mapped(what):
            await self._worker_joins(document_id, worker_sid)
            twiml = VoiceResponse()
            dial = Dial()
            dial.conference(
                calls.conference_name(document_id),
                participant_label=calls.CUSTOMER,
                end_conference_on_exit=True,
                status_callback=str(self.settings.callback_url),
                status_callback_event=" ".join(calls.CONFERENCE_EVENTS),
            )
            twiml.append(dial)
            await self._voice().calls(caller).update_async(twiml=str(twiml))

    # -- routing events ------------------------------------------------------------------

    async def _create_task(self, data: es.WorkItemData, extra: Mapping[str, Any]) -> str:
        work_item_id = data.work_item_id
        existing = await self._task_of(work_item_id)
        if existing is not None:
            return existing  # a retry after a lost answer: the task is there already
        customer = data.customer
        attributes = {
            WORK_ITEM: work_item_id,
            calls.DOCUMENT_ATTRIBUTE: data.document_id,
            "omniroute_document_type": data.document_type,
            "channel": data.channel_id,
            "queue": data.provider_queue_id,
            "skills": [s.skill_id for s in data.skills],
            "name": customer.get("customer_name") or customer.get("subject") or data.document_id,
            "customer": dict(customer),
        } | dict(extra)
        default_channel = DEFAULT_CHANNEL
        if data.channel_id in self.settings.voice_channels:
            callback = data.channel_id == CallKind.CALLBACK
            attributes[calls.KIND_ATTRIBUTE] = CallKind.CALLBACK if callback else CallKind.INBOUND
            default_channel = VOICE_CHANNEL
        channel = self.settings.task_channels.get(data.channel_id, default_channel)
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
        self,
        outcome: str,
        reservation_sid: str | None,
        worker_sid: str | None,
        work_item_id: str | None = None,
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
            await self._after_accept(str(current.task_sid), work_item_id)
            if status == "pending":
                await self._connect_inbound(str(current.task_sid), worker_sid)

    async def _after_accept(self, task_sid: str, work_item_id: str | None) -> None:
        """Name the accepted work item on the task; complete a blind transfer's old task."""
        task = await self._fetch_task(task_sid)
        attributes = _attributes(task.attributes)
        if work_item_id and attributes.get(WORK_ITEM) != work_item_id:
            # A task made in Flex names no work item, and one a Flex transfer made names the
            # old one it copied: name ours, so end_interaction finds the task by it.
            attributes[WORK_ITEM] = work_item_id
            async with mapped(self._what(f"name work item {work_item_id} on task {task_sid}")):
                await (
                    self._workspace()
                    .tasks(task_sid)
                    .update_async(attributes=json.dumps(attributes))
                )
        previous = attributes.get(PREVIOUS_TASK)
        if attributes.get(TRANSFER_TYPE) != "blind" or not isinstance(previous, str):
            return
        await self._complete(previous, {}, "transferred")

    async def _end(self, data: es.EndInteractionData) -> None:
        self._book.forget(data.document_id)  # its call is over for Omniroute
        await self._book.flush()
        if data.work_item_id:
            task_sid = await self._task_of(data.work_item_id)
            if task_sid is None:
                msg = f"no TaskRouter task has {WORK_ITEM} '{data.work_item_id}'"
                raise SpokeRejectedError(msg)
            task_sids = [task_sid]
        else:
            # No work item named (its routing was withdrawn first): the document's live tasks.
            task_sids = await self._live_tasks_of(data.document_id)
        wrap_up = {
            "omniroute_wrap_up": {
                "code_id": data.wrap_up_code_id,
                "code_name": data.wrap_up_code_name,
                "notes": data.notes,
                "state": data.state,
            }
        }
        for task_sid in task_sids:
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

    async def _live_tasks_of(self, document_id: str) -> list[str]:
        expression = f"{calls.DOCUMENT_ATTRIBUTE} == {_quoted(document_id)}"
        async with mapped(self._what(f"find the tasks of document {document_id}")):
            tasks = await self._workspace().tasks.list_async(evaluate_task_attributes=expression)
        return [str(x.sid) for x in tasks if x.assignment_status in LIVE_TASK]

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
