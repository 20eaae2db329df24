"""Voice calls and callbacks as the provider describes them, and the actions an agent may take."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.events import Event

NUMBER = re.compile(r"^\+?[0-9][0-9 ().-]{1,30}$")
MAX_PARAM_CHARS = 200


class CallState(StrEnum):
    """Where a call or callback stands at the provider."""

    SCHEDULED = "scheduled"
    ALERTING = "alerting"
    DIALING = "dialing"
    CONNECTED = "connected"
    HELD = "held"
    NO_ANSWER = "no_answer"
    ENDED = "ended"


class CallKind(StrEnum):
    """An inbound call, an outbound call, or a callback the customer asked for."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    CALLBACK = "callback"


class CallAction(StrEnum):
    """What an agent can ask the provider to do with a call."""

    ANSWER = "answer"
    HOLD = "hold"
    RESUME = "resume"
    MUTE = "mute"
    UNMUTE = "unmute"
    TRANSFER = "transfer"
    END = "end"
    DIAL = "dial"
    RETRY_CALLBACK = "retry_callback"


REQUIRED_PARAMS: dict[CallAction, str] = {
    CallAction.DIAL: "number",
    CallAction.TRANSFER: "target",
}


@dataclass(frozen=True, slots=True)
class CallContext:
    """The provider's latest word on an interaction's call."""

    interaction_id: str
    state: CallState
    kind: CallKind
    muted: bool
    customer_number: str | None
    available_actions: tuple[CallAction, ...]
    occurred_at: datetime
    connected_at: datetime | None = None
    provider_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallContextChanged(Event):
    """The provider sent a new call context for an interaction the agent works on."""

    type: ClassVar[str] = "call.context"
    interaction_id: str
    state: str
    kind: str
    muted: bool
    customer_number: str | None
    available_actions: list[str]
    occurred_at: datetime
    connected_at: datetime | None = None


def context_event(context: CallContext) -> CallContextChanged:
    """The feed event announcing a call context."""
    return CallContextChanged(
        interaction_id=context.interaction_id,
        state=context.state.value,
        kind=context.kind.value,
        muted=context.muted,
        customer_number=context.customer_number,
        available_actions=[a.value for a in context.available_actions],
        occurred_at=context.occurred_at,
        connected_at=context.connected_at,
    )


def no_context(interaction_id: str) -> DomainError:
    """The error for a control or read before the provider sent any call context."""
    return DomainError(
        ErrorCode.NO_CALL_CONTEXT,
        f"the provider has sent no call context for interaction '{interaction_id}' yet; "
        "call controls are available once it does",
    )


def checked_params(
    context: CallContext, action: CallAction, params: Mapping[str, str]
) -> dict[str, str]:
    """The action's parameters, if the context offers the action now; else a DomainError."""
    if action not in context.available_actions:
        offered = ", ".join(a.value for a in context.available_actions) or "none"
        raise DomainError(
            ErrorCode.CALL_ACTION_NOT_AVAILABLE,
            f"'{action.value}' is not available while the call is {context.state.value}; "
            f"available now: {offered}",
            "action",
        )
    required = REQUIRED_PARAMS.get(action)
    clean = {k: v.strip() for k, v in params.items()}
    if any(len(v) > MAX_PARAM_CHARS for v in clean.values()):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"control parameters are limited to {MAX_PARAM_CHARS} characters",
            "params",
        )
    if required is not None and not clean.get(required):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"'{action.value}' needs params.{required}",
            f"params.{required}",
        )
    if action is CallAction.DIAL and not NUMBER.match(clean["number"]):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "params.number must be a phone number such as +44 20 7946 0000",
            "params.number",
        )
    return clean
