"""Twilio's errors mapped to the three spoke errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException

from omniroute.spokes.base import SpokeAuthError, SpokeRejectedError, SpokeUnavailableError
from omniroute.spokes.twilio_flex.transport import ThrottledError

AUTH_STATUSES = frozenset({401, 403})


def spoke_error(
    what: str, err: TwilioRestException
) -> SpokeAuthError | SpokeRejectedError | SpokeUnavailableError:
    """The spoke error for one failed Twilio REST call."""
    code = f" (Twilio error {err.code})" if err.code else ""
    message = f"{what}: Twilio answered {err.status}{code}: {err.msg}"
    if err.status in AUTH_STATUSES:
        return SpokeAuthError(message + "; check account_sid and auth_token or the API key")
    if isinstance(err, ThrottledError):
        return SpokeUnavailableError(message, retry_after_s=err.retry_after_s)
    if err.status == 429 or err.status >= 500:
        return SpokeUnavailableError(message)
    return SpokeRejectedError(message)


@asynccontextmanager
async def mapped(what: str) -> AsyncIterator[None]:
    """Turn Twilio and transport errors raised inside into spoke errors."""
    try:
        yield
    except TwilioRestException as err:
        raise spoke_error(what, err) from err
    except (TimeoutError, httpx.TimeoutException) as err:
        msg = f"{what}: Twilio did not answer in time"
        raise SpokeUnavailableError(msg) from err
    except httpx.RequestError as err:
        msg = f"{what}: {type(err).__name__}: {err}"
        raise SpokeUnavailableError(msg) from err
    except TwilioException as err:
        msg = f"{what}: {err}"
        raise SpokeRejectedError(msg) from err
