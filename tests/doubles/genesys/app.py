"""A Genesys Cloud double: the Platform API paths the spoke uses, with shapes checked by the SDK."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.doubles.genesys import shapes, voice_app, world
from tests.doubles.genesys.org import Omniroute, Org, now_iso
from tests.doubles.genesys.voice import Voice

REQUEST_MODELS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "POST",
        re.compile(r"^/api/v2/conversations/messages/[^/]+/inbound/open/message$"),
        "OpenInboundNormalizedMessage",
    ),
    (
        "PATCH",
        re.compile(r"^/api/v2/conversations/(messages|calls|callbacks)/[^/]+/participants/[^/]+$"),
        "MediaParticipantRequest",
    ),
    (
        "POST",
        re.compile(r"^/api/v2/conversations/(messages|calls)/[^/]+/participants/[^/]+/replace$"),
        "TransferRequest",
    ),
    ("PATCH", re.compile(r"^/api/v2/conversations/messages/[^/]+$"), "Conversation"),
    ("POST", re.compile(r"^/api/v2/conversations/callbacks$"), "CreateCallbackCommand"),
    ("POST", re.compile(r"^/api/v2/conversations/calls/[^/]+$"), "CallCommand"),
    ("PATCH", re.compile(r"^/api/v2/users/[^/]+/presences/purecloud$"), "UserPresence"),
]


@dataclass
class Faults:
    """The next `count` API or token calls answer `status` (with Retry-After when set)."""

    status: int = 0
    count: int = 0
    retry_after: int | None = None
    served: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Double:
    """Everything the double's endpoints share."""

    org: Org
    faults: Faults = field(default_factory=Faults)
    tokens: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"message": message, "code": code, "status": status, "contextId": uuid.uuid4().hex}
    return JSONResponse(body, status_code=status, headers=headers)


