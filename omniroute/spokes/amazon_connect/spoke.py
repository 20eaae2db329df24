"""The Amazon Connect spoke: work as Connect tasks, Connect's catalog, agent events back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from pydantic import TypeAdapter, ValidationError

from omniroute.domain.calls import CallAction
from omniroute.domain.outbound import SCHEMA_VERSION, RoutingEventType
from omniroute.domain.profile import ProfileGroup, ProfileSkill, ProviderProfile, clamp_level
from omniroute.spokes import events_schema as es
from omniroute.spokes import signing
from omniroute.spokes.amazon_connect import calls
from omniroute.spokes.amazon_connect.agent_events import (
    OFFERED_STATES,
    AgentContact,
    AgentEvent,
    OfferTerms,
    inbound_events,
    ours,
)
from omniroute.spokes.amazon_connect.contacts import ContactLink, ContactMap
from omniroute.spokes.amazon_connect.errors import error_code, map_error
from omniroute.spokes.amazon_connect.settings import ConnectSettings
from omniroute.spokes.base import (
    CatalogEntry,
    CatalogKind,
    InboundEvent,
    RoutingEvent,
    Spoke,
    SpokeAuthError,
    SpokeError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.store import SpokeStore

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

MAX_PAGES = 1000
PAGE_SIZE = 100
MAX_INBOUND_EVENTS = 500
NAME_CHARS = 512
ATTRIBUTE_CHARS = 32767
ATTRIBUTE_PREFIX = "omniroute_"
GONE_CODES = frozenset({"ContactNotFoundException"})
# Voice contacts looked up and found not to be ours, remembered so each is described once.
MAX_FOREIGN_CONTACTS = 10_000
# Connect channels -> our channel ids, for a routing profile's media concurrency.
MEDIA_CHANNELS = {"VOICE": "voice", "CHAT": "chat", "TASK": "case", "EMAIL": "email"}
AGENT_EVENTS: TypeAdapter[AgentEvent | list[AgentEvent]] = TypeAdapter(
    AgentEvent | list[AgentEvent]
)


def _text(value: object, limit: int = ATTRIBUTE_CHARS) -> str:
    return ("" if value is None else str(value))[:limit]


def task_attributes(data: es.WorkItemData) -> dict[str, str]:
    """The contact attributes a task carries: our ids and what we know of the customer."""
    found = {
        "document_id": data.document_id,
        "document_type": data.document_type,
        "work_item_id": data.work_item_id,
        "channel_id": data.channel_id,
        "queue_id": data.queue_id,
        "provider_queue_id": data.provider_queue_id,
        "priority": data.priority,
        "customer_name": data.customer.get("customer_name"),
        "customer_email": data.customer.get("customer_email"),
    }
    return {ATTRIBUTE_PREFIX + k: _text(v) for k, v in found.items() if v is not None}


def task_name(data: es.WorkItemData) -> str:
    """The task's name in Connect: the subject, or the document type and id."""
    subject = data.customer.get("subject")
    return _text(subject or f"{data.document_type} {data.document_id}", NAME_CHARS)


