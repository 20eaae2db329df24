"""JSON form of the core's commands, queries, results and errors, for sending them between nodes.

A message travels as `{"name": <stable name>, "args": {...}}`; its result as the JSON of the
`R` in `Command[R]`; a refusal as `{"code", "message", "field"}`, plus `status` (its HTTP
status) in the leader's door answers, so that a node of an older version can answer a code it
does not know.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from omniroute.core import door
from omniroute.core import messages as _messages  # noqa: F401 - registers the vocabulary
from omniroute.core.door import Message
from omniroute.domain.errors import DomainError, ErrorCode, ForeignError

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def encode_message(message: Message[Any]) -> dict[str, Any]:
    """A command or query as JSON-ready data."""
    args = _adapter(type(message)).dump_python(message, mode="json")
    return {"name": message.name, "args": args}


def decode_message(data: dict[str, Any]) -> Message[Any]:
    """The command or query encoded by `encode_message`."""
    kind = door.message_type(str(data.get("name", "")))
    value: Message[Any] = _adapter(kind).validate_python(data.get("args", {}))
    return value


def encode_result(kind: type[Message[Any]], value: Any) -> Any:
    """A message's result as JSON-ready data."""
    return _adapter(door.result_type(kind)).dump_python(value, mode="json")


def decode_result(kind: type[Message[Any]], data: Any) -> Any:
    """The result encoded by `encode_result`."""
    return _adapter(door.result_type(kind)).validate_python(data)


def encode_error(err: DomainError) -> dict[str, Any]:
    """A refusal as JSON-ready data."""
    return {"code": err.code.value, "message": err.message, "field": err.field}


def decode_error(data: dict[str, Any]) -> DomainError:
    """The refusal encoded by `encode_error`; one of a code this version does not know as well."""
    code, message, field = str(data.get("code")), str(data.get("message")), data.get("field")
    try:
        return DomainError(ErrorCode(code), message, field)
    except ValueError:
        pass
    status = data.get("status")
    if isinstance(status, int) and 400 <= status < 500:
        return ForeignError(code, status, message, field if isinstance(field, str) else None)
    # Whether it changed anything is unknown: a retry with the same key gets the stored outcome.
    return DomainError(
        ErrorCode.STORE_UNAVAILABLE,
        f"the leader failed with {code} ({message}), unknown to this node's version; "
        "retry the request with the same Idempotency-Key",
    )


def round_trip(message: Message[Any]) -> Message[Any]:
    """The message after a trip through JSON text (tests run every command this way)."""

    return decode_message(json.loads(json.dumps(encode_message(message))))
