"""The simulator's HTTP face: catalog, webhook receiver and admin endpoints (FastAPI)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from omniroute.sim.call_api import PANEL_HTML, CallIn, start_sim_call
from omniroute.sim.client import ApiResult, OmnirouteClient, RetryPolicy, Sleep
from omniroute.sim.core import AgentRun, Config, Faults, InvalidEventError, Platform
from omniroute.sim.world import World
from omniroute.spokes.signing import SignatureError, verify

CATALOG_KINDS = ("skills", "queues", "wrap-up-codes", "agents")


class _In(BaseModel):
    """Admin request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class SignInIn(_In):
    """Optionally set a presence state right after signing in."""

    state: str | None = Field(None, min_length=1)


class PresenceIn(_In):
    """A presence change on the platform; `notify: false` keeps Omniroute unaware."""

    state: str = Field(min_length=1)
    notify: bool = True


class FaultsIn(_In):
    """Faults to inject; the set replaces the current one (an empty body clears all)."""

    webhook_status: int | None = Field(None, ge=400, le=599)
    count: int = Field(1, ge=0)
    delay_ms: int = Field(0, ge=0, le=600_000)
    duplicate_work_offers: bool = False
    drop_offers: bool = False


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _check_signature(request: Request, body: bytes) -> JSONResponse | None:
    try:
        verify(_platform(request).config.secret, request.headers, body)
    except SignatureError as err:
        _platform(request).count("signature_failures")
        return _error(401, "INVALID_SIGNATURE", str(err))
    return None


def _agent_or_404(platform: Platform, provider_id: str) -> AgentRun:
    agent = platform.agents.get(provider_id)
    if agent is None:
        raise HTTPException(404, f"no sim agent '{provider_id}'")
    return agent


def _catalog_items(platform: Platform, kind: str) -> list[dict[str, Any]]:
    world = platform.world
    if kind == "skills":
        return [{"id": s.id, "name": s.name, "description": s.description} for s in world.skills]
    if kind == "queues":
        return [
            {"id": q.id, "name": q.name, "skills": list(q.skills), "channels": list(q.channels)}
            for q in world.queues
        ]
    if kind == "wrap-up-codes":
        return [
            {
                "id": w.id,
                "name": w.name,
                "description": w.description,
                "time_limit_s": w.time_limit_s,
            }
            for w in world.wrap_up_codes
        ]
    # No presence state here: a catalog entry must not change when the agent does.
    return [
        {"id": a.id, "name": a.name, "email": a.email, "skills": sorted(a.skills)}
        for a in platform.agents.values()
    ]


def _inbound_response(agent: dict[str, Any], result: ApiResult) -> JSONResponse:
    body = {
        "agent": agent,
        "delivered": result.ok,
        "omniroute": {"status": result.status, "body": result.body},
    }
    return JSONResponse(body, 200 if result.ok else 502)


async def _sign_in_everyone(platform: Platform, sleep: Sleep) -> None:
    """Sign every agent in once Omniroute answers, as agents opening the panel would."""
    pending = list(platform.agents.values())
    delay = 0.2
    while pending:
        pending = [a for a in pending if not (await platform.sign_in(a)).ok]
        if pending:
            # Omniroute may still be starting: wait and try again, a little longer each time.
            await sleep(delay)
            delay = min(delay * 2, 5.0)


