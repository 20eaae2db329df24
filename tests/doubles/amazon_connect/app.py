"""The Amazon Connect double: Connect's API paths on 127.0.0.1, and an agent-event relay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniroute.spokes import signing
from tests.doubles.amazon_connect.protocol import ConnectProtocol, ProtocolError
from tests.doubles.amazon_connect.world import (
    INSTANCE_ARN,
    INSTANCE_ID,
    STATUSES,
    Contact,
    User,
    World,
)

Handler = Callable[[World, dict[str, Any]], dict[str, Any]]


@dataclass
class Faults:
    """Answers the next `count` API calls get instead of their own."""

    status: int = 0
    count: int = 0
    retry_after: float | None = None


@dataclass
class Config:
    """Where the relay posts and what it signs with; the access key the API accepts."""

    relay_url: str
    secret: str
    access_key: str
    page_size: int = 2


@dataclass
class Double:
    """The world, the protocol, faults, and the relay's wake-up."""

    config: Config
    world: World
    protocol: ConnectProtocol = field(default_factory=ConnectProtocol)
    faults: Faults = field(default_factory=Faults)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def default_world() -> World:
    """Three agents, three queues, one routing profile."""
    users = {
        uid: User(uid, f"{name}@demo.omniroute.local", name.title(), "Demo")
        for uid, name in (
            ("u-alice", "alice"),
            ("u-bob", "bob"),
            ("u-carol", "carol"),
        )
    }
    queues = {"q-general": "General", "q-billing": "Billing", "q-vip": "VIP"}
    users["u-carol"].proficiencies = {("Technology", "Printers"): 4.0}
    users["u-alice"].voice_auto_accept = True
    world = World(users, queues, {"rp-general": "General"})
    world.media = {"rp-general": {"CHAT": 2, "TASK": 3, "VOICE": 1}}
    world.profile_queues = {"rp-general": ["q-general", "q-billing"]}
    return world


# -- operations ---------------------------------------------------------------------------


def _instance(params: dict[str, Any]) -> None:
    if params["InstanceId"] != INSTANCE_ID:
        raise ProtocolError("ResourceNotFoundException", "instance not found", 404)


def _contact(world: World, contact_id: str) -> Contact:
    contact = world.contacts.get(contact_id)
    if contact is None or contact.state == "ENDED":
        raise ProtocolError("ContactNotFoundException", f"contact {contact_id} not found", 410)
    return contact


def _user(world: World, user_id: str) -> User:
    user = world.users.get(user_id)
    if user is None:
        raise ProtocolError("ResourceNotFoundException", f"user {user_id} not found", 404)
    return user


