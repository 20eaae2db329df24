"""The Idempotency-Key of the request being served, turned into keys for its engine commands.

The API's middleware opens a scope per keyed request; each command the request sends gets
`<scope>#<n>`, so a retry of the same request (on any node, after a failover) sends the same
keys and the engine answers from the stored outcomes instead of running the commands again.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class RequestScope:
    """One keyed request: its key and how many commands it sent so far."""

    key: str
    sent: int = field(default=0)


_current: ContextVar[RequestScope | None] = ContextVar("omniroute_request_key", default=None)


def open_scope(key: str) -> None:
    """Start giving this request's commands keys derived from `key`."""
    _current.set(RequestScope(key))


def next_command_key() -> str | None:
    """The key of the request's next command, or None outside a keyed request."""
    scope = _current.get()
    if scope is None:
        return None
    scope.sent += 1
    return f"{scope.key}#{scope.sent}"
