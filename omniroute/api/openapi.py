"""The OpenAPI document: every operation lists the error answers it can give, in our shape."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from omniroute.api.deps import get_engine, get_principal, get_web_session
from omniroute.domain.errors import ErrorCode

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DESCRIPTIONS = {
    401: "UNAUTHENTICATED: no valid token or session",
    403: "FORBIDDEN or CSRF_FAILED: the role or the agent may not do this",
    404: "NOT_FOUND: an entity in the path or a referenced id does not exist",
    409: "the request conflicts with the current state (see the error code)",
    422: "VALIDATION_ERROR or another input error; `field` names the field at fault",
    429: "RATE_LIMITED: the credential's rate (OMNIROUTE_RATE_LIMIT_API) is spent;"
    " retry after `Retry-After` seconds",
    500: "INTERNAL_ERROR: a bug; the error names the request id",
    503: "STORE_UNAVAILABLE: the change could not be stored; nothing was changed",
}


class ErrorDetail(BaseModel):
    """What went wrong, in a stable code and a message that says what to fix."""

    code: ErrorCode
    message: str
    field: str | None = Field(description="the request field at fault, if there is one")
    request_id: str | None = Field(None, description="on INTERNAL_ERROR: quote it when reporting")


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _all(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for dep in dependant.dependencies:
        yield from _all(dep)


def _inputs(dependant: Dependant) -> Iterator[str]:
    if dependant.path_params:
        yield "path"
    if dependant.query_params:
        yield "query"
    if dependant.body_params:
        yield "body"


def error_statuses(route: RouteContext, method: str) -> set[int]:
    """The error statuses an operation can answer, from what it depends on and takes."""
    calls = set(_calls(route.dependant))
    takes = {kind for dep in _all(route.dependant) for kind in _inputs(dep)}
    statuses = {500}
    if calls & {get_principal, get_web_session}:
        statuses |= {401, 403}
    if get_principal in calls:
        statuses |= {429}
    if takes:
        statuses |= {422}
    if takes & {"path", "body"}:
        # A named document can be in the wrong state for the call (NOT_A_CHAT, ...), reads too.
        statuses |= {404, 409}
    if method in WRITES:
        statuses |= {409, 422}
        if get_engine in calls:
            statuses |= {503}
    return statuses


def with_error_answers(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The document with each operation's error answers, referring to the Error schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["Error"] = error_schema
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            answers = operation.setdefault("responses", {})
            answers.pop("422", None)
            for status in sorted(error_statuses(route, method)):
                answers.setdefault(str(status), {"description": DESCRIPTIONS[status]})
            for status, described in answers.items():
                if status.isdigit() and int(status) >= 400:
                    described["content"] = content
    return schema