def start_task(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """StartTaskContact: the task flow puts it in the queue its attributes name."""
    token = params.get("ClientToken")
    if token and token in world.tokens:
        return {"ContactId": world.tokens[token]}
    attributes = dict(params.get("Attributes", {}))
    queue = attributes.get("omniroute_provider_queue_id")
    if queue not in world.queues:
        queue = "q-general"
    contact = Contact(str(uuid.uuid4()), params["Name"], attributes, queue)
    world.contacts[contact.id] = contact
    if token:
        world.tokens[token] = contact.id
    world.route()
    return {"ContactId": contact.id}


def transfer(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """TransferContact: to a user (offered at once) or a queue (routed again)."""
    contact = _contact(world, params["ContactId"])
    answer = {"ContactId": contact.id, "ContactArn": f"{INSTANCE_ARN}/contact/{contact.id}"}
    token = params.get("ClientToken")
    if token and token in world.tokens:
        return answer
    if ("QueueId" in params) == ("UserId" in params):
        raise ProtocolError("InvalidRequestException", "give exactly one of QueueId and UserId")
    if "UserId" in params:
        # Connect queues it in the agent's own queue, which offers it to that agent at once.
        world.set_contact(contact, "CONNECTING", _user(world, params["UserId"]).id, queued=True)
    else:
        if params["QueueId"] not in world.queues:
            raise ProtocolError("ResourceNotFoundException", "queue not found", 404)
        if contact.agent_id is not None:
            contact.declined_by.add(contact.agent_id)
        contact.queue_id = params["QueueId"]
        world.set_contact(contact, "QUEUED", None)
        world.route()
    if token:
        world.tokens[token] = contact.id
    return answer


STOPPABLE_VOICE = ("INBOUND", "OUTBOUND", "CALLBACK", "API")


def stop(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """StopContact: any task; a voice contact unless it came from a transfer or the like."""
    contact = _contact(world, params["ContactId"])
    if contact.channel == "VOICE" and contact.initiation_method not in STOPPABLE_VOICE:
        msg = f"StopContact does not stop {contact.initiation_method} voice contacts"
        raise ProtocolError("InvalidRequestException", msg)
    world.set_contact(contact, "ENDED", None)
    world.route()
    return {}


def update_attributes(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """UpdateContactAttributes; an accepted outcome connects the task (auto-accept)."""
    contact = world.contacts.get(params["InitialContactId"])
    if contact is None:
        raise ProtocolError("ResourceNotFoundException", "contact not found", 404)
    contact.attributes.update(params["Attributes"])
    accepted = params["Attributes"].get("omniroute_offer_outcome") == "accepted"
    # A task is auto-accepted (as the docs ask); a call is answered in the softphone.
    if accepted and contact.state == "CONNECTING" and contact.channel == "TASK":
        world.set_contact(contact, "CONNECTED", contact.agent_id)
    return {}


def put_user_status(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """PutUserStatus: the agent's status changes and the stream says so."""
    user = _user(world, params["UserId"])
    if params["AgentStatusId"] not in STATUSES:
        raise ProtocolError("ResourceNotFoundException", "agent status not found", 404)
    if user.status_id != params["AgentStatusId"]:
        before = world.snapshot(user)
        user.status_id = params["AgentStatusId"]
        world.change(user, "STATE_CHANGE", before)
        world.route()
    return {}


def describe_user(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeUser."""
    user = _user(world, params["UserId"])
    return {
        "User": {
            "Id": user.id,
            "Arn": f"{INSTANCE_ARN}/agent/{user.id}",
            "Username": user.username,
            "IdentityInfo": {
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "Email": user.username,
            },
            "PhoneConfig": {"PhoneType": "SOFT_PHONE", "AutoAccept": user.voice_auto_accept},
            "AutoAcceptConfigs": [
                {"Channel": "TASK", "AutoAccept": True},
                {
                    "Channel": "VOICE",
                    "AutoAccept": user.voice_auto_accept,
                    "AgentFirstCallbackAutoAccept": user.callback_auto_accept,
                },
            ],
            "SecurityProfileIds": ["sp-agent"],
            "RoutingProfileId": user.routing_profile_id,
        }
    }


def describe_contact(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeContact: channel, initiation, the customer's number, queue and attributes."""
    contact = world.contacts.get(params["ContactId"])
    if contact is None:
        raise ProtocolError("ResourceNotFoundException", "contact not found", 404)
    found: dict[str, Any] = {
        "Arn": f"{INSTANCE_ARN}/contact/{contact.id}",
        "Id": contact.id,
        "Channel": contact.channel,
        "InitiationMethod": contact.initiation_method,
        "Attributes": dict(contact.attributes),
    }
    if contact.queue_id:
        found["QueueInfo"] = {
            "Id": contact.queue_id,
            "EnqueueTimestamp": contact.queued_at.timestamp(),
        }
    if contact.customer_number:
        found["CustomerEndpoint"] = {"Type": "TELEPHONE_NUMBER", "Address": contact.customer_number}
    return {"Contact": found}


def _routing_profile(world: World, profile_id: str) -> str:
    if profile_id not in world.routing_profiles:
        raise ProtocolError("ResourceNotFoundException", f"routing profile {profile_id}", 404)
    return profile_id


def describe_routing_profile(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeRoutingProfile: its media concurrency and default outbound queue."""
    rp = _routing_profile(world, params["RoutingProfileId"])
    return {
        "RoutingProfile": {
            "InstanceId": INSTANCE_ID,
            "Name": world.routing_profiles[rp],
            "RoutingProfileArn": f"{INSTANCE_ARN}/routing-profile/{rp}",
            "RoutingProfileId": rp,
            "Description": world.routing_profiles[rp],
            "MediaConcurrencies": [
                {"Channel": channel, "Concurrency": n}
                for channel, n in world.media.get(rp, {}).items()
            ],
            "DefaultOutboundQueueId": world.profile_queues.get(rp, ["q-general"])[0],
            "NumberOfAssociatedQueues": len(world.profile_queues.get(rp, [])),
            "NumberOfAssociatedUsers": sum(
                1 for u in world.users.values() if u.routing_profile_id == rp
            ),
        }
    }


def list_profile_queues(world: World, params: dict[str, Any], size: int) -> dict[str, Any]:
    """ListRoutingProfileQueues: one entry per queue and channel."""
    rp = _routing_profile(world, params["RoutingProfileId"])
    items = [
        {
            "QueueId": q,
            "QueueArn": f"{INSTANCE_ARN}/queue/{q}",
            "QueueName": world.queues[q],
            "Priority": 1,
            "Delay": 0,
            "Channel": channel,
        }
        for q in world.profile_queues.get(rp, [])
        for channel in world.media.get(rp, {})
    ]
    return _page(items, "RoutingProfileQueueConfigSummaryList", params, size)


def list_proficiencies(world: World, params: dict[str, Any], size: int) -> dict[str, Any]:
    """ListUserProficiencies."""
    user = _user(world, params["UserId"])
    items = [
        {"AttributeName": name, "AttributeValue": value, "Level": level}
        for (name, value), level in user.proficiencies.items()
    ]
    return _page(items, "UserProficiencyList", params, size)


def _page(
    items: list[dict[str, Any]], key: str, params: dict[str, Any], size: int
) -> dict[str, Any]:
    start = int(params.get("NextToken") or 0)
    size = min(size, int(params.get("MaxResults") or size))
    answer: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return answer


def lister(kind: str) -> Callable[[World, dict[str, Any], int], dict[str, Any]]:
    """A List operation, paged."""

    def handle(world: World, params: dict[str, Any], size: int) -> dict[str, Any]:
        if kind == "QueueSummaryList":
            items = [
                {"Id": q, "Arn": f"{INSTANCE_ARN}/queue/{q}", "Name": n, "QueueType": "STANDARD"}
                for q, n in world.queues.items()
            ]
        elif kind == "RoutingProfileSummaryList":
            items = [
                {"Id": r, "Arn": f"{INSTANCE_ARN}/routing-profile/{r}", "Name": n}
                for r, n in world.routing_profiles.items()
            ]
        elif kind == "UserSummaryList":
            items = [
                {"Id": u.id, "Arn": f"{INSTANCE_ARN}/agent/{u.id}", "Username": u.username}
                for u in world.users.values()
            ]
        else:
            items = [
                {"Id": s, "Arn": f"{INSTANCE_ARN}/agent-state/{s}", "Name": n, "Type": "CUSTOM"}
                for s, n in STATUSES.items()
            ]
        return _page(items, kind, params, size)

    return handle


OPERATIONS: dict[str, Handler] = {
    "StartTaskContact": start_task,
    "TransferContact": transfer,
    "StopContact": stop,
    "UpdateContactAttributes": update_attributes,
    "PutUserStatus": put_user_status,
    "DescribeUser": describe_user,
    "DescribeContact": describe_contact,
    "DescribeRoutingProfile": describe_routing_profile,
}
PAGED: dict[str, Callable[[World, dict[str, Any], int], dict[str, Any]]] = {
    "ListRoutingProfileQueues": list_profile_queues,
    "ListUserProficiencies": list_proficiencies,
}
LISTS = {
    "ListQueues": "QueueSummaryList",
    "ListRoutingProfiles": "RoutingProfileSummaryList",
    "ListUsers": "UserSummaryList",
    "ListAgentStatuses": "AgentStatusSummaryList",
}


def _error(code: str, message: str, status: int, retry_after: float | None = None) -> Response:
    headers = {"x-amzn-ErrorType": code}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return JSONResponse({"message": message}, status_code=status, headers=headers)


async def connect_api(request: Request) -> Response:
    """Every Connect API call: authenticated, parsed and validated by the model, answered."""
    double: Double = request.app.state.double
    authorization = request.headers.get("authorization", "")
    if f"Credential={double.config.access_key}/" not in authorization:
        return _error("UnrecognizedClientException", "The security token is invalid", 403)
    body = await request.body()
    try:
        operation, labels = double.protocol.match(request.method, request.url.path)
        params = double.protocol.params(operation, labels, parse_qs(request.url.query), body)
    except ProtocolError as err:
        return _error(err.code, err.message, err.status)
    record: dict[str, Any] = {"operation": operation.name, "params": params}
    double.world.calls.append(record)
    faults = double.faults
    if faults.count > 0:
        faults.count -= 1
        record["status"] = faults.status
        if faults.status == 429:
            return _error("ThrottlingException", "Rate exceeded", 429, faults.retry_after)
        return _error("ServiceUnavailableException", "down", faults.status, faults.retry_after)
    try:
        _instance(params)
        if operation.name in LISTS:
            answer = lister(LISTS[operation.name])(double.world, params, double.config.page_size)
        elif operation.name in PAGED:
            answer = PAGED[operation.name](double.world, params, double.config.page_size)
        elif operation.name in OPERATIONS:
            answer = OPERATIONS[operation.name](double.world, params)
        else:
            return _error("InvalidRequestException", f"the double has no {operation.name}", 400)
    except ProtocolError as err:
        record["status"] = err.status
        return _error(err.code, err.message, err.status)
    record["status"] = 200
    double.wake.set()
    return JSONResponse(double.protocol.output(operation, answer))


# -- control ------------------------------------------------------------------------------


async def readyz(_: Request) -> Response:
    """Ready."""
    return JSONResponse({"ok": True})


async def state(request: Request) -> Response:
    """Everything, for assertions."""
    double: Double = request.app.state.double
    world = double.world
    return JSONResponse(
        {
            "contacts": [
                {
                    "id": c.id,
                    "state": c.state,
                    "agent_id": c.agent_id,
                    "queue_id": c.queue_id,
                    "attributes": c.attributes,
                    "channel": c.channel,
                }
                for c in world.contacts.values()
            ],
            "users": {
                u.id: {"status": STATUSES[u.status_id], "logged_in": u.logged_in}
                for u in world.users.values()
            },
            "calls": world.calls,
            "pending_events": len(world.outbox),
        }
    )


async def login(request: Request) -> Response:
    """An agent signs in to the CCP."""
    double: Double = request.app.state.double
    user = double.world.users[request.path_params["user_id"]]
    user.logged_in = True
    double.world.change(user, "LOGIN", None)
    double.wake.set()
    return JSONResponse({"ok": True})


async def agent_status(request: Request) -> Response:
    """An agent picks a status in the CCP."""
    double: Double = request.app.state.double
    user = double.world.users[request.path_params["user_id"]]
    name = (await request.json())["name"]
    before = double.world.snapshot(user)
    user.status_id = next(k for k, v in STATUSES.items() if v == name)
    double.world.change(user, "STATE_CHANGE", before)
    double.world.route()
    double.wake.set()
    return JSONResponse({"ok": True})


async def change_user(request: Request) -> Response:
    """An administrator changes a user in Connect: name, profile concurrency, proficiencies."""
    double: Double = request.app.state.double
    user = double.world.users[request.path_params["user_id"]]
    raw = await request.json()
    user.first_name = raw.get("first_name", user.first_name)
    if "media" in raw:
        double.world.media[user.routing_profile_id] = dict(raw["media"])
    if "proficiencies" in raw:
        user.proficiencies = {
            (p["name"], p["value"]): float(p["level"]) for p in raw["proficiencies"]
        }
    return JSONResponse({"ok": True})


async def call_in(request: Request) -> Response:
    """A customer calls (or asks for a queued callback); the flow has set its attributes."""
    double: Double = request.app.state.double
    raw = await request.json()
    queue = raw.get("queue_id", "q-general")
    contact = Contact(
        str(uuid.uuid4()),
        "call",
        dict(raw.get("attributes", {})),
        queue,
        channel="VOICE",
        initiation_method="CALLBACK" if raw.get("callback") else "INBOUND",
        customer_number=raw["from"],
    )
    double.world.contacts[contact.id] = contact
    double.world.route()
    double.wake.set()
    return JSONResponse({"contact_id": contact.id}, status_code=201)


async def softphone(request: Request) -> Response:
    """The softphone: answer, hold, resume; a cold transfer to a user; the customer hangs up."""
    double: Double = request.app.state.double
    world = double.world
    contact = world.contacts[request.path_params["contact_id"]]
    raw = await request.json()
    action = raw["action"]
    answer: dict[str, Any] = {"ok": True}
    if action == "transfer":
        # Connect makes a new contact for the transfer; the agent's own leg ends.
        moved = Contact(
            str(uuid.uuid4()),
            contact.name,
            dict(contact.attributes),
            contact.queue_id,
            channel=contact.channel,
            initiation_method="TRANSFER",
            customer_number=contact.customer_number,
            initial_id=contact.initial_id or contact.id,
        )
        world.contacts[moved.id] = moved
        world.set_contact(contact, "ENDED", None)
        target = _user(world, raw["user_id"])
        world.set_contact(moved, "CONNECTING", target.id, queued=True)
        if target.auto_accepts(moved):
            world.set_contact(moved, "CONNECTED", target.id)
        answer["contact_id"] = moved.id
    elif action == "hangup":
        world.set_contact(contact, "ENDED", None)
        world.route()
    else:
        states = {"answer": "CONNECTED", "hold": "CONNECTED_ONHOLD", "resume": "CONNECTED"}
        world.set_contact(contact, states[action], contact.agent_id)
    double.wake.set()
    return JSONResponse(answer)


async def set_faults(request: Request) -> Response:
    """The next `count` API calls answer `status` (429 throttling or 5xx)."""
    double: Double = request.app.state.double
    raw = await request.json()
    double.faults = Faults(raw.get("status", 0), raw.get("count", 0), raw.get("retry_after"))
    return JSONResponse({"ok": True})


# -- the relay ----------------------------------------------------------------------------


async def relay(double: Double) -> None:
    """Post each agent event to Omniroute in order, signed, retrying until it is taken."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        while True:
            if not double.world.outbox:
                double.wake.clear()
                await double.wake.wait()
                continue
            record = double.world.outbox[0]
            body = json.dumps(record).encode()
            headers = signing.sign(double.config.secret, body) | {
                "Content-Type": "application/json"
            }
            try:
                response = await client.post(double.config.relay_url, content=body, headers=headers)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code < 500:
                double.world.outbox.pop(0)
            else:
                # Omniroute is busy or restarting: the relay waits for it, keeping the order.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.Event().wait(), 0.2)


def build_app(config: Config, world: World | None = None) -> Starlette:
    """The double's ASGI app."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        double = Double(config, world or default_world())
        app.state.double = double
        task = asyncio.create_task(relay(double))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    routes = [
        Route("/readyz", readyz),
        Route("/_double/state", state),
        Route("/_double/agents/{user_id}/login", login, methods=["POST"]),
        Route("/_double/agents/{user_id}/status", agent_status, methods=["POST"]),
        Route("/_double/agents/{user_id}/profile", change_user, methods=["POST"]),
        Route("/_double/faults", set_faults, methods=["POST"]),
        Route("/_double/calls", call_in, methods=["POST"]),
        Route("/_double/contacts/{contact_id}/softphone", softphone, methods=["POST"]),
        Route("/{path:path}", connect_api, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
