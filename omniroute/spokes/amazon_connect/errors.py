"""botocore's errors mapped to the three spoke errors."""

from __future__ import annotations

import math
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
)

from omniroute.spokes.base import (
    SpokeAuthError,
    SpokeError,
    SpokeRejectedError,
    SpokeUnavailableError,
)

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
AUTH_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
UNAVAILABLE_CODES = frozenset(
    {"InternalServiceException", "ServiceUnavailable", "ServiceUnavailableException"}
)


def error_code(err: Exception) -> str:
    """The AWS error code of an error, e.g. `ThrottlingException`; empty when it has none."""
    if not isinstance(err, ClientError):
        return ""
    return str(err.response.get("Error", {}).get("Code", ""))


def _retry_after(response: Any) -> float | None:
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def map_error(what: str, err: Exception) -> SpokeError:
    """The spoke error for a botocore error; raise it `from err`."""
    if isinstance(err, ClientError):
        code = error_code(err)
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        message = err.response.get("Error", {}).get("Message", "") or str(err)
        text = f"{what}: {code or status}: {message}"
        if code in THROTTLING_CODES or status == 429:
            return SpokeUnavailableError(text, retry_after_s=_retry_after(err.response))
        if code in AUTH_CODES or status in (401, 403):
            return SpokeAuthError(text)
        if code in UNAVAILABLE_CODES or status >= 500:
            return SpokeUnavailableError(text, retry_after_s=_retry_after(err.response))
        return SpokeRejectedError(text)
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return SpokeAuthError(f"{what}: {err}; configure AWS credentials for the server")
    if isinstance(err, ParamValidationError | NoRegionError):
        return SpokeRejectedError(f"{what}: {err}")
    if isinstance(err, BotoCoreError):
        return SpokeUnavailableError(f"{what}: {type(err).__name__}: {err}")
    return SpokeUnavailableError(f"{what}: {type(err).__name__}: {err}")
