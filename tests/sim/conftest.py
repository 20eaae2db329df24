"""A simulator app per test, wired to a fake Omniroute, both on in-process ASGI transports."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from omniroute.sim.app import create_app
from omniroute.sim.core import Config, Platform
from omniroute.sim.world import SimAgent, SimQueue, SimSettings, SimSkill, SimWrapUpCode, World
from omniroute.spokes.signing import sign
from omniroute.spokes.webhook.settings import WebhookSettings
from omniroute.spokes.webhook.spoke import WebhookSpoke

SECRET = "sim-test-secret-0123456789abcdefghij"
TOKEN = "sim-test-token"
SPOKE = "sim"
OMNIROUTE = "http://omniroute.test"

Reply = tuple[int, dict[str, Any]]


def error(code: str, status: int = 409, field: str | None = None) -> Reply:
    """An Omniroute error response."""
    return status, {"error": {"code": code, "message": code.lower(), "field": field}}


@dataclass
class FakeOmniroute:
    """Records Work Offer calls and inbound events; answers with scripted replies."""

    offers: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    # Per provider agent id, replies to give before the default 201.
    scripted: dict[str, list[Reply]] = field(default_factory=dict)
    event_replies: list[Reply] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    on_offer: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def work_offer(self, request: Request) -> JSONResponse:
        """The fake POST /api/v1/work-offers."""
        body = json.loads(await request.body())
        self.offers.append({"headers": dict(request.headers), "body": body})
        if self.on_offer is not None:
            await self.on_offer(body)
        script = self.scripted.get(body["provider_agent_id"])
        if script:
            status, payload = script.pop(0)
            return JSONResponse(payload, status)
        key = request.headers["idempotency-key"]
        replayed = key in self.by_key
        offer_id = self.by_key.setdefault(key, uuid.uuid4().hex)
        payload = {
            "offer_id": offer_id,
            "work_item_id": body["work_item_id"],
            "agent_id": body["provider_agent_id"].removeprefix("sim-"),
            "state": "pending",
            "external_segment_id": body["external_segment_id"],
            "replayed": replayed,
        }
        return JSONResponse(payload, 200 if replayed else 201)

    async def inbound(self, request: Request) -> JSONResponse:
        """The fake POST /api/v1/spokes/{name}/events, signature checked."""
        raw = await request.body()
        # Omniroute's own parser: the signature and the inbound schema are checked for real.
        [parsed] = webhook_spoke().parse_inbound(dict(request.headers), raw)
        envelope = json.loads(raw)
        assert parsed.id == envelope["id"]
        self.events.append({"spoke": request.path_params["name"], "envelope": envelope})
        if self.event_replies:
            status, payload = self.event_replies.pop(0)
            return JSONResponse(payload, status)
        outcome = "linked" if envelope["type"] == "agent_signed_in" else "applied"
        reply = {"id": envelope["id"], "outcome": outcome, "agent_id": "our-agent"}
        return JSONResponse({"events": [reply]})

    def app(self) -> Starlette:
        """The fake as an ASGI app."""
        return Starlette(
            routes=[
                Route("/api/v1/work-offers", self.work_offer, methods=["POST"]),
                Route("/api/v1/spokes/{name}/events", self.inbound, methods=["POST"]),
            ]
        )


@dataclass
class Sim:
    """A simulator under test, its fake Omniroute and the sleeps it asked for."""

    client: httpx.AsyncClient
    app: FastAPI
    fake: FakeOmniroute
    sleeps: list[float]

    @property
    def platform(self) -> Platform:
        """The simulator's platform."""
        platform: Platform = self.app.state.platform
        return platform

    async def post_event(
        self, event_type: str, data: dict[str, Any], **envelope: Any
    ) -> httpx.Response:
        """POST a signed webhook envelope."""
        body = json.dumps(make_envelope(event_type, data, **envelope)).encode()
        headers = sign(SECRET, body) | {"Content-Type": "application/json"}
        return await self.client.post("/webhook", content=body, headers=headers)

    async def state(self) -> dict[str, Any]:
        """GET /sim/state after every offer in flight has finished."""
        response = await self.client.get("/sim/state", params={"settle": "true"})
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        assert data["settled"] is True
        return data

    async def agent(self, provider_id: str) -> dict[str, Any]:
        """One agent from the settled state."""
        agents: dict[str, dict[str, Any]] = {a["id"]: a for a in (await self.state())["agents"]}
        return agents[provider_id]

    async def item(self, work_item_id: str) -> dict[str, Any] | None:
        """One live item from the settled state."""
        items = {i["work_item_id"]: i for i in (await self.state())["items"]}
        return items.get(work_item_id)


