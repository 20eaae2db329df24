"""The Genesys Cloud spoke: Open Messaging for routing, the Platform API for the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from omniroute.domain.calls import CallAction
from omniroute.domain.outbound import RoutingEventType
from omniroute.domain.profile import ProviderProfile
from omniroute.spokes import events_schema as es
from omniroute.spokes.base import (
    CatalogEntry,
    CatalogKind,
    InboundEvent,
    RoutingEvent,
    Spoke,
    SpokeError,
    SpokeRejectedError,
)
from omniroute.spokes.genesys import calls, inbound, profile
from omniroute.spokes.genesys.client import GenesysClient
from omniroute.spokes.genesys.links import ConversationLinks, Link
from omniroute.spokes.genesys.settings import GenesysSettings
from omniroute.spokes.store import SpokeStore

log = logging.getLogger(__name__)

AGENT = "agent"
CONNECTED = "connected"
ALERTING = "alerting"
DISCONNECTED = "disconnected"
DECLINED_OUTCOMES = frozenset({"rejected", "timed_out", "refused"})
CALLBACK_NUMBER = re.compile(r"\+[0-9]{6,15}")


def _label(definition: Mapping[str, Any]) -> str | None:
    labels = definition.get("languageLabels")
    if isinstance(labels, dict):
        label = labels.get("en_US") or next(iter(labels.values()), None)
        if isinstance(label, str):
            return label
    system = definition.get("systemPresence")
    return system if isinstance(system, str) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _entry(entity: object, attribute: str) -> CatalogEntry:
    """A catalog entry from a Genesys entity, keeping one of its text fields."""
    if not isinstance(entity, dict):
        msg = "Genesys listed an entity that is not an object"
        raise SpokeRejectedError(msg)
    entity_id, name = entity.get("id"), entity.get("name")
    if not isinstance(entity_id, str) or not isinstance(name, str):
        msg = f"Genesys listed an entity without an id and a name: {str(entity)[:200]}"
        raise SpokeRejectedError(msg)
    return CatalogEntry(entity_id, name, {attribute: _text(entity.get(attribute))})


def _ref_id(value: object) -> str | None:
    ref_id = value.get("id") if isinstance(value, dict) else None
    return ref_id if isinstance(ref_id, str) else None


def _newer(modified: object, at: datetime) -> bool:
    """Whether Genesys' presence was modified after the time `at` of our change."""
    if not isinstance(modified, str):
        return False
    try:
        return datetime.fromisoformat(modified) > at
    except (ValueError, TypeError):
        return False