class AmazonConnectSpoke(Spoke[ConnectSettings]):
    """Amazon Connect through its public API (boto3), one client per spoke instance."""

    def __init__(
        self, instance_name: str, settings: ConnectSettings, store: SpokeStore | None = None
    ) -> None:
        super().__init__(instance_name, settings, store)
        self._client: ConnectClient | None = None
        self.contacts: ContactMap | None = None
        self._status_ids: dict[str, str] = {}
        self._starting = 0
        # Each user's auto-accept for calls and for agent-first callbacks (DescribeUser).
        self._auto_accept: dict[str, tuple[bool, bool]] = {}
        self._foreign: dict[str, None] = {}

    # -- life cycle ------------------------------------------------------------------------

    async def setup(self) -> None:
        """Make the boto3 client and load the contact map; Connect is not contacted."""
        if self._client is None:
            self._client = await asyncio.to_thread(self._make_client)
        if self.contacts is None:
            contacts = ContactMap(self.store)
            await contacts.load()
            self.contacts = contacts

    async def unload(self) -> None:
        """Close the client."""
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def health(self) -> None:
        """List the agent statuses: proves the credentials, the region and the instance."""
        await self._refresh_statuses()

    def _make_client(self) -> ConnectClient:
        config = Config(
            region_name=self.settings.region,
            connect_timeout=self.settings.timeout_s,
            read_timeout=self.settings.timeout_s,
            retries={"total_max_attempts": self.settings.max_attempts, "mode": "standard"},
            user_agent_extra=f"omniroute-amazon-connect/{self.manifest.version}",
        )
        endpoint = str(self.settings.endpoint_url) if self.settings.endpoint_url else None
        session = boto3.session.Session()
        return session.client("connect", endpoint_url=endpoint, config=config)

    # -- routing events ----------------------------------------------------------------------

    async def deliver(self, event: RoutingEvent) -> None:
        """Carry out one routing event through the Connect API."""
        if event.schema_version != SCHEMA_VERSION:
            version = event.schema_version
            msg = f"event '{event.id}' has schema version {version}, not {SCHEMA_VERSION}"
            raise SpokeRejectedError(msg)
        match event.type:
            case RoutingEventType.NEW_INTERACTION:
                await self._start_task(event.id, event.data_as(es.NewInteractionData))
            case RoutingEventType.TRANSFER_TO_AGENT:
                await self._transfer_to_agent(event.id, event.data_as(es.TransferData))
            case RoutingEventType.TRANSFER_TO_QUEUE:
                await self._transfer_to_queue(event.id, event.data_as(es.TransferData))
            case RoutingEventType.CANCEL_TRANSFER:
                await self._cancel_transfer(event.id, event.data_as(es.TransferData))
            case RoutingEventType.OFFER_OUTCOME:
                await self._offer_outcome(event.id, event.data_as(es.OfferOutcomeData))
            case RoutingEventType.OFFER_REFUSED:
                await self._offer_refused(event.id, event.data_as(es.OfferRefusedData))
            case RoutingEventType.END_INTERACTION:
                await self._end(event.data_as(es.EndInteractionData))
            case RoutingEventType.AGENT_PRESENCE:
                await self._presence(event.data_as(es.AgentPresenceData))
            case RoutingEventType.INTERACTION_CONTROL:
                await self._control(event.data_as(es.InteractionControlData))
            case _:
                msg = f"amazon_connect spoke cannot deliver {event.type.value} events"
                raise SpokeRejectedError(msg)

    async def _start_task(self, event_id: str, data: es.NewInteractionData) -> None:
        client = self._connect()
        self._starting += 1
        try:
            answer = await self._call(
                "StartTaskContact",
                client.start_task_contact,
                InstanceId=self.settings.instance_id,
                ContactFlowId=self.settings.task_flow_id,
                Name=task_name(data),
                Description=_text(data.customer.get("subject"), 4096),
                Attributes=task_attributes(data),
                ClientToken=event_id,
            )
            link = ContactLink(
                contact_id=str(answer["ContactId"]),
                document_id=data.document_id,
                work_item_id=data.work_item_id,
                provider_queue_id=data.provider_queue_id,
            )
            await self._map().put(link)
        finally:
            self._starting -= 1

    async def _transfer_to_agent(self, event_id: str, data: es.TransferData) -> None:
        to = data.to.provider_agent_id
        if not to:
            msg = (
                f"transfer {data.transfer_id}: the target agent has no Connect user "
                "linked; the agent must sign in to Connect once"
            )
            raise SpokeRejectedError(msg)
        link = self._task_link(data.document_id)
        # Mapped first: Connect may alert the target before TransferContact even returns.
        await self._map().put(
            ContactLink(
                link.contact_id,
                link.document_id,
                data.transfer_id,
                link.provider_queue_id,
                transferred_to=to,
            )
        )
        await self._transfer(event_id, link, UserId=to, flow=self.settings.agent_transfer_flow_id)

    async def _transfer_to_queue(self, event_id: str, data: es.TransferData) -> None:
        queue = data.provider_queue_id
        if not queue:
            msg = f"transfer {data.transfer_id}: the target queue has no provider_queue_id"
            raise SpokeRejectedError(msg)
        link = self._task_link(data.document_id)
        await self._map().put(
            ContactLink(link.contact_id, link.document_id, data.transfer_id, queue)
        )
        await self._transfer(
            event_id, link, QueueId=queue, flow=self.settings.queue_transfer_flow_id
        )

    async def _cancel_transfer(self, event_id: str, data: es.TransferData) -> None:
        # Connect cannot take a transfer back: the contact goes back to the sender instead.
        sender = data.from_.provider_agent_id
        link = self._task_link(data.document_id)
        previous = data.previous_work_item_id or link.work_item_id
        # The sender still has the work it accepted: it is the holder again, and Connect's
        # alert to it is no new offer.
        back = ContactLink(
            link.contact_id,
            link.document_id,
            previous,
            link.provider_queue_id,
            accepted_by=sender,
            transferred_to=sender,
        )
        await self._map().put(back)
        if sender:
            await self._transfer(
                event_id, link, UserId=sender, flow=self.settings.agent_transfer_flow_id
            )

    async def _offer_outcome(self, event_id: str, data: es.OfferOutcomeData) -> None:
        link = self._link(data.document_id)
        await self._annotate(
            link,
            {
                "offer_outcome": data.outcome,
                "offer_agent_id": data.agent_id,
                "reject_reason_id": data.reject_reason_id,
            },
        )
        if data.outcome == "accepted" and (link.voice or data.work_item_id == link.work_item_id):
            # Remembered so that Connect alerting someone else next is a transfer made there.
            accepted = replace(link, accepted_by=data.provider_agent_id)
            await self._map().put(replace(accepted, work_item_id=data.work_item_id))
        # Connect cannot exclude an agent from a contact, so `reassignable` cannot be honoured.
        # A call is routed again by Connect itself when the agent's softphone misses it.
        if data.outcome in ("rejected", "timed_out") and not link.voice:
            await self._requeue(event_id, link, data.provider_queue_id)

    async def _offer_refused(self, event_id: str, data: es.OfferRefusedData) -> None:
        # The segment id starts with the contact id (agent_events.segment_id).
        contact = data.external_segment_id.split("/", 1)[0]
        link = self._map().by_contact(contact) or self._link(data.document_id)
        await self._annotate(link, {"offer_outcome": "refused", "offer_error": data.error_code})
        if not link.voice:
            await self._requeue(event_id, link, None)

    async def _requeue(self, event_id: str, link: ContactLink, queue: str | None) -> None:
        # Connect re-routes a contact only when it is queued again.
        target = queue or link.provider_queue_id or ""
        if not target:
            msg = f"document {link.document_id}: no Connect queue to put the task back in"
            raise SpokeRejectedError(msg)
        if link.transferred_to is not None:
            # Queued again, it may go to anyone.
            await self._map().put(replace(link, transferred_to=None))
        await self._transfer(
            event_id, link, QueueId=target, flow=self.settings.queue_transfer_flow_id
        )

    async def _end(self, data: es.EndInteractionData) -> None:
        link = self._link(data.document_id)
        await self._annotate(
            link,
            {
                "state": data.state,
                "wrap_up_code_id": data.wrap_up_code_id,
                "wrap_up_code_name": data.wrap_up_code_name,
                "notes": data.notes,
            },
        )
        await self._stop(link.contact_id)

    async def _stop(self, contact_id: str) -> None:
        client = self._connect()
        await self._call(
            "StopContact",
            client.stop_contact,
            gone_ok=True,
            InstanceId=self.settings.instance_id,
            ContactId=contact_id,
        )

    async def _control(self, data: es.InteractionControlData) -> None:
        link = self._link(data.interaction_id)
        action = CallAction(data.action)
        if not link.voice or action is not CallAction.END:
            msg = (
                f"Connect's API cannot {action.value} the call of interaction "
                f"{data.interaction_id}: it can only stop a voice contact (StopContact)"
            )
            raise SpokeRejectedError(msg)
        # The contact the agent saw: after a transfer made in Connect it is a new one.
        await self._stop(data.provider_call_id or link.contact_id)

    async def _presence(self, data: es.AgentPresenceData) -> None:
        user, state = data.provider_agent_id, data.provider_state
        if not user or not state:
            msg = f"agent {data.agent_id}: no linked Connect user or no mapped status"
            raise SpokeRejectedError(msg)
        status_id = await self._status_id(state)
        client = self._connect()
        await self._call(
            "PutUserStatus",
            client.put_user_status,
            InstanceId=self.settings.instance_id,
            UserId=user,
            AgentStatusId=status_id,
        )

    async def _transfer(
        self, event_id: str, link: ContactLink, *, flow: str, **target: Any
    ) -> None:
        client = self._connect()
        await self._call(
            "TransferContact",
            client.transfer_contact,
            InstanceId=self.settings.instance_id,
            ContactId=link.contact_id,
            ContactFlowId=flow,
            ClientToken=event_id,
            **target,
        )

    async def _annotate(self, link: ContactLink, values: Mapping[str, object]) -> None:
        attributes = {ATTRIBUTE_PREFIX + k: _text(v) for k, v in values.items() if v is not None}
        client = self._connect()
        await self._call(
            "UpdateContactAttributes",
            client.update_contact_attributes,
            InstanceId=self.settings.instance_id,
            InitialContactId=link.contact_id,
            Attributes=attributes,
        )

    # -- agent statuses ------------------------------------------------------------------------

    async def _status_id(self, name_or_id: str) -> str:
        if name_or_id not in self._status_ids:
            await self._refresh_statuses()
        if name_or_id in self._status_ids:
            return self._status_ids[name_or_id]
        if name_or_id in self._status_ids.values():
            return name_or_id
        known = ", ".join(sorted(self._status_ids)) or "none"
        msg = (
            f"Connect has no agent status named '{name_or_id}' (known: {known}); "
            "fix the spoke's presence_map"
        )
        raise SpokeRejectedError(msg)

    async def _refresh_statuses(self) -> None:
        client = self._connect()
        items = await self._pages(
            "ListAgentStatuses", client.list_agent_statuses, "AgentStatusSummaryList"
        )
        self._status_ids = {str(s["Name"]): str(s["Id"]) for s in items}

    # -- catalog -------------------------------------------------------------------------------

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """Queues, routing profiles (as skills) and users; Connect has no wrap-up codes."""
        client = self._connect()
        if kind is CatalogKind.QUEUES:
            queues = await self._pages(
                "ListQueues", client.list_queues, "QueueSummaryList", QueueTypes=["STANDARD"]
            )
            return [CatalogEntry(str(q["Id"]), str(q.get("Name", q["Id"])), {}) for q in queues]
        if kind is CatalogKind.SKILLS:
            profiles = await self._pages(
                "ListRoutingProfiles", client.list_routing_profiles, "RoutingProfileSummaryList"
            )
            return [
                CatalogEntry(str(p["Id"]), str(p.get("Name", p["Id"])), {"kind": "routing_profile"})
                for p in profiles
            ]
        if kind is CatalogKind.AGENTS:
            return [await self._agent(user) for user in await self._users()]
        return await super().list_catalog(kind)

    async def _users(self) -> list[Mapping[str, Any]]:
        client = self._connect()
        return await self._pages("ListUsers", client.list_users, "UserSummaryList")

    async def _agent(self, summary: Mapping[str, Any]) -> CatalogEntry:
        client = self._connect()
        answer = await self._call(
            "DescribeUser",
            client.describe_user,
            InstanceId=self.settings.instance_id,
            UserId=str(summary["Id"]),
        )
        user = answer.get("User", {})
        info = user.get("IdentityInfo", {}) or {}
        full = " ".join(p for p in (info.get("FirstName"), info.get("LastName")) if p)
        name = full or str(summary.get("Username", summary["Id"]))
        attributes: dict[str, Any] = {"username": summary.get("Username")}
        if info.get("Email"):
            attributes["email"] = info["Email"]
        if user.get("RoutingProfileId"):
            attributes["routing_profile_id"] = user["RoutingProfileId"]
        return CatalogEntry(str(summary["Id"]), name, attributes)

    async def fetch_profile(self, provider_agent_id: str) -> ProviderProfile:
        """DescribeUser, its routing profile (queues, media concurrency) and proficiencies."""
        client = self._connect()
        instance = self.settings.instance_id
        answer = await self._call(
            "DescribeUser", client.describe_user, InstanceId=instance, UserId=provider_agent_id
        )
        user = answer.get("User", {})
        self._note_auto_accept(provider_agent_id, user)
        info = user.get("IdentityInfo", {}) or {}
        full = " ".join(p for p in (info.get("FirstName"), info.get("LastName")) if p)
        skills: list[ProfileSkill] = []
        groups: list[ProfileGroup] = []
        capacity: dict[str, int] = {}
        profile_id = user.get("RoutingProfileId")
        if profile_id:
            described = await self._call(
                "DescribeRoutingProfile",
                client.describe_routing_profile,
                InstanceId=instance,
                RoutingProfileId=str(profile_id),
            )
            routing = described.get("RoutingProfile", {})
            # The catalog imports routing profiles as skills: the agent holds its own.
            skills.append(ProfileSkill(str(profile_id), str(routing.get("Name") or profile_id)))
            for media in routing.get("MediaConcurrencies", []):
                channel = MEDIA_CHANNELS.get(str(media.get("Channel")))
                if channel is not None:
                    capacity[channel] = min(int(media.get("Concurrency", 1)), 10_000)
            queues = await self._pages(
                "ListRoutingProfileQueues",
                client.list_routing_profile_queues,
                "RoutingProfileQueueConfigSummaryList",
                RoutingProfileId=str(profile_id),
            )
            seen = {str(q["QueueId"]): str(q.get("QueueName") or q["QueueId"]) for q in queues}
            groups = [ProfileGroup(q, name) for q, name in seen.items()]
        proficiencies = await self._pages(
            "ListUserProficiencies",
            client.list_user_proficiencies,
            "UserProficiencyList",
            UserId=provider_agent_id,
        )
        for p in proficiencies:
            name, value = str(p["AttributeName"]), str(p["AttributeValue"])
            level = clamp_level(float(p.get("Level", 1.0)))
            skills.append(ProfileSkill(f"{name}={value}", f"{name}: {value}", level))
        return ProviderProfile(
            provider_agent_id=provider_agent_id,
            name=full or user.get("Username"),
            email=info.get("Email"),
            skills=tuple(skills),
            groups=tuple(groups),
            capacity=capacity,
        )

    # -- inbound -------------------------------------------------------------------------------

    def parse_inbound(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify and parse; a voice contact or user not read from Connect yet asks a retry."""
        records = self._records(headers, body)
        missing = [f"{kind} {ident}" for kind, ident in self._unknown(records)]
        if missing:
            msg = f"{', '.join(missing)} not read from Connect yet; retry this request"
            raise SpokeUnavailableError(msg)
        return self._events(records)

    async def receive(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify the relay's signature, read new voice contacts and users, make the events."""
        records = self._records(headers, body)
        # Contacts first: only the users with a call of ours need their auto-accept read.
        for _ in range(2):
            for kind, ident in self._unknown(records):
                await self._read(kind, ident)
        return self._events(records)

    async def _read(self, kind: str, ident: str) -> None:
        """Read one voice contact or user from Connect for the relay's request."""
        try:
            if kind == "contact":
                await self._describe_contact(ident)
            else:
                await self._describe_user(ident)
        except SpokeRejectedError:
            # Connect will not describe it (unknown, not allowed): no call of ours, and no
            # auto-accept we know of.
            if kind == "contact":
                self._not_ours(ident)
            else:
                self._auto_accept[ident] = (False, False)
        except SpokeError as err:
            # Our credentials or Connect failing is no fault of the relay's: it retries.
            msg = f"reading {kind} {ident} from Connect: {err}; retry this request"
            raise SpokeUnavailableError(msg) from err

    def _records(self, headers: Mapping[str, str], body: bytes) -> list[AgentEvent]:
        secret = self.settings.relay_secret.get_secret_value()
        try:
            signing.verify(secret, headers, body, tolerance_s=self.settings.tolerance_s)
        except signing.SignatureError as err:
            msg = f"amazon_connect spoke '{self.instance_name}': {err}"
            raise SpokeAuthError(msg) from err
        try:
            parsed = AGENT_EVENTS.validate_json(body)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:3]
            )
            msg = f"not an agent event stream record or a list of them: {problems}"
            raise SpokeRejectedError(msg) from err
        records = parsed if isinstance(parsed, list) else [parsed]
        if len(records) > MAX_INBOUND_EVENTS:
            msg = f"{len(records)} records in one request; send at most {MAX_INBOUND_EVENTS}"
            raise SpokeRejectedError(msg)
        for record in records:
            self._check_known(record)
        return records

    def _events(self, records: list[AgentEvent]) -> list[InboundEvent]:
        found: list[InboundEvent] = []
        terms = OfferTerms(self.settings.offer_timeout_s, self._auto_accepts)
        for record in records:
            found.extend(inbound_events(record, self._ours, terms=terms))
            found.extend(calls.call_events(record, self._ours))
        return found

    def _auto_accepts(self, user_id: str, contact: AgentContact) -> bool:
        voice, agent_first_callback = self._auto_accept.get(user_id, (False, False))
        return agent_first_callback if contact.initiation_method == "CALLBACK" else voice

    def _unknown(self, records: list[AgentEvent]) -> list[tuple[str, str]]:
        """The voice contacts ("contact", id) and users ("user", id) to read from Connect."""
        found: dict[tuple[str, str], None] = {}
        for record in records:
            for contact in record.current.contacts if record.current else []:
                if contact.channel != calls.VOICE or contact.state not in OFFERED_STATES:
                    continue
                if contact.contact_id in self._foreign:
                    continue
                if ours(contact, self._ours) is None:
                    found[("contact", contact.contact_id)] = None
                elif record.user_id not in self._auto_accept:
                    found[("user", record.user_id)] = None
        return list(found)

    async def _describe_contact(self, contact_id: str) -> None:
        """DescribeContact: a voice contact whose attributes name our document is linked."""
        client = self._connect()
        answer = await self._call(
            "DescribeContact",
            client.describe_contact,
            InstanceId=self.settings.instance_id,
            ContactId=contact_id,
        )
        contact = answer.get("Contact", {})
        document = (contact.get("Attributes") or {}).get(ATTRIBUTE_PREFIX + "document_id")
        if contact.get("Channel") != calls.VOICE or not document:
            self._not_ours(contact_id)
            return
        endpoint = contact.get("CustomerEndpoint") or {}
        queue = (contact.get("QueueInfo") or {}).get("Id")
        link = ContactLink(
            contact_id=contact_id,
            document_id=str(document),
            work_item_id="",
            provider_queue_id=str(queue) if queue else None,
            voice=True,
            customer_number=endpoint.get("Address"),
        )
        await self._map().put(link)

    def _not_ours(self, contact_id: str) -> None:
        self._foreign[contact_id] = None
        if len(self._foreign) > MAX_FOREIGN_CONTACTS:
            self._foreign.pop(next(iter(self._foreign)))

    async def _describe_user(self, user_id: str) -> None:
        client = self._connect()
        answer = await self._call(
            "DescribeUser",
            client.describe_user,
            InstanceId=self.settings.instance_id,
            UserId=user_id,
        )
        self._note_auto_accept(user_id, answer.get("User", {}))

    def _note_auto_accept(self, user_id: str, user: Mapping[str, Any]) -> None:
        """The user's VOICE auto-accept (per channel, else the phone's) and agent-first one."""
        phone = bool((user.get("PhoneConfig") or {}).get("AutoAccept", False))
        for config in user.get("AutoAcceptConfigs") or []:
            if config.get("Channel") == calls.VOICE:
                voice = bool(config.get("AutoAccept", phone))
                callback = bool(config.get("AgentFirstCallbackAutoAccept", False))
                self._auto_accept[user_id] = (voice, callback)
                return
        self._auto_accept[user_id] = (phone, False)

    def _ours(self, contact_id: str) -> ContactLink | None:
        return self._map().by_contact(contact_id)

    def _check_known(self, record: AgentEvent) -> None:
        # A task Connect alerts while StartTaskContact has not answered yet may be ours:
        # the relay retries on 5xx, by which time its contact id is known.
        if self._starting <= 0 or record.current is None:
            return
        for contact in record.current.contacts:
            if contact.state in OFFERED_STATES and self._ours(contact.contact_id) is None:
                msg = (
                    f"contact {contact.contact_id} may be a task still being created; "
                    "retry this request"
                )
                raise SpokeUnavailableError(msg)

    # -- calls ---------------------------------------------------------------------------------

    def _connect(self) -> ConnectClient:
        if self._client is None:
            msg = f"amazon_connect spoke '{self.instance_name}' is not set up; call setup() first"
            raise RuntimeError(msg)
        return self._client

    def _map(self) -> ContactMap:
        if self.contacts is None:
            msg = f"amazon_connect spoke '{self.instance_name}' is not set up; call setup() first"
            raise RuntimeError(msg)
        return self.contacts

    def _link(self, document_id: str | None) -> ContactLink:
        document = document_id or ""
        link = self._map().by_document(document)
        if link is None:
            msg = (
                f"document '{document}' has no Connect task; its new_interaction was never "
                "delivered through this spoke"
            )
            raise SpokeRejectedError(msg)
        return link

    def _task_link(self, document_id: str | None) -> ContactLink:
        link = self._link(document_id)
        if link.voice:
            msg = (
                f"document '{link.document_id}' is a call: Connect's TransferContact carries only "
                "TASK and EMAIL contacts, so calls are transferred in the agent's softphone"
            )
            raise SpokeRejectedError(msg)
        return link

    async def _call(
        self,
        operation: str,
        method: Callable[..., Any],
        *,
        gone_ok: bool = False,
        **params: Any,
    ) -> Mapping[str, Any]:
        """One API call in a worker thread, its errors mapped to spoke errors."""
        what = f"amazon_connect spoke '{self.instance_name}': {operation}"
        try:
            answer: Mapping[str, Any] = await asyncio.to_thread(method, **params)
        except Exception as err:
            if gone_ok and error_code(err) in GONE_CODES:
                return {}
            raise map_error(what, err) from err
        return answer

    async def _pages(
        self, operation: str, method: Callable[..., Any], key: str, **params: Any
    ) -> list[Mapping[str, Any]]:
        """Every page of a List operation, following NextToken."""
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            extra: dict[str, Any] = {"NextToken": token} if token else {}
            answer = await self._call(
                operation,
                method,
                InstanceId=self.settings.instance_id,
                MaxResults=PAGE_SIZE,
                **params,
                **extra,
            )
            items.extend(answer.get(key, []))
            token = answer.get("NextToken")
            if not token:
                return items
        msg = f"amazon_connect spoke '{self.instance_name}': {operation}: over {MAX_PAGES} pages"
        raise SpokeRejectedError(msg)