def _page(
    request: Request, entities: list[dict[str, Any]], *, next_uri: bool = True
) -> dict[str, Any]:
    size = int(request.query_params.get("pageSize", "25"))
    number = int(request.query_params.get("pageNumber", "1"))
    count = max((len(entities) + size - 1) // size, 1)
    path = request.url.path

    def uri(n: int) -> str:
        return f"{path}?pageSize={size}&pageNumber={n}"

    page: dict[str, Any] = {
        "entities": entities[(number - 1) * size : number * size],
        "pageSize": size,
        "pageNumber": number,
        "total": len(entities),
        "firstUri": uri(1),
        "selfUri": uri(number),
        "lastUri": uri(count),
        "pageCount": count,
    }
    if next_uri and number < count:
        page["nextUri"] = uri(number + 1)
    return page


def create_app(omniroute: Omniroute) -> FastAPI:
    """The double's ASGI app."""
    double = Double(Org(omniroute))
    org = double.org
    voice = Voice(org)

    def reply(model: str, body: Any, status: int = 200) -> Response:
        double.violations.extend(f"response {p}" for p in shapes.problems(model, body))
        return JSONResponse(body, status_code=status)

    async def routing_loop(http: httpx.AsyncClient) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(org.wake.wait(), 0.2)
            org.wake.clear()
            await org.route(http)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            app.state.http = http
            tasks = [asyncio.create_task(routing_loop(http)), asyncio.create_task(voice.send(http))]
            yield
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(lifespan=lifespan)

    @app.middleware("http")
    async def platform(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if not path.startswith(("/api/v2", "/oauth")):
            return await call_next(request)
        raw = await request.body()
        entry: dict[str, Any] = {"method": request.method, "path": path, "at": time.time()}
        double.requests.append(entry)
        faults = double.faults
        if faults.count > 0:
            faults.count -= 1
            faults.served.append({"status": faults.status, "path": path, "at": time.time()})
            headers = {"Retry-After": str(faults.retry_after)} if faults.retry_after else {}
            return _error(faults.status, "injected.fault", "injected by the test", headers)
        if path.startswith("/api/v2"):
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in double.tokens:
                return _error(401, "bad.credentials", "Invalid login credentials.")
            if raw:
                entry["body"] = body = await request.json()
                for method, pattern, model in REQUEST_MODELS:
                    if method == request.method and pattern.match(path):
                        found = shapes.problems(model, body)
                        if found:
                            double.violations.extend(f"request {p}" for p in found)
                            return _error(400, "bad.request", "; ".join(found))
                        break
        return await call_next(request)

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{world.CLIENT_ID}:{world.CLIENT_SECRET}".encode()).decode()
        if auth != f"Basic {expected}" or form.get("grant_type") != "client_credentials":
            return _error(401, "invalid_client", "client authentication failed")
        issued = uuid.uuid4().hex
        double.tokens.add(issued)
        return JSONResponse({"access_token": issued, "token_type": "bearer", "expires_in": 86399})

    # -- routing and the catalog -------------------------------------------------------

    @app.get("/api/v2/routing/skills")
    async def skills(request: Request) -> Response:
        return reply("SkillEntityListing", _page(request, world.skills(), next_uri=False))

    @app.get("/api/v2/routing/queues")
    async def queues(request: Request) -> Response:
        return reply("QueueEntityListing", _page(request, world.queues()))

    @app.get("/api/v2/routing/wrapupcodes")
    async def wrapupcodes(request: Request) -> Response:
        return reply("WrapupCodeEntityListing", _page(request, world.wrap_up_codes()))

    @app.get("/api/v2/routing/queues/{queue_id}/wrapupcodes")
    async def queue_wrapupcodes(queue_id: str, request: Request) -> Response:
        if queue_id not in world.QUEUE_WRAP_UPS:
            return _error(404, "not.found", f"queue {queue_id} not found")
        wanted = world.QUEUE_WRAP_UPS[queue_id]
        codes = [c for c in world.wrap_up_codes() if c["id"] in wanted]
        return reply("WrapupCodeEntityListing", _page(request, codes))

    @app.get("/api/v2/users")
    async def users(request: Request) -> Response:
        return reply("UserEntityListing", _page(request, list(org.users.values())))

    @app.get("/api/v2/users/{user_id}")
    async def user(user_id: str) -> Response:
        if user_id not in org.users:
            return _error(404, "not.found", f"user {user_id} not found")
        return reply("User", org.users[user_id])

    @app.get("/api/v2/users/{user_id}/routingskills")
    async def user_skills(user_id: str, request: Request) -> Response:
        if user_id not in org.users:
            return _error(404, "not.found", f"user {user_id} not found")
        return reply("UserSkillEntityListing", _page(request, org.user_skills.get(user_id, [])))

    @app.get("/api/v2/users/{user_id}/queues")
    async def user_queues(user_id: str, request: Request) -> Response:
        if user_id not in org.users:
            return _error(404, "not.found", f"user {user_id} not found")
        mine = [
            q | {"joined": True}
            for q in world.queues()
            if user_id in world.QUEUE_MEMBERS.get(q["id"], set())
        ]
        return reply("UserQueueEntityListing", _page(request, mine))

    @app.get("/api/v2/routing/users/{user_id}/utilization")
    async def utilization(user_id: str) -> Response:
        if user_id not in org.users:
            return _error(404, "not.found", f"user {user_id} not found")
        media = {
            name: {"maximumCapacity": n, "interruptableMediaTypes": [], "includeNonAcd": False}
            for name, n in org.utilization[user_id].items()
        }
        return reply("AgentMaxUtilizationResponse", {"utilization": media, "level": "Agent"})

    @app.post("/double/users/{user_id}/profile")
    async def change_profile(user_id: str, request: Request) -> dict[str, Any]:
        """Change a user as an administrator would in Genesys: name, skills, utilization."""
        body = await request.json()
        if "name" in body:
            org.users[user_id] = org.users[user_id] | {"name": body["name"]}
        if "skills" in body:
            org.user_skills[user_id] = [
                {"id": f"gc-skill-{k}", "name": k.title(), "proficiency": v, "state": "active"}
                for k, v in body["skills"].items()
            ]
        if "utilization" in body:
            org.utilization[user_id] = dict(body["utilization"])
        return {"ok": True}

    @app.get("/api/v2/presence/definitions")
    async def definitions() -> Response:
        entities = world.presence_definitions()
        body = {"total": len(entities), "entities": entities}
        return reply("OrganizationPresenceDefinitionEntityListing", body)

    @app.get("/api/v2/systempresences")
    async def system_presences() -> Response:
        body = [
            {"id": name.upper().replace(" ", "_"), "name": name} for name in world.SYSTEM_PRESENCES
        ]
        return reply("list[SystemPresence]", body)

    @app.patch("/api/v2/users/{user_id}/presences/purecloud")
    async def set_presence(user_id: str, request: Request) -> Response:
        body = await request.json()
        def_id = (body.get("presenceDefinition") or {}).get("id")
        if user_id not in org.users:
            return _error(404, "not.found", f"user {user_id} not found")
        if def_id not in world.PRESENCE_IDS.values():
            return _error(400, "bad.request", f"presence definition {def_id} not found")
        org.set_presence(user_id, str(def_id))
        return reply("UserPresence", org.presence_body(user_id))

    @app.get("/api/v2/users/{user_id}/presences/purecloud")
    async def get_presence(user_id: str) -> Response:
        if user_id not in org.users:
            return _error(404, "not.found", f"user {user_id} not found")
        return reply("UserPresence", org.presence_body(user_id))

    # -- conversations -----------------------------------------------------------------

    @app.post("/api/v2/conversations/messages/{integration_id}/inbound/open/message")
    async def inbound_message(integration_id: str, request: Request) -> Response:
        if integration_id != world.INTEGRATION_ID:
            return _error(404, "not.found", f"integration {integration_id} not found")
        return reply("OpenMessageNormalizedMessage", org.inbound_message(await request.json()))

    @app.get("/api/v2/conversations/messages/{conversation_id}")
    async def conversation(conversation_id: str) -> Response:
        if conversation_id not in org.conversations:
            return _error(404, "not.found", f"conversation {conversation_id} not found")
        return reply("MessageConversation", org.conversation_view(conversation_id))

    @app.patch("/api/v2/conversations/messages/{conversation_id}")
    async def patch_conversation(conversation_id: str, request: Request) -> Response:
        if conversation_id not in org.conversations:
            return _error(404, "not.found", f"conversation {conversation_id} not found")
        if (await request.json()).get("state") == "disconnected":
            org.disconnect(conversation_id)
        view = {
            "id": conversation_id,
            "state": org.conversations[conversation_id]["state"],
            "selfUri": f"/api/v2/conversations/{conversation_id}",
        }
        return reply("Conversation", view)

    @app.patch("/api/v2/conversations/messages/{conversation_id}/participants/{participant_id}")
    async def patch_participant(
        conversation_id: str, participant_id: str, request: Request
    ) -> Response:
        participant = org.participant(conversation_id, participant_id)
        if participant is None:
            return _error(404, "not.found", f"participant {participant_id} not found")
        org.patch_participant(conversation_id, participant, await request.json())
        return Response(status_code=202)

    @app.post(
        "/api/v2/conversations/messages/{conversation_id}/participants/{participant_id}/replace"
    )
    async def replace(conversation_id: str, participant_id: str, request: Request) -> Response:
        holder = org.participant(conversation_id, participant_id)
        if holder is None or holder["state"] != "connected":
            return _error(400, "bad.request", f"participant {participant_id} is not connected")
        org.replace(conversation_id, holder, await request.json())
        return Response(status_code=202)

    voice_app.mount(app, voice, reply, _error)

    # -- test controls -----------------------------------------------------------------

    async def notify(topic: str, model: str, body: dict[str, Any]) -> Response:
        double.violations.extend(f"notification {p}" for p in shapes.problems(model, body))
        note = org.notification(topic, body)
        response = await app.state.http.post(
            f"{omniroute.url}/api/v1/spokes/{omniroute.spoke}/events",
            json=note,
            headers={"X-Omniroute-Secret": omniroute.secret},
        )
        return JSONResponse(response.json(), status_code=response.status_code)

    @app.post("/double/users/{user_id}/sign-in")
    async def sign_in(user_id: str) -> Response:
        user = org.users[user_id] | {"dateLastLogin": now_iso()}
        answer = await notify("omniroute.agent.signed_in", "User", user)
        org.forget_skips(user_id)
        return answer

    @app.post("/double/users/{user_id}/presence")
    async def change_presence(user_id: str, request: Request) -> Response:
        name = (await request.json())["presence"]
        org.set_presence(user_id, world.PRESENCE_IDS[name])
        return await notify(
            f"v2.users.{user_id}.presence", "UserPresence", org.presence_body(user_id)
        )

    @app.post("/double/faults")
    async def set_faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        double.faults.status = int(body.get("status", 0))
        double.faults.count = int(body.get("count", 0))
        double.faults.retry_after = body.get("retry_after")
        return {"ok": True}

    @app.post("/double/alerts")
    async def alerts(request: Request) -> dict[str, Any]:
        via = (await request.json())["via"]
        if via not in ("work_offer_api", "notifications"):
            return {"ok": False}
        org.alerts_via = via
        return {"ok": True}

    @app.post("/double/revoke")
    async def revoke() -> dict[str, Any]:
        double.tokens.clear()
        return {"ok": True}

    @app.get("/double/state")
    async def state() -> dict[str, Any]:
        return (
            org.state()
            | voice.state()
            | {
                "violations": double.violations + org.violations,
                "requests": double.requests,
                "faults_served": double.faults.served,
                "tokens_issued": len(double.tokens),
            }
        )

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app
