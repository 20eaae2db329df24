"""Simulated voice calls and callbacks: a state machine that answers controls with contexts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omniroute.sim.client import ApiResult, OmnirouteClient

Spawn = Callable[[Coroutine[Any, Any, None]], None]

# The actions the platform offers in each state; mute/unmute depend on the mute flag.
ACTIONS: dict[str, tuple[str, ...]] = {
    "alerting": ("answer",),
    "scheduled": ("dial", "end"),
    "dialing": ("end",),
    "connected": ("hold", "mute", "transfer", "end"),
    "held": ("resume", "transfer", "end"),
    "no_answer": ("retry_callback", "end"),
    "ended": (),
}


class ControlRefusedError(Exception):
    """The call cannot do that now (a stale control): the current context is sent again."""


@dataclass
class Call:
    """One call or callback on the simulated platform."""

    interaction_id: str
    kind: str
    customer_number: str
    answers: bool = True
    state: str = "alerting"
    muted: bool = False
    connected_at: str | None = None
    call_id: str = field(default_factory=lambda: f"sim-call-{uuid.uuid4().hex[:12]}")
    dial_attempts: int = 0
    transferred_to: str | None = None
    history: list[str] = field(default_factory=list)

    def actions(self) -> list[str]:
        """The actions available now."""
        found = list(ACTIONS[self.state])
        if "mute" in found and self.muted:
            found[found.index("mute")] = "unmute"
        return found

    def context(self) -> dict[str, Any]:
        """The call_context data Omniroute is sent."""
        return {
            "interaction_id": self.interaction_id,
            "state": self.state,
            "kind": self.kind,
            "muted": self.muted,
            "customer_number": self.customer_number,
            "available_actions": self.actions(),
            "provider_call_id": self.call_id,
            "connected_at": self.connected_at,
            "occurred_at": datetime.now(UTC).isoformat(),
        }

    def _connect(self) -> None:
        self.state = "connected"
        self.connected_at = self.connected_at or datetime.now(UTC).isoformat()

    def apply(self, action: str, params: dict[str, str]) -> None:
        """Do what an agent asked, if the call offers it now."""
        if action not in self.actions():
            raise ControlRefusedError(f"'{action}' is not available while {self.state}")
        self.history.append(action)
        if action == "answer":
            self._connect()
        elif action in ("dial", "retry_callback"):
            self.dial_attempts += 1
            self.customer_number = params.get("number") or self.customer_number
            # A customer who does not answer picks up on the retry.
            if self.answers or action == "retry_callback":
                self._connect()
            else:
                self.state = "no_answer"
        elif action == "hold":
            self.state = "held"
        elif action == "resume":
            self.state = "connected"
        elif action in ("mute", "unmute"):
            self.muted = action == "mute"
        elif action == "transfer":
            self.transferred_to = params.get("target")
            self.state = "ended"
        elif action == "end":
            self.state = "ended"


class CallDesk:
    """The platform's calls by interaction id, and the contexts it sends to Omniroute."""

    def __init__(self, client: OmnirouteClient, spawn: Spawn) -> None:
        self.client = client
        self.spawn = spawn
        self.calls: dict[str, Call] = {}
        self.sent: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []

    def add(self, call: Call) -> None:
        """Track a call for an interaction that exists in Omniroute."""
        if call.kind == "callback":
            call.state = "scheduled"
        self.calls[call.interaction_id] = call

    def offered(self, interaction_id: str) -> None:
        """The work was offered to an agent: an inbound call starts ringing there."""
        call = self.calls.get(interaction_id)
        if call is not None and call.state == "alerting":
            self.announce(call)

    def accepted(self, interaction_id: str) -> None:
        """The agent accepted the work: an inbound call connects, a callback waits to be dialled."""
        call = self.calls.get(interaction_id)
        if call is None:
            return
        if call.state == "alerting":
            call.apply("answer", {})
        self.announce(call)

    def ended(self, interaction_id: str) -> None:
        """The interaction closed in Omniroute: the platform forgets the call."""
        self.calls.pop(interaction_id, None)

    def control(self, data: dict[str, Any]) -> None:
        """An interaction_control event: act, then send the new context back."""
        interaction_id, action = data.get("interaction_id"), data.get("action")
        if not isinstance(interaction_id, str) or not isinstance(action, str):
            msg = "interaction_id and action must be strings"
            raise TypeError(msg)
        params = {str(k): str(v) for k, v in dict(data.get("params") or {}).items()}
        call = self.calls.get(interaction_id)
        if call is None:
            self.refused.append({"interaction_id": interaction_id, "action": action})
            return
        try:
            call.apply(action, params)
        except ControlRefusedError as err:
            self.refused.append(
                {"interaction_id": interaction_id, "action": action, "why": str(err)}
            )
        self.announce(call)

    def announce(self, call: Call) -> None:
        """Send the call's context to Omniroute in the background."""
        self.spawn(self._send(call.context()))

    async def _send(self, context: dict[str, Any]) -> None:
        result: ApiResult = await self.client.send_event("call_context", context)
        self.sent.append(context | {"http_status": result.status})

    def view(self) -> list[dict[str, Any]]:
        """The calls as GET /sim/state shows them."""
        return [
            call.context() | {"history": list(call.history), "transferred_to": call.transferred_to}
            for call in self.calls.values()
        ]
