"""Domain errors, each with a stable code that the API maps to an HTTP status."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes shared by the API, the CLI and the spokes."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CSRF_FAILED = "CSRF_FAILED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    RATE_LIMITED = "RATE_LIMITED"
    AGENT_NOT_AVAILABLE = "AGENT_NOT_AVAILABLE"
    AGENT_AT_CAPACITY = "AGENT_AT_CAPACITY"
    AGENT_DISABLED = "AGENT_DISABLED"
    WORK_ITEM_ALREADY_ACCEPTED = "WORK_ITEM_ALREADY_ACCEPTED"
    WORK_ITEM_NOT_PENDING = "WORK_ITEM_NOT_PENDING"
    WORK_ITEM_CANCELLED = "WORK_ITEM_CANCELLED"
    OFFER_NOT_PENDING = "OFFER_NOT_PENDING"
    DECLINE_NOT_ALLOWED = "DECLINE_NOT_ALLOWED"
    INVALID_REJECT_REASON = "INVALID_REJECT_REASON"
    INVALID_TIMEOUT = "INVALID_TIMEOUT"
    INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
    DOCUMENT_NOT_ACTIVE = "DOCUMENT_NOT_ACTIVE"
    QUEUE_CHANNEL_MISMATCH = "QUEUE_CHANNEL_MISMATCH"
    INVALID_WRAP_UP_CODE = "INVALID_WRAP_UP_CODE"
    IN_USE = "IN_USE"
    AGENT_NOT_ALLOWED_EXTERNAL = "AGENT_NOT_ALLOWED_EXTERNAL"
    WORK_ITEM_ASSIGNED = "WORK_ITEM_ASSIGNED"
    INVALID_OFFERED_AT = "INVALID_OFFERED_AT"
    OFFER_EXPIRED = "OFFER_EXPIRED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    TRANSFER_PENDING = "TRANSFER_PENDING"
    NO_PENDING_TRANSFER = "NO_PENDING_TRANSFER"
    SPOKE_UNAVAILABLE = "SPOKE_UNAVAILABLE"
    SPOKE_AUTH_FAILED = "SPOKE_AUTH_FAILED"
    SPOKE_REJECTED = "SPOKE_REJECTED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    CHAT_ENDED = "CHAT_ENDED"
    NOT_A_CHAT = "NOT_A_CHAT"
    ORIGIN_NOT_ALLOWED = "ORIGIN_NOT_ALLOWED"
    WIDGET_DISABLED = "WIDGET_DISABLED"
    NO_CALL_CONTEXT = "NO_CALL_CONTEXT"
    CALL_ACTION_NOT_AVAILABLE = "CALL_ACTION_NOT_AVAILABLE"
    INTERACTION_NOT_HELD = "INTERACTION_NOT_HELD"
    IDENTITY_CONFLICT = "IDENTITY_CONFLICT"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


class DomainError(Exception):
    """A request the domain refuses; nothing was changed."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def shown_code(self) -> str:
        """The code the caller sees."""
        return self.code.value


class NotFoundError(DomainError):
    """The named entity does not exist."""

    def __init__(self, kind: str, entity_id: str, field: str | None = None) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{kind} '{entity_id}' does not exist", field)


class RetryLaterError(DomainError):
    """A refusal that lifts by itself: the caller may try again after `retry_after_s`."""

    def __init__(self, code: ErrorCode, message: str, retry_after_s: int, field: str | None = None):
        super().__init__(code, message, field)
        self.retry_after_s = max(1, retry_after_s)


class ForeignError(DomainError):
    """A 4xx refusal from a newer node, its code unknown to this version: code and status kept.

    `code` is the known code nearest to the status, for this node's own logic; the answer
    shows `foreign_code`.
    """

    def __init__(self, foreign_code: str, status: int, message: str, field: str | None) -> None:
        super().__init__(_NEAREST.get(status, ErrorCode.VALIDATION_ERROR), message, field)
        self.foreign_code = foreign_code
        self.status = status

    @property
    def shown_code(self) -> str:
        """The leader's own code."""
        return self.foreign_code


_NEAREST = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
}
