"""The Genesys Cloud Platform API over httpx: OAuth client credentials, errors, paging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from omniroute.spokes.base import SpokeAuthError, SpokeRejectedError, SpokeUnavailableError
from omniroute.spokes.genesys.settings import GenesysSettings
from omniroute.spokes.webhook.spoke import retry_after_s

# Renew this long before the token expires, so no request carries a token about to lapse.
TOKEN_MARGIN_S = 60.0
EXCERPT_CHARS = 200
MAX_PAGES = 1000


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def check(what: str, response: httpx.Response) -> None:
    """Map a non-2xx answer to the spoke error it means."""
    status = response.status_code
    if 200 <= status < 300:
        return
    excerpt = _excerpt(response)
    message = f"{what} answered {status}" + (f": {excerpt}" if excerpt else "")
    if status in (401, 403):
        raise SpokeAuthError(message)
    if status == 429 or status >= 500:
        wait = retry_after_s(response.headers.get("Retry-After"))
        raise SpokeUnavailableError(message, retry_after_s=wait)
    raise SpokeRejectedError(message)


class GenesysClient:
    """Authenticated calls to one organization's Platform API."""

    def __init__(self, settings: GenesysSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self, *, renew: bool = False) -> str:
        """A cached access token, fetched again when it nears expiry or when asked to."""
        async with self._lock:
            fresh = self._token is not None and time.monotonic() < self._expires_at
            if fresh and not renew and self._token is not None:
                return self._token
            url = f"{self.settings.login_url}/oauth/token"
            auth = (self.settings.client_id, self.settings.client_secret.get_secret_value())
            response = await self._send(
                "POST", url, data={"grant_type": "client_credentials"}, auth=auth
            )
            check(f"Genesys POST {url}", response)
            body = self._json(f"Genesys POST {url}", response)
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                msg = f"Genesys POST {url}: the answer has no access_token"
                raise SpokeAuthError(msg)
            lifetime = float(body.get("expires_in") or 0)
            self._token = token
            self._expires_at = time.monotonic() + max(lifetime - TOKEN_MARGIN_S, 0.0)
            return token

    async def call(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One API call with a bearer token, renewed once on a 401; the JSON answer or None."""
        url = path if path.startswith("http") else f"{self.settings.api_url}{path}"
        what = f"Genesys {method} {httpx.URL(url).path}"
        for attempt in range(2):
            token = await self.token(renew=attempt > 0)
            headers = {"Authorization": f"Bearer {token}"}
            response = await self._send(method, url, json=json, params=params, headers=headers)
            if response.status_code != 401 or attempt > 0:
                break
        check(what, response)
        return self._json(what, response) if response.content else None

    async def pages(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[Any]:
        """Every entity of a paged listing, following pageCount and nextUri."""
        query: dict[str, Any] | None = dict(params or {}) | {
            "pageSize": self.settings.page_size,
            "pageNumber": 1,
        }
        url: str = path
        for _ in range(MAX_PAGES):
            page = await self.call("GET", url, params=query)
            for entity in page.get("entities") or []:
                yield entity
            next_uri = page.get("nextUri")
            number = int(page.get("pageNumber") or 1)
            count = page.get("pageCount")
            if next_uri:
                # nextUri carries its own query; the token goes only to the API host.
                url, query = str(next_uri), None
                if url.startswith("http") and not url.startswith(self.settings.api_url + "/"):
                    msg = f"Genesys GET {path}: nextUri leaves the API host; refusing it"
                    raise SpokeRejectedError(msg)
            elif isinstance(count, int) and number < count:
                query = dict(params or {}) | {
                    "pageSize": self.settings.page_size,
                    "pageNumber": number + 1,
                }
            else:
                return
        msg = f"Genesys GET {path}: more than {MAX_PAGES} pages"
        raise SpokeRejectedError(msg)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        what = f"Genesys {method} {httpx.URL(url).path}"
        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as err:
            msg = f"{what}: no answer within {self.settings.timeout_s:g}s"
            raise SpokeUnavailableError(msg) from err
        except httpx.RequestError as err:
            msg = f"{what}: {type(err).__name__}: {err}"
            raise SpokeUnavailableError(msg) from err

    @staticmethod
    def _json(what: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as err:
            msg = f"{what}: the answer is not JSON"
            raise SpokeRejectedError(msg) from err