def webhook_spoke(
    url: str = "http://sim.test/webhook", catalog_url: str | None = None
) -> WebhookSpoke:
    """Omniroute's webhook spoke configured for the simulator under test."""
    settings = WebhookSettings.model_validate(
        {"url": url, "secret": SECRET, "catalog_url": catalog_url}
    )
    return WebhookSpoke(SPOKE, settings)


def make_envelope(event_type: str, data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A webhook envelope as Omniroute's webhook spoke sends it."""
    return {
        "schema_version": 1,
        "id": fields.pop("id", uuid.uuid4().hex),
        "type": event_type,
        "spoke": SPOKE,
        "ordering_key": fields.pop("ordering_key", data.get("document_id", "k")),
        "created_at": datetime.now(UTC).isoformat(),
        "attempt": fields.pop("attempt", 1),
        "data": data,
        **fields,
    }


def new_interaction(
    work_item_id: str, queue: str = "q-general", document_id: str | None = None, priority: int = 0
) -> dict[str, Any]:
    """The data of a new_interaction event."""
    return {
        "work_item_id": work_item_id,
        "document_type": "interaction",
        "document_id": document_id or f"doc-{work_item_id}",
        "channel_id": "chat",
        "queue_id": "our-queue",
        "provider_queue_id": queue,
        "priority": priority,
        "skills": [],
        "previous_work_item_id": None,
        "created_at": datetime.now(UTC).isoformat(),
        "customer": {},
    }


def outcome(
    work_item_id: str,
    agent: str,
    result: str,
    document_id: str | None = None,
    *,
    reassignable: bool | None = None,
) -> dict[str, Any]:
    """The data of an offer_outcome event."""
    return {
        "work_item_id": work_item_id,
        "document_id": document_id or f"doc-{work_item_id}",
        "provider_queue_id": None,
        "offer_id": "o1",
        "external_segment_id": None,
        "outcome": result,
        "reject_reason_id": None,
        "reassignable": reassignable,
        "note": None,
        "at": datetime.now(UTC).isoformat(),
        "agent_id": None,
        "provider_agent_id": agent,
    }


def make_world(agents: int = 3, **settings: Any) -> World:
    """Three linked agents, all on queue, each with capacity one."""
    return World(
        skills=[SimSkill(id="s-billing", name="Billing"), SimSkill(id="s-tech", name="Tech")],
        queues=[
            SimQueue(id="q-general", name="General", channels=["chat"]),
            SimQueue(id="q-billing", name="Billing", skills=["s-billing"], channels=["chat"]),
        ],
        wrap_up_codes=[
            SimWrapUpCode(id="w-resolved", name="Resolved"),
            SimWrapUpCode(id="w-later", name="Call back", time_limit_s=60),
        ],
        agents=[
            SimAgent(
                id=f"sim-a{n}",
                email=f"a{n}@example.test",
                name=f"Agent {n}",
                state="On Queue",
                skills=["s-billing"] if n == 2 else [],
                linked=True,
            )
            for n in range(1, agents + 1)
        ],
        settings=SimSettings(**settings),
    )


def recording_sleep(sleeps: list[float]) -> Callable[[float], Awaitable[None]]:
    """A sleep that records how long it was asked for and only yields to the loop."""

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    return fake_sleep


@pytest.fixture
def world() -> World:
    """The world a test's simulator starts with; override to change it."""
    return make_world()


@pytest.fixture
async def sim(world: World) -> AsyncIterator[Sim]:
    """A simulator app on an ASGI transport, calling a fake Omniroute."""
    fake = FakeOmniroute()
    sleeps: list[float] = []
    omniroute_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()))
    app = create_app(
        Config(OMNIROUTE, TOKEN, SECRET, SPOKE),
        world,
        http=omniroute_http,
        sleep=recording_sleep(sleeps),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        harness = Sim(client, app, fake, sleeps)
        try:
            yield harness
        finally:
            await harness.platform.close()
            await omniroute_http.aclose()