def create_app(
    config: Config,
    world: World,
    *,
    http: httpx.AsyncClient | None = None,
    sleep: Sleep = asyncio.sleep,
) -> FastAPI:
    """The simulator app; `http` and `sleep` are for tests."""
    settings = world.settings
    retry = RetryPolicy(
        attempts=settings.retry_attempts, base_s=settings.retry_base_s, cap_s=settings.retry_cap_s
    )
    client = OmnirouteClient(
        base_url=config.omniroute_url,
        token=config.token,
        secret=config.secret,
        spoke=config.spoke,
        http=http,
        retry=retry,
        sleep=sleep,
    )
    platform = Platform(config, world, client, sleep)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        starter = None
        if config.sign_in_all:
            starter = asyncio.create_task(_sign_in_everyone(platform, sleep))
        yield
        if starter is not None:
            starter.cancel()
        await platform.close()
        await client.aclose()

    app = FastAPI(title="Omniroute contact-center simulator", lifespan=lifespan)
    app.state.platform = platform

    @app.get("/healthz")
    @app.get("/readyz")
    async def healthz() -> dict[str, str]:
        """Liveness, unsigned: for process supervisors and tests."""
        return {"status": "ok"}

    @app.get("/catalog/health", response_model=None)
    async def catalog_health(request: Request) -> JSONResponse | dict[str, Any]:
        """The spoke's signed health check."""
        refused = _check_signature(request, await request.body())
        if refused is not None:
            return refused
        return {"status": "ok", "spoke": platform.config.spoke}

    @app.get("/catalog/{kind}", response_model=None)
    async def catalog(
        kind: str,
        request: Request,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    ) -> JSONResponse | dict[str, Any]:
        """One page of skills, queues, wrap-up codes or agents, with the next page's URL."""
        refused = _check_signature(request, await request.body())
        if refused is not None:
            return refused
        if kind not in CATALOG_KINDS:
            return _error(404, "NOT_FOUND", f"no catalog '{kind}'")
        size = limit or platform.world.settings.page_size
        items = _catalog_items(platform, kind)
        page = items[offset : offset + size]
        more = offset + size < len(items)
        following = str(request.url.include_query_params(offset=offset + size, limit=size))
        return {"items": page, "next": following if more else None}

    @app.get("/webhook", response_model=None)
    async def webhook_health(request: Request) -> JSONResponse | dict[str, Any]:
        """The spoke's signed health check when it has no catalog URL (`GET {url}?health=1`)."""
        refused = _check_signature(request, await request.body())
        if refused is not None:
            return refused
        return {"status": "ok", "spoke": platform.config.spoke}

    @app.post("/webhook", response_model=None)
    async def webhook(request: Request) -> JSONResponse | dict[str, Any]:
        """Routing events from Omniroute: verified, deduplicated by id, applied in order."""
        body = await request.body()
        faults = platform.faults
        platform.count("webhooks_received")
        if faults.delay_ms:
            await platform.sleep(faults.delay_ms / 1000)
        if faults.webhook_status is not None and faults.count > 0:
            faults.count -= 1
            status = faults.webhook_status
            if faults.count == 0:
                faults.webhook_status = None
            platform.count("webhooks_failed_by_fault")
            return _error(status, "INJECTED_FAULT", f"injected fault: answering {status}")
        refused = _check_signature(request, body)
        if refused is not None:
            return refused
        try:
            envelope = json.loads(body)
        except ValueError:
            return _error(400, "INVALID_JSON", "the body is not JSON")
        problem = _envelope_problem(envelope)
        if problem is not None:
            return _error(422, "INVALID_ENVELOPE", problem)
        try:
            outcome = platform.receive(envelope)
        except InvalidEventError as err:
            return _error(422, "INVALID_DATA", str(err))
        return {"status": outcome, "id": envelope["id"]}

    @app.post("/sim/agents/{provider_id}/sign-in")
    async def sign_in(provider_id: str, body: SignInIn | None = None) -> JSONResponse:
        """The agent signs in through the platform's panel: Omniroute links the identity."""
        agent = _agent_or_404(platform, provider_id)
        result = await platform.sign_in(agent)
        if result.ok and body is not None and body.state is not None:
            platform.set_state(agent, body.state)
            result = await platform.push_presence(agent)
        return _inbound_response(platform.agent_view(agent), result)

    @app.post("/sim/agents/{provider_id}/presence")
    async def presence(provider_id: str, body: PresenceIn) -> JSONResponse:
        """Change the agent's state on the platform and, unless told not to, tell Omniroute."""
        agent = _agent_or_404(platform, provider_id)
        platform.set_state(agent, body.state)
        if not body.notify:
            platform.route()
            return JSONResponse({"agent": platform.agent_view(agent), "delivered": False})
        result = await platform.push_presence(agent)
        return _inbound_response(platform.agent_view(agent), result)

    @app.get("/panel", response_class=HTMLResponse)
    async def panel() -> HTMLResponse:
        """The platform's agent panel, for Omniroute's connector panel."""
        return HTMLResponse(PANEL_HTML)

    @app.post("/sim/calls", status_code=201)
    async def start_call(body: CallIn) -> JSONResponse:
        """A customer calls (or asks for a callback): the interaction is created in Omniroute."""
        return await start_sim_call(platform, body)

    @app.get("/sim/faults")
    async def get_faults() -> dict[str, Any]:
        """The faults in force."""
        return asdict(platform.faults)

    @app.post("/sim/faults")
    async def set_faults(body: FaultsIn) -> dict[str, Any]:
        """Replace the injected faults; routing resumes for anything they held back."""
        platform.faults = Faults(
            webhook_status=body.webhook_status,
            count=body.count if body.webhook_status is not None else 0,
            delay_ms=body.delay_ms,
            duplicate_work_offers=body.duplicate_work_offers,
            drop_offers=body.drop_offers,
        )
        platform.route()
        return asdict(platform.faults)

    @app.post("/sim/restart")
    async def restart() -> dict[str, Any]:
        """Forget in-memory routing state (queued items, offers in flight, seen event ids)."""
        await platform.restart()
        return {"restarted": True, "restarts": platform.counters.get("restarts", 0)}

    @app.get("/sim/state")
    async def state(
        settle: bool = False,
        timeout_s: Annotated[float, Query(gt=0, le=120)] = 10.0,
    ) -> dict[str, Any]:
        """Agents, queues, items, received events, offers and counters (optionally settled)."""
        settled = True
        if settle:
            try:
                await asyncio.wait_for(platform.settle(), timeout_s)
            except TimeoutError:
                settled = False
        return platform.state() | {"settled": settled}

    return app


def _envelope_problem(envelope: Any) -> str | None:
    if not isinstance(envelope, dict):
        return "the envelope must be a JSON object"
    if envelope.get("schema_version") != 1:
        return "schema_version must be 1"
    if not isinstance(envelope.get("id"), str) or not envelope["id"]:
        return "id must be a non-empty string"
    if not isinstance(envelope.get("type"), str):
        return "type must be a string"
    if not isinstance(envelope.get("data", {}), dict):
        return "data must be an object"
    return None


def serve(config: Config, world: World, host: str, port: int, log_level: str = "info") -> None:
    """Run the simulator until interrupted."""
    uvicorn.run(create_app(config, world), host=host, port=port, log_level=log_level)
