"""The double's calls and callbacks: conversations, participants and their notifications."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.doubles.genesys import shapes
from tests.doubles.genesys.org import TOPICS, Item, Org, now_iso, topic_legs


def _ref(kind: str, ref_id: str) -> dict[str, str]:
    return {"id": ref_id, "selfUri": f"/api/v2/{kind}/{ref_id}"}


def _leg(purpose: str, state: str, **fields: Any) -> dict[str, Any]:
    leg = {
        "id": f"gc-part-{uuid.uuid4().hex[:12]}",
        "purpose": purpose,
        "state": state,
        "startTime": now_iso(),
    }
    if state == "connected":
        leg["connectedTime"] = leg["startTime"]
    return leg | fields


def _end(leg: dict[str, Any], disconnect_type: str = "client") -> None:
    if leg["state"] != "disconnected":
        leg["state"] = "disconnected"
        leg["endTime"] = now_iso()
        leg["disconnectType"] = disconnect_type


class Voice:
    """Calls and callbacks of the double's organization, beside its message conversations."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.unanswered: dict[str, int] = {}  # number -> dials left that ring out
        self.dials: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    # -- arrivals ----------------------------------------------------------------------

    async def incoming(self, http: httpx.AsyncClient, ani: str, queue_id: str) -> dict[str, str]:
        """A customer calls; the inbound call flow makes Omniroute's interaction and queues it.

        The flow's data action creates the interaction without a queue (Genesys routes the
        call) and keeps its id as participant data, as Set Participant Data would.
        """
        conversation_id = str(uuid.uuid4())
        omniroute = self.org.omniroute
        response = await http.post(
            f"{omniroute.url}/api/v1/interactions",
            json={"channel_id": "voice", "customer_name": ani, "external_id": conversation_id},
            headers={"Authorization": f"Bearer {omniroute.token}"},
        )
        response.raise_for_status()
        document_id = str(response.json()["id"])
        attributes = {"omnirouteDocumentId": document_id}
        customer = _leg(
            "customer",
            "connected",
            direction="inbound",
            ani=f"tel:{ani}",
            dnis="tel:+18005550100",
            address=f"tel:{ani}",
            attributes=attributes,
        )
        acd = _leg("acd", "alerting", queue=_ref("routing/queues", queue_id))
        self._add(conversation_id, "call", [customer, acd], attributes)
        self._queue(conversation_id, queue_id)
        return {"conversation_id": conversation_id, "document_id": document_id}

    def create_callback(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/v2/conversations/callbacks: a callback waiting in its queue."""
        conversation_id = str(uuid.uuid4())
        queue_id = str(body["queueId"])
        attributes = dict(body.get("data") or {})
        customer = _leg(
            "customer",
            "connected",
            direction="outbound",
            callbackNumbers=list(body["callbackNumbers"]),
            attributes=attributes,
        )
        if body.get("callbackUserName"):
            customer["callbackUserName"] = body["callbackUserName"]
        acd = _leg("acd", "alerting", queue=_ref("routing/queues", queue_id))
        conversation = self._add(conversation_id, "callback", [customer, acd], attributes)
        conversation["calls"] = []
        self._queue(conversation_id, queue_id)
        return {
            "conversation": {
                "id": conversation_id,
                "selfUri": f"/api/v2/conversations/{conversation_id}",
            },
            "callbackIdentifiers": [{"type": "EXTERNAL", "id": conversation_id}],
        }

    def _add(
        self,
        conversation_id: str,
        media: str,
        legs: list[dict[str, Any]],
        attributes: dict[str, Any],
    ) -> dict[str, Any]:
        conversation = {
            "id": conversation_id,
            "media": media,
            "participants": legs,
            "attributes": attributes,
            "state": "connected",
        }
        self.org.conversations[conversation_id] = conversation
        return conversation

    def _queue(self, conversation_id: str, queue_id: str) -> None:
        seq = next(self.org.seq)
        self.org.items.append(Item(conversation_id, queue_id, "new", seq))
        self.org.wake.set()

    # -- what the agent's side asks --------------------------------------------------------

    def legs(self, conversation_id: str, media: str) -> list[dict[str, Any]] | None:
        """The call legs (`calls`) or callback legs (`callbacks`) of a conversation."""
        conversation = self.org.conversations.get(conversation_id) or {}
        kind = conversation.get("media")
        if (kind, media) in (("call", "calls"), ("callback", "callbacks")):
            key = "participants"
        elif (kind, media) == ("callback", "calls"):
            key = "calls"  # the calls an agent placed in a callback conversation
        else:
            return None
        legs: list[dict[str, Any]] = conversation[key]
        return legs

    def patch(self, conversation_id: str, leg: dict[str, Any], body: dict[str, Any]) -> None:
        """A MediaParticipantRequest: answer, decline, hold, mute, hang up, wrap up."""
        was = leg["state"]
        for flag in ("held", "muted"):
            if flag in body and was == "connected":
                leg[flag] = bool(body[flag])
        if body.get("state") == "disconnected" and was == "connected":
            self._hang_up(conversation_id, leg)
        self.org.patch_participant(conversation_id, leg, body)
        if "wrapup" in body and was == "disconnected":
            self.org.record_wrap_up(conversation_id, leg)
        self.notify(conversation_id)

    def _hang_up(self, conversation_id: str, leg: dict[str, Any]) -> None:
        """The agent leaves a two-party call: the customer's leg ends with it."""
        legs = self.legs(conversation_id, "calls") or []
        if leg in legs and leg["purpose"] == "agent":
            for other in legs:
                if other["purpose"] in ("customer", "external"):
                    _end(other, "peer")

    def replace(self, conversation_id: str, leg: dict[str, Any], body: dict[str, Any]) -> None:
        """A TransferRequest: to an address (a cold transfer) or to a user or queue (routed)."""
        if body.get("address"):
            _end(leg, "transfer")
            legs = self.legs(conversation_id, "calls")
            assert legs is not None
            legs.append(_leg("external", "connected", address=f"tel:{body['address']}"))
            self.notify(conversation_id)
            return
        self.org.replace(conversation_id, leg, body)

    def place_call(self, conversation_id: str, number: str) -> bool:
        """A CallCommand in a callback conversation: the agent calls the customer."""
        conversation = self.org.conversations.get(conversation_id)
        if conversation is None or conversation.get("media") != "callback":
            return False
        agent = next(
            (
                p
                for p in conversation["participants"]
                if p["purpose"] == "agent" and p["state"] == "connected"
            ),
            None,
        )
        if agent is None:
            return False
        attributes = conversation["attributes"]
        mine = _leg("agent", "connected", direction="outbound", user=dict(agent["user"]))
        customer = _leg(
            "customer",
            "contacting",
            direction="outbound",
            dnis=f"tel:{number}",
            attributes=attributes,
        )
        conversation["calls"].extend([mine, customer])
        self.notify(conversation_id)
        rings_out = self.unanswered.get(number, 0) > 0
        self.dials.append(
            {"conversation_id": conversation_id, "number": number, "answered": not rings_out}
        )
        if rings_out:
            self.unanswered[number] -= 1
            _end(customer, "error")
            _end(mine, "peer")
        else:
            customer["state"] = "connected"
            customer["connectedTime"] = now_iso()
        self.notify(conversation_id)
        return True

    # -- views and notifications -------------------------------------------------------

    def view(self, conversation_id: str, media: str) -> dict[str, Any]:
        """GET /api/v2/conversations/{calls|callbacks}/{id}: the topics' settings left out."""
        legs = self.legs(conversation_id, media) or []
        shown = [{k: v for k, v in p.items() if k != "queueMediaSettings"} for p in legs]
        return {"id": conversation_id, "participants": shown}

    def notify(self, conversation_id: str) -> None:
        """Each agent of the conversation hears of it on its calls or callbacks topic."""
        conversation = self.org.conversations[conversation_id]
        kinds = ["call"]
        if conversation["media"] == "callback" and not conversation["calls"]:
            kinds = ["callback"]  # once the agent dialled, the call is what changes
        for kind in kinds:
            media, model = TOPICS[kind]
            legs = self.legs(conversation_id, media) or []
            body = {"id": conversation_id, "participants": topic_legs(legs)}
            self.org.violations.extend(f"notification {p}" for p in shapes.problems(model, body))
            users = dict.fromkeys(
                p["user"]["id"] for p in legs if p["purpose"] == "agent" and "user" in p
            )
            for user in users:
                note = self.org.notification(f"v2.users.{user}.conversations.{media}", body)
                self.outbox.put_nowait(note)

    async def send(self, http: httpx.AsyncClient) -> None:
        """Post queued notifications to Omniroute in order, as Genesys' relay does."""
        omniroute = self.org.omniroute
        while True:
            note = await self.outbox.get()
            try:
                response = await http.post(
                    f"{omniroute.url}/api/v1/spokes/{omniroute.spoke}/events",
                    json=note,
                    headers={"X-Omniroute-Secret": omniroute.secret},
                )
                answer: Any = response.json() if response.content else {}
                self.answers.append(
                    {"topic": note["topicName"], "status": response.status_code, "answer": answer}
                )
            except httpx.HTTPError as err:
                self.answers.append({"topic": note["topicName"], "error": type(err).__name__})
            finally:
                self.outbox.task_done()

    def state(self) -> dict[str, Any]:
        """What tests assert on."""
        return {"dials": self.dials, "voice_answers": self.answers}
