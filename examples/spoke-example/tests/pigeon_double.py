"""Pigeon Desk as a test double: the few endpoints the spoke calls, with their rules."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "pigeon-test-token"  # noqa: S105 - the double's made-up token


class PigeonDesk:
    """Tickets and agent statuses in memory; a repeated Idempotency-Key gets the same answer."""

    def __init__(self) -> None:
        self.tickets: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, str] = {}
        self.answers: dict[str, tuple[int, Any]] = {}
        self.app = Starlette(
            routes=[
                Route("/me", self.me),
                Route("/queues", self.queues),
                Route("/tickets", self.open_ticket, methods=["POST"]),
                Route("/tickets/{id}/offers", self.offer, methods=["POST"]),
                Route("/tickets/{id}/transfer", self.transfer, methods=["POST", "DELETE"]),
                Route("/tickets/{id}/close", self.close, methods=["POST"]),
                Route("/agents/{id}/status", self.status, methods=["PUT"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Refuse a wrong token, replay a repeated request, else route."""
        request = Request(scope, receive)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            await JSONResponse({"error": "bad token"}, 401)(scope, receive, send)
            return
        key = request.headers.get("idempotency-key")
        if key is not None and key in self.answers:
            status, body = self.answers[key]
            await JSONResponse(body, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _remember(self, request: Request, status: int, body: Any) -> Response:
        key = request.headers.get("idempotency-key")
        if key is not None:
            self.answers[key] = (status, body)
        return JSONResponse(body, status)

    def _ticket(self, request: Request) -> dict[str, Any] | None:
        return self.tickets.get(request.path_params["id"])

    async def me(self, _request: Request) -> Response:
        """Who the token belongs to."""
        return JSONResponse({"name": "omniroute"})

    async def queues(self, _request: Request) -> Response:
        """The desk's queues."""
        return JSONResponse({"queues": [{"id": "PQ-support", "name": "Support"}]})

    async def open_ticket(self, request: Request) -> Response:
        """A new ticket in a queue."""
        body = await request.json()
        if not body.get("queue"):
            return JSONResponse({"error": "queue is required"}, 422)
        ticket = f"T-{len(self.tickets) + 1}"
        self.tickets[ticket] = {"state": "queued", "history": []} | body
        return self._remember(request, 201, {"id": ticket})

    async def offer(self, request: Request) -> Response:
        """How the agent answered the offer."""
        ticket = self._ticket(request)
        if ticket is None:
            return JSONResponse({"error": "no such ticket"}, 404)
        body = await request.json()
        ticket["history"].append(("offer", body["outcome"]))
        if body["outcome"] == "accepted":
            ticket["state"] = "assigned"
        return self._remember(request, 200, {})

    async def transfer(self, request: Request) -> Response:
        """Start or cancel a transfer."""
        ticket = self._ticket(request)
        if ticket is None or ticket["state"] == "closed":
            return JSONResponse({"error": "no open ticket"}, 409)
        ticket["history"].append(("transfer", request.method))
        return self._remember(request, 200, {})

    async def close(self, request: Request) -> Response:
        """Close with a wrap-up."""
        ticket = self._ticket(request)
        if ticket is None:
            return JSONResponse({"error": "no such ticket"}, 404)
        ticket["state"] = "closed"
        ticket["wrap_up"] = (await request.json())["wrap_up"]
        return self._remember(request, 200, {})

    async def status(self, request: Request) -> Response:
        """Set an agent's status."""
        self.statuses[request.path_params["id"]] = (await request.json())["status"]
        return self._remember(request, 200, {})
