"""The twilio client's HTTP transport: httpx, an optional base-URL override, Retry-After kept."""

# httpx rather than twilio's aiohttp client: one async pool like the rest of Omniroute, real
# timeouts, and the response headers (Retry-After) that TwilioRestException drops.

from __future__ import annotations

import logging
from typing import Any

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from omniroute.spokes.webhook.spoke import retry_after_s

TASKROUTER_ORIGIN = "https://taskrouter.twilio.com"
VOICE_ORIGIN = "https://api.twilio.com"
THROTTLED = frozenset({429, 503})

log = logging.getLogger(__name__)


class ThrottledError(TwilioRestException):  # type: ignore[misc]
    """Twilio answered 429 or 503; `retry_after_s` is its Retry-After, if it sent one."""

    def __init__(self, status: int, uri: str, msg: str, retry_after: float | None) -> None:
        super().__init__(status, uri, msg)
        self.retry_after_s = retry_after


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """Sends the twilio client's requests through httpx, to TaskRouter or a replacement."""

    def __init__(
        self,
        timeout_s: float,
        taskrouter_base_url: str | None = None,
        voice_base_url: str | None = None,
    ) -> None:
        super().__init__(log, is_async=True, timeout=timeout_s)
        self.base_url = (taskrouter_base_url or TASKROUTER_ORIGIN).rstrip("/")
        self.voice_url = (voice_base_url or VOICE_ORIGIN).rstrip("/")
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)

    def target(self, url: str) -> str:
        """The URL actually called: TaskRouter's or the Voice API's origin swapped as configured."""
        if url.startswith(TASKROUTER_ORIGIN):
            return self.base_url + url[len(TASKROUTER_ORIGIN) :]
        if url.startswith(VOICE_ORIGIN):
            return self.voice_url + url[len(VOICE_ORIGIN) :]
        return url

    async def request(  # noqa: PLR0917 - twilio's AsyncHttpClient signature
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio passes it
        allow_redirects: bool = False,
    ) -> Response:
        """One request; 429/503 raise ThrottledError so the Retry-After is not lost."""
        target = self.target(url)
        response = await self._http.request(
            method.upper(),
            target,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        if response.status_code in THROTTLED:
            wait = retry_after_s(response.headers.get("Retry-After"))
            raise ThrottledError(response.status_code, url, response.text[:200], wait)
        return Response(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
