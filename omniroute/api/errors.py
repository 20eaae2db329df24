"""Map domain, validation and store errors to JSON error responses with stable codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from omniroute.api.guard import internal_error_body, log_crash, request_id
from omniroute.domain.errors import DomainError, ErrorCode, ForeignError, RetryLaterError

STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.TOO_MANY_ATTEMPTS: 429,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.AGENT_NOT_AVAILABLE: 409,
    ErrorCode.AGENT_AT_CAPACITY: 409,
    ErrorCode.AGENT_DISABLED: 403,
    ErrorCode.WORK_ITEM_ALREADY_ACCEPTED: 409,
    ErrorCode.WORK_ITEM_NOT_PENDING: 409,
    ErrorCode.WORK_ITEM_CANCELLED: 409,
    ErrorCode.OFFER_NOT_PENDING: 409,
    ErrorCode.DECLINE_NOT_ALLOWED: 409,
    ErrorCode.INVALID_REJECT_REASON: 422,
    ErrorCode.INVALID_TIMEOUT: 422,
    ErrorCode.INVALID_STATE_TRANSITION: 409,
    ErrorCode.DOCUMENT_NOT_ACTIVE: 409,
    ErrorCode.QUEUE_CHANNEL_MISMATCH: 422,
    ErrorCode.INVALID_WRAP_UP_CODE: 422,
    ErrorCode.IN_USE: 409,
    ErrorCode.STORE_UNAVAILABLE: 503,
    ErrorCode.AGENT_NOT_ALLOWED_EXTERNAL: 409,
    ErrorCode.WORK_ITEM_ASSIGNED: 409,
    ErrorCode.INVALID_OFFERED_AT: 422,
    ErrorCode.OFFER_EXPIRED: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.TRANSFER_PENDING: 409,
    ErrorCode.NO_PENDING_TRANSFER: 409,
    ErrorCode.SPOKE_UNAVAILABLE: 502,
    ErrorCode.SPOKE_AUTH_FAILED: 502,
    ErrorCode.SPOKE_REJECTED: 502,
    ErrorCode.INVALID_SIGNATURE: 401,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.CHAT_ENDED: 409,
    ErrorCode.NOT_A_CHAT: 409,
    ErrorCode.ORIGIN_NOT_ALLOWED: 403,
    ErrorCode.WIDGET_DISABLED: 409,
    ErrorCode.NO_CALL_CONTEXT: 409,
    ErrorCode.CALL_ACTION_NOT_AVAILABLE: 409,
    ErrorCode.INTERACTION_NOT_HELD: 403,
    ErrorCode.IDENTITY_CONFLICT: 409,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
}


def error_body(code: ErrorCode | str, message: str, field: str | None = None) -> dict[str, object]:
    """The JSON body of every error response."""
    return {"error": {"code": str(code), "message": message, "field": field}}


def status_of(err: DomainError) -> int:
    """The HTTP status of a domain error."""
    return err.status if isinstance(err, ForeignError) else STATUS[err.code]


def error_response(err: DomainError) -> JSONResponse:
    """A domain error as an HTTP response."""
    headers = {"Retry-After": str(err.retry_after_s)} if isinstance(err, RetryLaterError) else None
    body = error_body(err.shown_code, err.message, err.field)
    return JSONResponse(body, status_of(err), headers=headers)


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ())]
    # The first element says where (body, query, ...); a field may itself be named "body".
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid request")
    if field:
        message = f"{field}: {message}"
    return JSONResponse(error_body(ErrorCode.VALIDATION_ERROR, message, field), 422)


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    text = str(getattr(exc, "orig", exc)).lower()
    if "foreign key" in text:
        return JSONResponse(
            error_body(
                ErrorCode.IN_USE,
                "the change refers to, or removes, something other records depend on",
            ),
            409,
        )
    return JSONResponse(
        error_body(ErrorCode.CONFLICT, "a record with the same identity already exists"), 409
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        401: ErrorCode.UNAUTHENTICATED,
        403: ErrorCode.FORBIDDEN,
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
        413: ErrorCode.PAYLOAD_TOO_LARGE,
    }
    mapped = code.get(exc.status_code, ErrorCode.VALIDATION_ERROR)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 400:
        # FastAPI's "error parsing the body" (e.g. nested too deeply): input at fault, as any.
        status = 422
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse(error_body(mapped, str(exc.detail)), status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method a route takes on this path (Starlette names only the first route's).

    A route whose path is this very path wins over ones that match it by a parameter.
    """
    literal: set[str] = set()
    matched: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        methods = getattr(route, "methods", None)
        hidden = not getattr(route, "include_in_schema", True)
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is Match.NONE or not methods or hidden:
            continue
        matched |= methods
        if getattr(route, "path_format", None) == request.scope["path"]:
            literal |= methods
    return sorted(literal or matched)


async def _crash(request: Request, exc: Exception) -> Response:
    log_crash(request.scope, exc)
    body = internal_error_body(request_id(request.scope))
    return Response(body, 500, media_type="application/json")


def install_error_handlers(app: FastAPI) -> None:
    """Register every error mapping on the app."""
    app.add_exception_handler(Exception, _crash)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(StarletteHTTPException, _http)