class GenesysSpoke(Spoke[GenesysSettings]):
    """Genesys Cloud routes our chats as Open Messaging conversations and offers them back."""

    def __init__(
        self, instance_name: str, settings: GenesysSettings, store: SpokeStore | None = None
    ) -> None:
        super().__init__(instance_name, settings, store)
        self._http: httpx.AsyncClient | None = None
        self._api: GenesysClient | None = None
        self.links = ConversationLinks(self.store)
        self._definitions: dict[str, str] = {}  # presence definition id -> its name
        self._wrap_up_codes: dict[str, str] = {}  # wrap-up code name -> Genesys id
        self._written: dict[str, str] = {}  # user id -> modifiedDate of our last presence write
        self._loader: asyncio.Task[None] | None = None

    async def setup(self) -> None:
        """Open the HTTP pool; the first call fetches a token."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.timeout_s),
                follow_redirects=False,
                headers={"User-Agent": f"omniroute-genesys/{self.manifest.version}"},
            )
            self._api = GenesysClient(self.settings, self._http)
            # Names for inbound presence notifications; Genesys being down must not stop set-up.
            self._loader = asyncio.create_task(self._preload_definitions())

    async def _preload_definitions(self) -> None:
        try:
            await self._load_definitions()
        except SpokeError as err:
            log.warning(
                "Genesys spoke '%s': presence definitions not read: %s", self.instance_name, err
            )

    async def unload(self) -> None:
        """Close the HTTP pool."""
        if self._loader is not None:
            self._loader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loader
            self._loader = None
        if self._http is not None:
            await self._http.aclose()
            self._http, self._api = None, None

    async def health(self) -> None:
        """A token, the presence definitions and the system presences answer."""
        await self._load_definitions()
        await self.api.call("GET", "/api/v2/systempresences")

    async def deliver(self, event: RoutingEvent) -> None:
        """Carry one routing event to Genesys."""
        match event.type:
            case RoutingEventType.NEW_INTERACTION:
                await self._new_interaction(event, event.data_as(es.NewInteractionData))
            case RoutingEventType.OFFER_OUTCOME:
                outcome = event.data_as(es.OfferOutcomeData)
                await self._offer_outcome(
                    outcome.outcome,
                    outcome.document_id,
                    outcome.external_segment_id,
                    outcome.provider_agent_id,
                )
            case RoutingEventType.OFFER_REFUSED:
                refused = event.data_as(es.OfferRefusedData)
                await self._offer_outcome(
                    "refused",
                    refused.document_id,
                    refused.external_segment_id,
                    refused.provider_agent_id,
                )
            case RoutingEventType.TRANSFER_TO_AGENT | RoutingEventType.TRANSFER_TO_QUEUE:
                await self._transfer(event.type, event.data_as(es.TransferData))
            case RoutingEventType.CANCEL_TRANSFER:
                await self._cancel_transfer(event.data_as(es.TransferData).document_id)
            case RoutingEventType.END_INTERACTION:
                await self._end(event.data_as(es.EndInteractionData))
            case RoutingEventType.AGENT_PRESENCE:
                await self._presence(event.data_as(es.AgentPresenceData))
            case RoutingEventType.INTERACTION_CONTROL:
                await self._control(event.data_as(es.InteractionControlData))

    async def _control(self, data: es.InteractionControlData) -> None:
        """A call control as a change to the agent's call participant, or a call placed."""
        if not data.provider_call_id:
            msg = f"the call of interaction {data.interaction_id} has no Genesys conversation id"
            raise SpokeRejectedError(msg)
        action = CallAction(data.action)
        path = f"/api/v2/conversations/calls/{data.provider_call_id}"
        if action in (CallAction.DIAL, CallAction.RETRY_CALLBACK):
            number = data.params.get("number")
            if not number:
                callback = f"/api/v2/conversations/callbacks/{data.provider_call_id}"
                number = calls.callback_number(await self.api.call("GET", callback))
            # Places a call in the callback conversation (CallCommand).
            await self.api.call("POST", path, json={"callNumber": number})
            return
        method, suffix, body = calls.request(action, data.params)
        link = await self.links.link(data.interaction_id)
        if action is CallAction.END and link is not None and link.media == "callbacks":
            # A callback not dialled yet is ended on its callback participant.
            path = await self._live_call_or_callback(link, data.provider_agent_id)
        conversation = await self.api.call("GET", path)
        participant = calls.agent_participant(conversation, data.provider_agent_id)
        await self.api.call(method, f"{path}/participants/{participant}{suffix}", json=body)

    async def _live_call_or_callback(self, link: Link, user_id: str | None) -> str:
        """The calls path if the user has a live call leg in the callback, else the callback's."""
        path = f"/api/v2/conversations/calls/{link.conversation_id}"
        try:
            calls.agent_participant(await self.api.call("GET", path), user_id)
        except SpokeRejectedError:
            return f"/api/v2/conversations/callbacks/{link.conversation_id}"
        return path

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """Skills, queues, wrap-up codes (with the queues that use them) or users; all pages."""
        match kind:
            case CatalogKind.SKILLS:
                entries = [
                    _entry(s, "state") async for s in self.api.pages("/api/v2/routing/skills")
                ]
            case CatalogKind.QUEUES:
                entries = [
                    _entry(q, "description") async for q in self.api.pages("/api/v2/routing/queues")
                ]
            case CatalogKind.WRAP_UP_CODES:
                entries = await self._wrap_up_catalog()
            case CatalogKind.AGENTS:
                entries = [
                    _entry(u, "email")
                    async for u in self.api.pages("/api/v2/users", {"state": "active"})
                ]
        # A listing that shifts between pages may repeat an entity: keep one per id.
        return list({e.provider_id: e for e in entries}.values())

    async def fetch_profile(self, provider_agent_id: str) -> ProviderProfile:
        """The user's name, email, routing skills, queues and per-media utilization."""
        return await profile.fetch(self.api, provider_agent_id)

    def parse_inbound(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify the shared secret, then read presence, sign-in and alert notifications."""
        inbound.verify(headers, self.settings.inbound_secret.get_secret_value())
        names = {v: k for k, v in self.settings.presence_definitions.items()}
        return inbound.parse(body, self._definitions | names)

    # -- routing -----------------------------------------------------------------------

    @property
    def api(self) -> GenesysClient:
        """The Platform API client; setup() must have run."""
        if self._api is None:
            msg = f"Genesys spoke '{self.instance_name}' is not set up; call setup() first"
            raise RuntimeError(msg)
        return self._api

    async def _new_interaction(self, event: RoutingEvent, data: es.NewInteractionData) -> None:
        if data.channel_id in self.settings.callback_channels:
            await self._new_callback(data)
            return
        document_id = data.document_id
        customer = data.customer
        attributes = {
            "omnirouteDocumentId": document_id,
            "omnirouteWorkItemId": data.work_item_id,
            "omnirouteChannel": data.channel_id,
            "genesysQueueId": data.provider_queue_id or "",
        }
        sender = {"id": f"omniroute-{document_id}", "idType": "Opaque"}
        if customer.get("customer_name"):
            sender["nickname"] = str(customer["customer_name"])
        body = {
            "channel": {
                "messageId": event.id,
                "from": sender,
                "time": event.created_at.isoformat(),
            },
            "text": str(customer.get("subject") or f"Omniroute interaction {document_id}"),
            "metadata": attributes,
        }
        path = f"/api/v2/conversations/messages/{self.settings.integration_id}/inbound/open/message"
        answer = await self.api.call("POST", path, json=body)
        conversation_id = answer.get("conversationId") if isinstance(answer, dict) else None
        if not isinstance(conversation_id, str):
            msg = f"Genesys POST {path}: the answer has no conversationId"
            raise SpokeRejectedError(msg)
        await self.links.put(document_id, conversation_id)

    async def _new_callback(self, data: es.NewInteractionData) -> None:
        """A Genesys callback in the queue, to the number the interaction's subject gives."""
        subject = str(data.customer.get("subject") or "")
        number = CALLBACK_NUMBER.search(subject)
        if number is None:
            msg = (
                f"callback {data.document_id} has no number to call: its subject must hold one "
                "in international form, such as +442079460555"
            )
            raise SpokeRejectedError(msg)
        queue = data.provider_queue_id or self.settings.queues.get(data.queue_id)
        if queue is None:
            msg = f"queue '{data.queue_id}' has no Genesys queue: map it in `queues`"
            raise SpokeRejectedError(msg)
        body: dict[str, Any] = {
            "queueId": queue,
            "callbackNumbers": [number.group(0)],
            "data": {
                inbound.DOCUMENT_KEY: data.document_id,
                "omnirouteWorkItemId": data.work_item_id,
                calls.KIND_KEY: "callback",
            },
        }
        if data.customer.get("customer_name"):
            body["callbackUserName"] = str(data.customer["customer_name"])
        # Genesys has no idempotency key here: a retry after a lost answer makes a second
        # callback, so the dispatcher's retry is the one accepted risk (see the docs).
        answer = await self.api.call("POST", "/api/v2/conversations/callbacks", json=body)
        conversation = answer.get("conversation") if isinstance(answer, dict) else None
        conversation_id = _ref_id(conversation)
        if conversation_id is None:
            msg = "Genesys POST /api/v2/conversations/callbacks: the answer has no conversation"
            raise SpokeRejectedError(msg)
        await self.links.put(data.document_id, conversation_id, "callbacks")

    async def _link(self, document_id: str | None) -> Link:
        link = await self.links.link(document_id) if document_id else None
        if link is None:
            msg = (
                f"no Genesys conversation is known for '{document_id}': its "
                "new_interaction never reached Genesys"
            )
            raise SpokeRejectedError(msg)
        return link

    async def _participants(self, link: Link) -> list[dict[str, Any]]:
        path = f"/api/v2/conversations/{link.media}/{link.conversation_id}"
        conversation = await self.api.call("GET", path)
        return [p for p in conversation.get("participants") or [] if isinstance(p, dict)]

    async def _patch_participant(
        self, link: Link, participant_id: str, body: dict[str, Any]
    ) -> None:
        path = (
            f"/api/v2/conversations/{link.media}/{link.conversation_id}"
            f"/participants/{participant_id}"
        )
        await self.api.call("PATCH", path, json=body)

    async def _agents(self, link: Link, state: str) -> list[dict[str, Any]]:
        return [
            p
            for p in await self._participants(link)
            if p.get("purpose") == AGENT and p.get("state") == state
        ]

    async def _segment(
        self, document_id: str | None, segment: str | None
    ) -> tuple[Link, str | None]:
        """The conversation and participant an alert's segment names.

        A call's or callback's segment is `{conversation id}/{participant id}`: a call reaches
        Genesys before us, so its segment is where the spoke first learns its conversation.
        """
        if segment and "/" in segment:
            conversation_id, participant_id = segment.split("/", 1)
            known = await self.links.link(document_id) if document_id else None
            if known is not None and known.conversation_id == conversation_id:
                return known, participant_id
            link = Link(conversation_id, "calls")
            if document_id:
                await self.links.put(document_id, conversation_id, link.media)
            return link, participant_id
        return await self._link(document_id), segment

    async def _offer_outcome(
        self,
        outcome: str,
        document_id: str | None,
        participant_id: str | None,
        agent: str | None,
    ) -> None:
        if outcome == "accepted":
            state = CONNECTED
        elif outcome in DECLINED_OUTCOMES:
            state = DISCONNECTED
        else:
            return  # withdrawn: Genesys took the alert back itself
        link, participant_id = await self._segment(document_id, participant_id)
        if not participant_id:
            alerting = await self._agents(link, ALERTING)
            found = next((p for p in alerting if _ref_id(p.get("user")) == agent), None)
            if found is None:
                return  # nothing alerts that agent any more
            participant_id = str(found["id"])
        await self._patch_participant(link, participant_id, {"state": state})

    async def _holder(self, link: Link, provider_agent_id: object) -> dict[str, Any]:
        connected = await self._agents(link, CONNECTED)
        holder = next(
            (p for p in connected if _ref_id(p.get("user")) == provider_agent_id),
            connected[0] if connected else None,
        )
        if holder is None:
            msg = f"Genesys conversation '{link.conversation_id}' has no connected agent"
            raise SpokeRejectedError(msg)
        return holder

    async def _transfer(self, kind: RoutingEventType, data: es.TransferData) -> None:
        link = await self._link(data.document_id)
        holder = await self._holder(link, data.from_.provider_agent_id)
        body: dict[str, Any]
        if kind is RoutingEventType.TRANSFER_TO_AGENT:
            target = data.to.provider_agent_id
            if target is None:
                msg = "the transfer's target agent is not linked to a Genesys user"
                raise SpokeRejectedError(msg)
            body = {"userId": target}
        else:
            queue = data.provider_queue_id or self.settings.queues.get(data.queue_id)
            if queue is None:
                msg = f"queue '{data.queue_id}' has no Genesys queue: map it in `queues`"
                raise SpokeRejectedError(msg)
            body = {"queueId": queue}
        path = (
            f"/api/v2/conversations/{link.media}/{link.conversation_id}"
            f"/participants/{holder['id']}/replace"
        )
        await self.api.call("POST", path, json=body)

    async def _cancel_transfer(self, document_id: str) -> None:
        link = await self._link(document_id)
        for participant in await self._participants(link):
            if (
                participant.get("purpose") in (AGENT, "acd")
                and participant.get("state") == ALERTING
            ):
                body = {"state": DISCONNECTED}
                await self._patch_participant(link, str(participant["id"]), body)

    async def _end(self, data: es.EndInteractionData) -> None:
        link = await self._link(data.document_id)
        wrapup: dict[str, Any] = {}
        name = data.wrap_up_code_name
        if name is not None:
            code = await self._wrap_up_code(name)
            wrapup = {"code": code, "name": name}
        if data.notes:
            wrapup["notes"] = data.notes
        if link.media == "messages":
            await self._end_messages(link, data.provider_agent_id, wrapup)
        else:
            await self._end_call(link, data.provider_agent_id, wrapup)

    async def _end_messages(self, link: Link, agent: str | None, wrapup: dict[str, Any]) -> None:
        for participant in await self._participants(link):
            if participant.get("purpose") != AGENT or participant.get("state") != CONNECTED:
                continue
            if agent is not None and _ref_id(participant.get("user")) != agent:
                continue
            body: dict[str, Any] = {"state": DISCONNECTED}
            if wrapup:
                body["wrapup"] = wrapup
            await self._patch_participant(link, str(participant["id"]), body)
        path = f"/api/v2/conversations/messages/{link.conversation_id}"
        await self.api.call("PATCH", path, json={"state": DISCONNECTED})

    async def _end_call(self, link: Link, agent: str | None, wrapup: dict[str, Any]) -> None:
        """The agent's leg of a call or callback leaves, with its wrap-up; the customer stays.

        After a cold transfer the customer talks to someone else, so the call is not ended.
        """
        path = f"/api/v2/conversations/{link.media}/{link.conversation_id}"
        conversation = await self.api.call("GET", path)
        participant_id = calls.agent_participant(conversation, agent, live=False)
        found = next(p for p in conversation["participants"] if p.get("id") == participant_id)
        body: dict[str, Any] = {}
        if found.get("state") not in calls.ENDED:
            body["state"] = DISCONNECTED
        if wrapup:
            body["wrapup"] = wrapup
        if body:
            await self._patch_participant(link, participant_id, body)

    async def _wrap_up_code(self, name: str) -> str:
        if name not in self._wrap_up_codes:
            async for raw in self.api.pages("/api/v2/routing/wrapupcodes"):
                code = _entry(raw, "description")
                self._wrap_up_codes[code.name] = code.provider_id
        if name not in self._wrap_up_codes:
            msg = f"Genesys has no wrap-up code named '{name}'; import the catalog again"
            raise SpokeRejectedError(msg)
        return self._wrap_up_codes[name]

    async def _wrap_up_catalog(self) -> list[CatalogEntry]:
        codes: dict[str, dict[str, Any]] = {}
        async for raw in self.api.pages("/api/v2/routing/wrapupcodes"):
            code = _entry(raw, "description")
            codes[code.provider_id] = {"name": code.name, "queues": []}
        async for raw_queue in self.api.pages("/api/v2/routing/queues"):
            queue = _entry(raw_queue, "description")
            path = f"/api/v2/routing/queues/{queue.provider_id}/wrapupcodes"
            async for raw in self.api.pages(path):
                code = _entry(raw, "description")
                entry = codes.setdefault(code.provider_id, {"name": code.name, "queues": []})
                if queue.provider_id not in entry["queues"]:
                    entry["queues"].append(queue.provider_id)
        return [
            CatalogEntry(code_id, entry["name"], {"queue_ids": sorted(entry["queues"])})
            for code_id, entry in codes.items()
        ]

    # -- presence ----------------------------------------------------------------------

    async def _load_definitions(self) -> dict[str, str]:
        listing = await self.api.call("GET", "/api/v2/presence/definitions")
        found: dict[str, str] = {}
        for definition in listing.get("entities") or []:
            label = _label(definition)
            if label is not None and not definition.get("deactivated"):
                found[str(definition["id"])] = label
        self._definitions = found
        return found

    def _definition_for(self, state: str, definitions: Mapping[str, str]) -> str | None:
        if state in self.settings.presence_definitions:
            return self.settings.presence_definitions[state]
        wanted = state.casefold()
        return next((i for i, label in definitions.items() if label.casefold() == wanted), None)

    async def _presence(self, data: es.AgentPresenceData) -> None:
        state = data.provider_state
        definitions = self._definitions or await self._load_definitions()
        def_id = self._definition_for(state, definitions)
        if def_id is None:
            definitions = await self._load_definitions()
            def_id = self._definition_for(state, definitions)
        if def_id is None and self.settings.fallback_presence is not None:
            def_id = self._definition_for(self.settings.fallback_presence, definitions)
        if def_id is None:
            msg = (
                f"Genesys has no presence definition for '{state}': add it to "
                "presence_definitions or set fallback_presence"
            )
            raise SpokeRejectedError(msg)
        user_id = data.provider_agent_id
        path = f"/api/v2/users/{user_id}/presences/purecloud"
        current = await self.api.call("GET", path)
        theirs = current.get("modifiedDate") if isinstance(current, dict) else None
        if theirs != self._written.get(user_id) and _newer(theirs, data.at):
            return  # someone changed it in Genesys after our change: their word is newer
        answer = await self.api.call("PATCH", path, json={"presenceDefinition": {"id": def_id}})
        if isinstance(answer, dict) and isinstance(answer.get("modifiedDate"), str):
            self._written[user_id] = answer["modifiedDate"]
