"""The double's live state and its routing: conversations, alerts and Work Offer calls."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.doubles.genesys import shapes, world

OFFER_TIMEOUT_S = 4
AGENT_ERRORS = frozenset({"AGENT_NOT_AVAILABLE", "AGENT_AT_CAPACITY", "AGENT_NOT_ALLOWED_EXTERNAL"})


TOPICS = {
    "message": ("messages", "ConversationMessageEventTopicMessageConversation"),
    "call": ("calls", "ConversationCallEventTopicCallConversation"),
    "callback": ("callbacks", "ConversationCallbackEventTopicCallbackConversation"),
}
# What a participant keeps that the notification topics do not carry.
NOT_IN_TOPICS = ("startAlertingTime", "selfUri", "wrapup")


def topic_legs(legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Participants as a notification topic shows them: references by id only."""
    shown = []
    for leg in legs:
        item = {k: v for k, v in leg.items() if k not in NOT_IN_TOPICS}
        for ref in ("user", "queue"):
            if ref in item:
                item[ref] = {"id": item[ref]["id"]}
        shown.append(item)
    return shown


def now_iso() -> str:
    """The current UTC time as Genesys writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Omniroute:
    """Where the double reaches Omniroute, as a Genesys data action and notification would."""

    url: str
    token: str
    spoke: str
    secret: str


@dataclass
class Item:
    """Work Genesys is routing: a new conversation or a transfer (replace)."""

    conversation_id: str
    queue_id: str | None
    kind: str  # new, transfer_agent, transfer_queue
    seq: int
    target_user_id: str | None = None
    from_participant_id: str | None = None
    declined: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    alerting: str | None = None  # participant id being offered


class Org:
    """One Genesys organization as the double plays it."""

    def __init__(self, omniroute: Omniroute) -> None:
        self.omniroute = omniroute
        self.users = {u["id"]: u for u in world.users()}
        self.presence = dict.fromkeys(self.users, world.PRESENCE_IDS["Offline"])
        self.presence_modified = dict.fromkeys(self.users, world.CREATED)
        self.user_skills = world.user_skills()
        self.utilization = world.user_utilization()
        self.conversations: dict[str, dict[str, Any]] = {}
        self.by_message: dict[str, str] = {}
        self.by_sender: dict[str, str] = {}
        self.items: list[Item] = []
        self.wrap_ups: list[dict[str, Any]] = []
        self.offers: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self.seq = itertools.count(1)
        self.wake = asyncio.Event()
        self.alerts_via = "work_offer_api"  # or "notifications"
        self.violations: list[str] = []

    # -- conversations -----------------------------------------------------------------

    def inbound_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """An Open Messaging inbound message: a new conversation, or one more message in it."""
        channel = body["channel"]
        message_id = str(channel["messageId"])
        sender = str(channel["from"]["id"])
        attributes = body.get("metadata") or {}
        conversation_id = self.by_message.get(message_id) or self.by_sender.get(sender)
        if conversation_id is None:
            conversation_id = f"gc-conv-{uuid.uuid4().hex[:12]}"
            queue_id = attributes.get("genesysQueueId") or None
            customer = self._participant("customer", "connected", queue_id=None)
            # What the inbound message flow's Set Participant Data leaves on the customer.
            document_id = attributes.get("omnirouteDocumentId")
            if document_id:
                customer["attributes"] = {"omnirouteDocumentId": str(document_id)}
            acd = self._participant("acd", "alerting", queue_id=queue_id)
            self.conversations[conversation_id] = {
                "id": conversation_id,
                "participants": [customer, acd],
                "attributes": dict(attributes),
                "state": "connected",
            }
            self.by_sender[sender] = conversation_id
            self.items.append(
                Item(conversation_id, queue_id, "new", next(self.seq), from_participant_id=None)
            )
        if message_id not in self.by_message:
            self.messages.append(message_id)
        self.by_message[message_id] = conversation_id
        self.wake.set()
        return {
            "id": f"gc-msg-{message_id}",
            "channel": {
                "messageId": message_id,
                "from": channel["from"],
                "time": channel["time"],
            },
            "type": "Text",
            "text": body.get("text", ""),
            "conversationId": conversation_id,
        }

    @staticmethod
    def _participant(
        purpose: str, state: str, *, queue_id: str | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        participant: dict[str, Any] = {
            "id": f"gc-part-{uuid.uuid4().hex[:12]}",
            "purpose": purpose,
            "state": state,
            "startTime": now_iso(),
        }
        if queue_id:
            participant["queue"] = {"id": queue_id, "selfUri": f"/api/v2/routing/queues/{queue_id}"}
        if user_id:
            participant["user"] = {"id": user_id, "selfUri": f"/api/v2/users/{user_id}"}
        return participant

    def conversation_view(self, conversation_id: str) -> dict[str, Any]:
        """GET /api/v2/conversations/messages/{id} as a MessageConversation."""
        conversation = self.conversations[conversation_id]
        return {
            "id": conversation_id,
            "participants": [dict(p) for p in conversation["participants"]],
            "selfUri": f"/api/v2/conversations/messages/{conversation_id}",
        }

    def participant(self, conversation_id: str, participant_id: str) -> dict[str, Any] | None:
        """One participant of a conversation."""
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return None
        legs = conversation["participants"] + conversation.get("calls", [])
        return next((p for p in legs if p["id"] == participant_id), None)

    def _item_alerting(self, participant_id: str) -> Item | None:
        return next((i for i in self.items if i.alerting == participant_id), None)

    def patch_participant(
        self, conversation_id: str, participant: dict[str, Any], body: dict[str, Any]
    ) -> None:
        """Answer, decline or disconnect a participant; a wrap-up is recorded."""
        state = body.get("state")
        if "wrapup" in body:
            participant["wrapup"] = body["wrapup"]
        if state == "connected" and participant["state"] == "alerting":
            self._connect(conversation_id, participant)
        elif state == "disconnected" and participant["state"] != "disconnected":
            was = participant["state"]
            participant["state"] = "disconnected"
            participant["endTime"] = now_iso()
            if was == "alerting":
                self._declined(conversation_id, participant)
            elif "wrapup" in body:
                self.record_wrap_up(conversation_id, participant)
        self.wake.set()

    def _connect(self, conversation_id: str, participant: dict[str, Any]) -> None:
        participant["state"] = "connected"
        participant["connectedTime"] = now_iso()
        item = self._item_alerting(participant["id"])
        if item is not None:
            self.items.remove(item)
        for other in self.conversations[conversation_id]["participants"]:
            if other is participant or other["state"] == "disconnected":
                continue
            replaced = item is not None and other["id"] == item.from_participant_id
            if other["purpose"] == "acd" or replaced:
                other["state"] = "disconnected"
                other["endTime"] = now_iso()
                if replaced:
                    other["disconnectType"] = "transfer"

    def _declined(self, conversation_id: str, participant: dict[str, Any]) -> None:
        if participant["purpose"] == "acd":
            # The queue leg of a transfer went away: the transfer is cancelled.
            for queued in [i for i in self.items if i.conversation_id == conversation_id]:
                if queued.kind == "transfer_queue":
                    self._drop(queued)
            return
        item = self._item_alerting(participant["id"])
        if item is None:
            return
        item.alerting = None
        user = (participant.get("user") or {}).get("id")
        if user:
            item.declined.append(user)
        if item.kind == "transfer_agent":
            self._drop(item)

    def _drop(self, item: Item) -> None:
        if item in self.items:
            self.items.remove(item)
        if item.alerting is not None:
            leg = self.participant(item.conversation_id, item.alerting)
            if leg is not None and leg["state"] == "alerting":
                leg["state"] = "disconnected"

    def record_wrap_up(self, conversation_id: str, participant: dict[str, Any]) -> None:
        wrapup = participant.get("wrapup") or {}
        self.wrap_ups.append(
            {
                "conversation_id": conversation_id,
                "document_id": self.conversations[conversation_id]["attributes"].get(
                    "omnirouteDocumentId"
                ),
                "user_id": (participant.get("user") or {}).get("id"),
                "code": wrapup.get("code"),
                "name": wrapup.get("name"),
                "notes": wrapup.get("notes"),
            }
        )

    def disconnect(self, conversation_id: str) -> None:
        """End the whole conversation."""
        conversation = self.conversations[conversation_id]
        conversation["state"] = "disconnected"
        for participant in conversation["participants"]:
            if participant["state"] != "disconnected":
                participant["state"] = "disconnected"
                participant["endTime"] = now_iso()
        for item in [i for i in self.items if i.conversation_id == conversation_id]:
            self.items.remove(item)

    def replace(self, conversation_id: str, holder: dict[str, Any], body: dict[str, Any]) -> None:
        """A blind transfer of the holder's leg to a user or a queue."""
        user_id, queue_id = body.get("userId"), body.get("queueId")
        kind = "transfer_agent" if user_id else "transfer_queue"
        item = Item(
            conversation_id,
            queue_id,
            kind,
            next(self.seq),
            target_user_id=user_id,
            from_participant_id=holder["id"],
        )
        if queue_id:
            leg = self._participant("acd", "alerting", queue_id=queue_id)
            self.conversations[conversation_id]["participants"].append(leg)
        self.items.append(item)
        self.wake.set()

    # -- routing -----------------------------------------------------------------------

    def _load(self, user_id: str) -> int:
        count = 0
        for conversation in self.conversations.values():
            for p in conversation["participants"]:
                busy = p["state"] in ("alerting", "connected")
                if busy and p["purpose"] == "agent" and (p.get("user") or {}).get("id") == user_id:
                    count += 1
        return count

    def _members(self, queue_id: str | None) -> set[str]:
        return world.QUEUE_MEMBERS.get(queue_id or "", set(self.users))

    def _holder_user(self, item: Item) -> str | None:
        if item.from_participant_id is None:
            return None
        holder = self.participant(item.conversation_id, item.from_participant_id)
        return (holder.get("user") or {}).get("id") if holder else None

    def _choose(self, item: Item) -> str | None:
        on_queue = world.PRESENCE_IDS[world.ON_QUEUE]
        excluded = item.skipped | {self._holder_user(item)}
        candidates: list[str] = [
            u
            for u in sorted(self.users)
            if self.presence[u] == on_queue
            and u not in excluded
            and self._load(u) < 3
            and (item.target_user_id is None or u == item.target_user_id)
            and (item.target_user_id is not None or u in self._members(item.queue_id))
        ]
        fresh = [u for u in candidates if u not in item.declined]
        if fresh:
            return fresh[0]
        # Everyone declined: start over with whoever declined longest ago.
        return next((u for u in item.declined if u in candidates), None)

    async def route(self, http: httpx.AsyncClient) -> None:
        """Alert an agent for each waiting item and tell Omniroute through its Work Offer API."""
        for item in sorted(self.items, key=lambda i: i.seq):
            if item.alerting is not None or item not in self.items:
                continue
            user_id = self._choose(item)
            if user_id is None:
                continue
            leg = self._participant("agent", "alerting", user_id=user_id, queue_id=item.queue_id)
            leg["startAlertingTime"] = now_iso()
            leg["alertingTimeoutMs"] = OFFER_TIMEOUT_S * 1000
            conversation = self.conversations[item.conversation_id]
            voice = conversation.get("media", "message") != "message"
            if voice:
                # A queue's call and callback media settings: auto-answer or the agent's click.
                leg["direction"] = "inbound"
                leg["queueMediaSettings"] = {
                    "enableAutoAnswer": item.queue_id in world.AUTO_ANSWER_QUEUES,
                    "alertingTimeoutSeconds": OFFER_TIMEOUT_S,
                }
            conversation["participants"].append(leg)
            item.alerting = leg["id"]
            if self.alerts_via == "notifications" or voice:
                await self._notify_alert(http, item, leg, user_id)
            else:
                await self._work_offer(http, item, leg, user_id)

    def alert_notification(self, conversation_id: str, user_id: str) -> dict[str, Any]:
        """The v2.users.{id}.conversations.{messages|calls|callbacks} notification of an alert."""
        conversation = self.conversations[conversation_id]
        topic, model = TOPICS[conversation.get("media", "message")]
        body = {"id": conversation_id, "participants": topic_legs(conversation["participants"])}
        self.violations.extend(f"notification {p}" for p in shapes.problems(model, body))
        return self.notification(f"v2.users.{user_id}.conversations.{topic}", body)

    async def _notify_alert(
        self, http: httpx.AsyncClient, item: Item, leg: dict[str, Any], user_id: str
    ) -> None:
        note = self.alert_notification(item.conversation_id, user_id)
        record: dict[str, Any] = {
            "user_id": user_id,
            "participant_id": leg["id"],
            "kind": item.kind,
        }
        self.offers.append(record)
        try:
            response = await http.post(
                f"{self.omniroute.url}/api/v1/spokes/{self.omniroute.spoke}/events",
                json=note,
                headers={"X-Omniroute-Secret": self.omniroute.secret},
            )
            answer = response.json() if response.content else {}
            status = response.status_code
        except httpx.HTTPError as err:
            status, answer = 0, {"error": {"code": type(err).__name__}}
        outcomes = answer.get("events") or [{}]
        outcome = outcomes[0]
        code = (outcome.get("error") or answer.get("error") or {}).get("code")
        record |= {
            "status": status,
            "via": "notification",
            "outcome": outcome.get("outcome"),
            "error_code": code,
            "offer_id": outcome.get("offer_id"),
        }
        if outcome.get("outcome") == "refused" and code in AGENT_ERRORS:
            # Omniroute tells the spoke, which declines this alert; route elsewhere then.
            item.skipped.add(user_id)
        elif status != 200:
            leg["state"] = "disconnected"
            item.alerting = None

    async def _work_offer(
        self, http: httpx.AsyncClient, item: Item, leg: dict[str, Any], user_id: str
    ) -> None:
        conversation = self.conversations[item.conversation_id]
        body = {
            "spoke": self.omniroute.spoke,
            "document_id": conversation["attributes"].get("omnirouteDocumentId"),
            "provider_agent_id": user_id,
            "timeout": OFFER_TIMEOUT_S,
            "allowed_to_decline": True,
            "offered_at": datetime.now(UTC).isoformat(),
            "external_segment_id": leg["id"],
        }
        record: dict[str, Any] = {
            "user_id": user_id,
            "participant_id": leg["id"],
            "kind": item.kind,
        }
        self.offers.append(record)
        try:
            response = await http.post(
                f"{self.omniroute.url}/api/v1/work-offers",
                json=body,
                headers={
                    "Authorization": f"Bearer {self.omniroute.token}",
                    "Idempotency-Key": f"gc-offer-{leg['id']}",
                },
            )
            status = response.status_code
            answer = response.json() if response.content else {}
        except httpx.HTTPError as err:
            status, answer = 0, {"error": {"code": type(err).__name__}}
        code = (answer.get("error") or {}).get("code")
        record |= {"status": status, "error_code": code, "offer_id": answer.get("id")}
        if status in (200, 201):
            return
        if leg["state"] == "alerting":
            leg["state"] = "disconnected"
        item.alerting = None
        if code in AGENT_ERRORS or code == "NOT_FOUND":
            item.skipped.add(user_id)
        elif status and status < 500:
            self._drop(item)

    def set_presence(self, user_id: str, definition_id: str) -> None:
        """A user's presence changed, through the API or the Genesys client."""
        self.presence[user_id] = definition_id
        self.presence_modified[user_id] = now_iso()
        self.forget_skips(user_id)

    def forget_skips(self, user_id: str) -> None:
        """News about a user: offer it the items it was skipped for."""
        for item in self.items:
            item.skipped.discard(user_id)
        self.wake.set()

    # -- presence and sign-in ----------------------------------------------------------

    def notification(self, topic: str, body: dict[str, Any]) -> dict[str, Any]:
        """A Genesys notification as our inbound endpoint receives it."""
        note = {
            "topicName": topic,
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": str(uuid.uuid4())},
        }
        self.notifications.append(note)
        return note

    def presence_body(self, user_id: str) -> dict[str, Any]:
        """A UserPresence as the v2.users.{id}.presence topic carries it."""
        def_id = self.presence[user_id]
        system = next(k for k, v in world.PRESENCE_IDS.items() if v == def_id)
        return {
            "source": "PURECLOUD",
            "primary": True,
            "presenceDefinition": {"id": def_id, "systemPresence": system},
            "message": "",
            "modifiedDate": self.presence_modified[user_id],
        }

    def state(self) -> dict[str, Any]:
        """What tests assert on."""
        names = {v: k for k, v in world.PRESENCE_IDS.items()}
        return {
            "presence": {u: names[d] for u, d in self.presence.items()},
            "conversations": {
                cid: self.conversation_view(cid)
                | {
                    "attributes": c["attributes"],
                    "state": c["state"],
                    "media": c.get("media", "message"),
                    "calls": c.get("calls", []),
                }
                for cid, c in self.conversations.items()
            },
            "items": [
                {
                    "conversation_id": i.conversation_id,
                    "kind": i.kind,
                    "queue_id": i.queue_id,
                    "alerting": i.alerting,
                    "declined": i.declined,
                }
                for i in self.items
            ],
            "wrap_ups": self.wrap_ups,
            "offers": self.offers,
            "messages": self.messages,
            "notifications": self.notifications,
        }
