"""The double's HTTP side: TaskRouter v1 REST paths, test controls and signed callbacks out."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.doubles.twilio.model import (
    ACCOUNT_SID,
    API,
    AUTH_TOKEN,
    WORKFLOW_SID,
    WORKSPACE_SID,
    TwilioError,
    matches,
)
from tests.doubles.twilio.voice import VOICE_API, Voice
from tests.doubles.twilio.workspace import Callback, Workspace

WS = f"/v1/Workspaces/{WORKSPACE_SID}"
CALLBACK_ATTEMPTS = 20
TICK_S = 0.1
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Faults:
    """The next `count` REST requests answer `status` (with Retry-After when set)."""

    status: int = 0
    count: int = 0
    retry_after: float | None = None


@dataclass
class Double:
    """Everything the process keeps."""

    callback_url: str
    workspace: Workspace
    faults: Faults = field(default_factory=Faults)
    requests: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    queue: asyncio.Queue[Callback] = field(default_factory=asyncio.Queue)


def _page(key: str, items: list[dict[str, Any]], path: str) -> dict[str, Any]:
    url = f"https://taskrouter.twilio.com{path}"
    meta = {
        "page": 0,
        "page_size": max(len(items), 50),
        "first_page_url": url,
        "previous_page_url": None,
        "url": url,
        "next_page_url": None,
        "key": key,
    }
    return {key: items, "meta": meta}


def _authorized(request: Request) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return request.headers.get("authorization") == f"Basic {expected}"


def create_app(callback_url: str, reservation_timeout_s: float) -> Starlette:
    """The double; callbacks go to `callback_url`, signed with the account's auth token."""
    double: Double

    def notify(callback: Callback) -> None:
        double.queue.put_nowait(callback)

    double = Double(callback_url, Workspace(reservation_timeout_s, notify))
    ws = double.workspace
    voice = Voice(notify, callback_url)
    ws.on_task = voice.pair

    async def rest(request: Request, handler: Callable[[dict[str, str]], Any]) -> Response:
        body = (await request.body()).decode()
        form = dict(parse_qsl(body, keep_blank_values=True)) | dict(request.query_params)
        double.requests.append(
            {"method": request.method, "path": request.url.path, "form": form, "at": time.time()}
        )
        faults = double.faults
        if faults.count > 0:
            faults.count -= 1
            headers = {}
            if faults.retry_after is not None:
                headers["Retry-After"] = f"{faults.retry_after:g}"
            error = TwilioError(faults.status, 20429 if faults.status == 429 else 20500, "fault")
            double.requests[-1]["fault"] = faults.status
            return JSONResponse(error.body(), faults.status, headers=headers)
        if not _authorized(request):
            return JSONResponse(TwilioError(401, 20003, "Authenticate").body(), 401)
        try:
            result = handler(form)
        except TwilioError as err:
            return JSONResponse(err.body(), err.status)
        return JSONResponse(
            result, 201 if request.method == "POST" and "create" in handler.__name__ else 200
        )

    def p(request: Request, name: str) -> str:
        return str(request.path_params[name])

    def routes() -> list[Route]:
        def r(
            path: str,
            fn: Callable[[Request, dict[str, str]], Any],
            method: str = "GET",
            prefix: str = WS,
        ) -> Route:
            async def endpoint(request: Request) -> Response:
                def call(form: dict[str, str]) -> Any:
                    return fn(request, form)

                call.__name__ = fn.__name__
                return await rest(request, call)

            return Route(prefix + path, endpoint, methods=[method])

        def workspace(_r: Request, _f: dict[str, str]) -> Any:
            return {
                "sid": WORKSPACE_SID,
                "account_sid": ACCOUNT_SID,
                "friendly_name": "Flex Task Assignment",
                "event_callback_url": double.callback_url,
                "url": f"{API}/Workspaces/{WORKSPACE_SID}",
                "links": {},
            }

        def workflow(_r: Request, _f: dict[str, str]) -> Any:
            return {
                "sid": WORKFLOW_SID,
                "account_sid": ACCOUNT_SID,
                "workspace_sid": WORKSPACE_SID,
                "friendly_name": "Omniroute",
                "assignment_callback_url": double.callback_url,
                "task_reservation_timeout": int(reservation_timeout_s),
                "configuration": "{}",
                "url": f"{API}/Workspaces/{WORKSPACE_SID}/Workflows/{WORKFLOW_SID}",
                "links": {},
            }

        def activities(req: Request, _f: dict[str, str]) -> Any:
            return _page("activities", [a.json() for a in ws.activities.values()], req.url.path)

        def queues(req: Request, form: dict[str, str]) -> Any:
            found = list(ws.queues.values())
            if "WorkerSid" in form:
                # The task queues this worker is eligible for.
                worker = ws.worker(form["WorkerSid"])
                found = [q for q in found if matches(q.target_workers, worker.attributes)]
            return _page("task_queues", [q.json() for q in found], req.url.path)

        def fetch_worker(req: Request, _f: dict[str, str]) -> Any:
            return ws.worker(p(req, "wk")).json()

        def worker_channels(req: Request, _f: dict[str, str]) -> Any:
            return _page("channels", ws.worker(p(req, "wk")).channels_json(), req.url.path)

        def workers(req: Request, _f: dict[str, str]) -> Any:
            return _page("workers", [w.json() for w in ws.workers.values()], req.url.path)

        def update_worker(req: Request, form: dict[str, str]) -> Any:
            worker = ws.worker(p(req, "wk"))
            if "ActivitySid" in form:
                ws.set_activity(worker, ws.activity(form["ActivitySid"]))
            return worker.json()

        def create_task(_r: Request, form: dict[str, str]) -> Any:
            return ws.create_task(form).json()

        def tasks(req: Request, form: dict[str, str]) -> Any:
            found = ws.list_tasks(form.get("EvaluateTaskAttributes"))
            return _page("tasks", [t.json() for t in found], req.url.path)

        def fetch_task(req: Request, _f: dict[str, str]) -> Any:
            return ws.task(p(req, "wt")).json()

        def update_task(req: Request, form: dict[str, str]) -> Any:
            return ws.update_task(ws.task(p(req, "wt")), form).json()

        def fetch_reservation(req: Request, _f: dict[str, str]) -> Any:
            return ws.reservation(p(req, "wk"), p(req, "wr")).json()

        def update_reservation(req: Request, form: dict[str, str]) -> Any:
            reservation = ws.reservation(p(req, "wk"), p(req, "wr"))
            return ws.update_reservation(reservation, form).json()

        def create_participant(req: Request, form: dict[str, str]) -> Any:
            return voice.create_participant(p(req, "cf"), form)

        def update_participant(req: Request, form: dict[str, str]) -> Any:
            return voice.update_participant(p(req, "cf"), p(req, "ca"), form)

        def update_call(req: Request, form: dict[str, str]) -> Any:
            return voice.update_call(p(req, "ca"), form)

        return [
            r("/Conferences/{cf}/Participants.json", create_participant, "POST", VOICE_API),
            r("/Conferences/{cf}/Participants/{ca}.json", update_participant, "POST", VOICE_API),
            r("/Calls/{ca}.json", update_call, "POST", VOICE_API),
            r("", workspace),
            r(f"/Workflows/{WORKFLOW_SID}", workflow),
            r("/Activities", activities),
            r("/TaskQueues", queues),
            r("/Workers", workers),
            r("/Workers/{wk}", fetch_worker),
            r("/Workers/{wk}", update_worker, "POST"),
            r("/Workers/{wk}/Channels", worker_channels),
            r("/Tasks", create_task, "POST"),
            r("/Tasks", tasks),
            r("/Tasks/{wt}", fetch_task),
            r("/Tasks/{wt}", update_task, "POST"),
            r("/Workers/{wk}/Reservations/{wr}", fetch_reservation),
            r("/Workers/{wk}/Reservations/{wr}", update_reservation, "POST"),
        ]

    async def state(_r: Request) -> Response:
        return JSONResponse(
            {
                "workers": [w.json() for w in ws.workers.values()],
                "tasks": [t.json() for t in ws.tasks.values()],
                "reservations": [r.json() for r in ws.reservations.values()],
                "requests": double.requests,
                "callbacks": double.callbacks,
                "pending_callbacks": double.queue.qsize(),
            }
            | voice.state()
        )

    async def faults(request: Request) -> Response:
        body = await request.json()
        double.faults = Faults(
            int(body.get("status", 0)), int(body.get("count", 0)), body.get("retry_after")
        )
        return JSONResponse({"ok": True})

    async def sign_in(request: Request) -> Response:
        try:
            ws.sign_in(ws.worker(request.path_params["wk"]))
        except TwilioError as err:
            return JSONResponse(err.body(), err.status)
        return JSONResponse({"ok": True})

    async def change_worker(request: Request) -> Response:
        """An administrator edits the worker in Twilio: attributes, channel capacities."""
        body = await request.json()
        worker = ws.worker(request.path_params["wk"])
        if "attributes" in body:
            worker.attributes = dict(body["attributes"])
        if "channels" in body:
            worker.channels |= {k: int(v) for k, v in body["channels"].items()}
        return JSONResponse(worker.json())

    async def activity(request: Request) -> Response:
        body = await request.json()
        chosen = ws.activities.get(body.get("activity", ""))
        worker = ws.workers.get(request.path_params["wk"])
        if chosen is None or worker is None:
            return JSONResponse({"error": "unknown worker or activity"}, 404)
        ws.set_activity(worker, chosen)
        return JSONResponse(worker.json())

    async def time_out(request: Request) -> Response:
        ws.expire(datetime.now(UTC), force=request.path_params["wr"])
        return JSONResponse({"ok": True})

    async def caller(request: Request) -> Response:
        """A customer calls the Flex number; `callback: true` asks to be called back."""
        body = await request.json()
        call = voice.caller(str(body["from"]), bool(body.get("callback", False)))
        return JSONResponse(call.json(), 201)

    async def unanswered(request: Request) -> Response:
        """The next `count` calls to a number ring out unanswered."""
        body = await request.json()
        voice.unanswered[str(body["number"])] = int(body.get("count", 1))
        return JSONResponse({"ok": True})

    async def ready(_r: Request) -> Response:
        return JSONResponse({"ok": True})

    async def deliver_callbacks() -> None:
        validator = RequestValidator(AUTH_TOKEN)
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                kind, fields = await double.queue.get()
                signature = validator.compute_signature(double.callback_url, fields)
                record: dict[str, Any] = {"kind": kind, "fields": fields}
                double.callbacks.append(record)
                for attempt in range(CALLBACK_ATTEMPTS):
                    try:
                        response = await client.post(
                            double.callback_url,
                            data=fields,
                            headers={"X-Twilio-Signature": signature},
                        )
                    except httpx.HTTPError as err:
                        record["error"] = str(err)
                    else:
                        record["status"] = response.status_code
                        record["answer"] = response.text
                        if response.status_code < 500:
                            break
                    await asyncio.sleep(min(0.1 * 2**attempt, 2.0))

    async def expire_reservations() -> None:
        while True:
            await asyncio.sleep(TICK_S)
            ws.expire(datetime.now(UTC))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        background = [
            asyncio.create_task(deliver_callbacks()),
            asyncio.create_task(expire_reservations()),
        ]
        yield
        for task in background:
            task.cancel()

    controls = [
        Route("/double/state", state),
        Route("/double/faults", faults, methods=["POST"]),
        Route("/double/workers/{wk}/sign-in", sign_in, methods=["POST"]),
        Route("/double/workers/{wk}/activity", activity, methods=["POST"]),
        Route("/double/workers/{wk}/profile", change_worker, methods=["POST"]),
        Route("/double/reservations/{wr}/timeout", time_out, methods=["POST"]),
        Route("/double/voice/callers", caller, methods=["POST"]),
        Route("/double/voice/unanswered", unanswered, methods=["POST"]),
        Route("/readyz", ready),
    ]
    return Starlette(routes=routes() + controls, lifespan=lifespan)
