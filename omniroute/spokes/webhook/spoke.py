"""The webhook spoke: signed JSON POSTs out, signed catalog GETs, signed inbound events."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from omniroute import jsontext
from omniroute.domain.model import DisplayOption
from omniroute.domain.outbound import SCHEMA_VERSION, TransferType
from omniroute.domain.profile import ProviderProfile
from omniroute.spokes import signing
from omniroute.spokes.base import (
    CatalogEntry,
    CatalogKind,
    InboundEvent,
    InboundEventType,
    InboundOffer,
    InboundTransfer,
    RoutingEvent,
    Spoke,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.events_schema import (
    INBOUND_EVENT,
    AgentSignedInEvent,
    CallContextInEvent,
    CatalogPage,
    ParsedInbound,
    TransferInData,
    WorkOfferedEvent,
    WorkRescindedEvent,
)
from omniroute.spokes.store import SpokeStore
from omniroute.spokes.webhook.calls import call_context_event
from omniroute.spokes.webhook.profile import PROFILE_PATH, AgentProfileIn
from omniroute.spokes.webhook.settings import WebhookSettings

CATALOG_PATHS = {
    CatalogKind.SKILLS: "skills",
    CatalogKind.QUEUES: "queues",
    CatalogKind.WRAP_UP_CODES: "wrap-up-codes",
    CatalogKind.AGENTS: "agents",
}
HEALTH_PATH = "health"
EXCERPT_CHARS = 200
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_PAGES = 1000
MAX_INBOUND_EVENTS = 500
MAX_PROBLEMS = 3
RETRY_AFTER_STATUSES = frozenset({429, 503})


def envelope(event: RoutingEvent) -> dict[str, Any]:
    """The JSON object a routing event is POSTed as."""
    return {
        "schema_version": event.schema_version,
        "id": event.id,
        "type": event.type.value,
        "spoke": event.spoke,
        "ordering_key": event.ordering_key,
        "created_at": event.created_at.isoformat(),
        "attempt": event.attempt,
        "data": dict(event.payload),
    }


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    msg = f"{type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def encode(body: Any) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return text.encode("utf-8")


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), if it makes sense."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _shown(url: httpx.URL) -> str:
    # Credentials and tokens often ride in the user info or the query: keep them out of logs.
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def _excerpt(content: bytes) -> str:
    text = " ".join(content.decode("utf-8", errors="replace").split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def _problems(err: ValidationError, prefix: str = "") -> str:
    tags = {t.value for t in InboundEventType}
    found = []
    for problem in err.errors()[:MAX_PROBLEMS]:
        loc = [str(p) for p in problem["loc"]]
        if len(loc) > 1 and loc[0] in tags:
            loc = loc[1:]
        where = prefix + ".".join(loc) if loc else prefix.rstrip(".")
        found.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
    more = err.error_count() - MAX_PROBLEMS
    return "; ".join(found) + (f" (and {more} more)" if more > 0 else "")


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _below(base: httpx.URL, path: str) -> httpx.URL:
    return base.copy_with(path=base.path.rstrip("/") + "/" + path)


def _parse_envelope(raw: object, where: str) -> ParsedInbound:
    if isinstance(raw, dict):
        version = raw.get("schema_version")
        if version is not None and version != SCHEMA_VERSION:
            msg = (
                f"{where}schema_version: {version!r} is not supported; "
                f"this Omniroute speaks {SCHEMA_VERSION}"
            )
            raise SpokeRejectedError(msg)
    try:
        return INBOUND_EVENT.validate_python(raw)
    except ValidationError as err:
        raise SpokeRejectedError(_problems(err, where)) from err


def _transfer(given: TransferInData | None) -> InboundTransfer | None:
    if given is None:
        return None
    return InboundTransfer(
        type=TransferType(given.type),
        from_provider_agent_id=given.from_provider_agent_id,
        source_provider_queue_id=given.source_provider_queue_id,
    )


def _inbound_event(parsed: ParsedInbound) -> InboundEvent:
    if isinstance(parsed, CallContextInEvent):
        return call_context_event(parsed)
    if isinstance(parsed, WorkOfferedEvent):
        offered = parsed.data
        return InboundEvent(
            id=parsed.id,
            type=InboundEventType.WORK_OFFERED,
            provider_agent_id=offered.provider_agent_id,
            occurred_at=offered.occurred_at,
            offer=InboundOffer(
                external_segment_id=offered.external_segment_id,
                document_id=offered.document_id,
                work_item_id=offered.work_item_id,
                provider_queue_id=offered.provider_queue_id,
                allowed_to_decline=offered.allowed_to_decline,
                auto_accept=offered.auto_accept,
                timeout_s=offered.timeout,
                display_option=DisplayOption(offered.display_option),
                transfer=_transfer(offered.transfer),
            ),
        )
    if isinstance(parsed, WorkRescindedEvent):
        return InboundEvent(
            id=parsed.id,
            type=InboundEventType.WORK_RESCINDED,
            provider_agent_id=parsed.data.provider_agent_id,
            occurred_at=parsed.data.occurred_at,
            offer=InboundOffer(external_segment_id=parsed.data.external_segment_id),
        )
    if isinstance(parsed, AgentSignedInEvent):
        return InboundEvent(
            id=parsed.id,
            type=InboundEventType.AGENT_SIGNED_IN,
            provider_agent_id=parsed.data.provider_agent_id,
            email=parsed.data.email,
            name=parsed.data.name,
            occurred_at=parsed.data.occurred_at,
        )
    return InboundEvent(
        id=parsed.id,
        type=InboundEventType.AGENT_PRESENCE,
        provider_agent_id=parsed.data.provider_agent_id,
        state_name=parsed.data.state_name,
        occurred_at=parsed.data.occurred_at,
    )


class WebhookSpoke(Spoke[WebhookSettings]):
    """A provider that speaks Omniroute's webhook protocol over HTTPS."""

    def __init__(
        self, instance_name: str, settings: WebhookSettings, store: SpokeStore | None = None
    ) -> None:
        super().__init__(instance_name, settings, store)
        self._http: httpx.AsyncClient | None = None

    async def setup(self) -> None:
        """Open the HTTP connection pool; the provider is not contacted."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.timeout_s),
                follow_redirects=False,
                headers={"User-Agent": f"omniroute-webhook/{self.manifest.version}"},
            )

    async def unload(self) -> None:
        """Close the HTTP connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def health(self) -> None:
        """A signed GET of `{catalog_url}/health`, or of `{url}?health=1` without a catalog."""
        if self.settings.catalog_url is not None:
            url = _below(httpx.URL(str(self.settings.catalog_url)), HEALTH_PATH)
        else:
            url = httpx.URL(str(self.settings.url)).copy_merge_params({"health": "1"})
        await self._call("GET", url)

    async def deliver(self, event: RoutingEvent) -> None:
        """POST the signed envelope; the event id is the Idempotency-Key."""
        if event.schema_version != SCHEMA_VERSION:
            version = event.schema_version
            msg = f"event '{event.id}' has schema version {version}, not {SCHEMA_VERSION}"
            raise SpokeRejectedError(msg)
        headers = {"Content-Type": "application/json", "Idempotency-Key": event.id}
        await self._call(
            "POST", httpx.URL(str(self.settings.url)), encode(envelope(event)), headers
        )

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """Every page of `{catalog_url}/<kind>`, following `next`."""
        if self.settings.catalog_url is None:
            msg = f"webhook spoke '{self.instance_name}' has no catalog_url to list {kind.value}"
            raise SpokeRejectedError(msg)
        base = httpx.URL(str(self.settings.catalog_url))
        url = _below(base, CATALOG_PATHS[kind])
        entries: dict[str, CatalogEntry] = {}
        visited: set[httpx.URL] = set()
        for _ in range(MAX_PAGES):
            visited.add(url)
            page = self._page(await self._call("GET", url), url)
            for item in page.items:
                entries[item.id] = CatalogEntry(item.id, item.name, dict(item.model_extra or {}))
            if page.next is None:
                return list(entries.values())
            url = self._next_page(base, url, page.next, visited)
        msg = f"{self._what('GET', url)}: more than {MAX_PAGES} pages"
        raise SpokeRejectedError(msg)

    async def fetch_profile(self, provider_agent_id: str) -> ProviderProfile:
        """A signed GET of `{catalog_url}/agents/{id}/profile`."""
        if self.settings.catalog_url is None:
            msg = f"webhook spoke '{self.instance_name}' has no catalog_url to read profiles from"
            raise SpokeRejectedError(msg)
        path = PROFILE_PATH.format(id=quote(provider_agent_id, safe=""))
        url = _below(httpx.URL(str(self.settings.catalog_url)), path)
        content = await self._call("GET", url)
        try:
            parsed = AgentProfileIn.model_validate_json(content)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            msg = f"{self._what('GET', url)}: not an agent profile: {where}: {first['msg']}"
            raise SpokeRejectedError(msg) from err
        if parsed.id != provider_agent_id:
            msg = f"{self._what('GET', url)}: the profile is of agent '{parsed.id}'"
            raise SpokeRejectedError(msg)
        return parsed.profile()

    def parse_inbound(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify the signature and parse one envelope or a list of them."""
        secret = self.settings.secret.get_secret_value()
        try:
            signing.verify(secret, headers, body, tolerance_s=self.settings.tolerance_s)
        except signing.SignatureError as err:
            msg = f"webhook spoke '{self.instance_name}': {err}"
            raise SpokeAuthError(msg) from err
        try:
            raw = jsontext.loads(body)
        except ValueError as err:
            msg = f"the body is not JSON: {err}"
            raise SpokeRejectedError(msg) from err
        if isinstance(raw, dict):
            return [_inbound_event(_parse_envelope(raw, ""))]
        if not isinstance(raw, list):
            msg = "the body must be an event object or a list of event objects"
            raise SpokeRejectedError(msg)
        if len(raw) > MAX_INBOUND_EVENTS:
            msg = f"{len(raw)} events in one request; send at most {MAX_INBOUND_EVENTS}"
            raise SpokeRejectedError(msg)
        return [_inbound_event(_parse_envelope(item, f"[{n}].")) for n, item in enumerate(raw)]

    # -- helpers -------------------------------------------------------------------------

    def _what(self, method: str, url: httpx.URL) -> str:
        return f"webhook spoke '{self.instance_name}': {method} {_shown(url)}"

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            msg = f"webhook spoke '{self.instance_name}' is not set up; call setup() first"
            raise RuntimeError(msg)
        return self._http

    async def _call(
        self,
        method: str,
        url: httpx.URL,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """Send one signed request; the body of a 2xx answer, or the mapped SpokeError."""
        client = self._client()
        what = self._what(method, url)
        signed = signing.sign(self.settings.secret.get_secret_value(), body) | dict(headers or {})
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                request = client.build_request(method, url, content=body or None, headers=signed)
                response = await client.send(request, stream=True)
                try:
                    content, complete = await self._read(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as err:
            msg = f"{what}: no answer within {self.settings.timeout_s:g}s"
            raise SpokeUnavailableError(msg) from err
        except httpx.RequestError as err:
            msg = f"{what}: {type(err).__name__}: {err}"
            raise SpokeUnavailableError(msg) from err
        self._check(what, response, content)
        if not complete:
            msg = f"{what}: the answer is larger than {MAX_RESPONSE_BYTES} bytes"
            raise SpokeRejectedError(msg)
        return content

    @staticmethod
    async def _read(response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                return b"".join(chunks)[:MAX_RESPONSE_BYTES], False
        return b"".join(chunks), True

    @staticmethod
    def _check(what: str, response: httpx.Response, content: bytes) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        excerpt = _excerpt(content)
        message = f"{what} answered {status}" + (f": {excerpt}" if excerpt else "")
        if status in (401, 403):
            raise SpokeAuthError(message)
        if status == 429 or status >= 500:
            wait = None
            if status in RETRY_AFTER_STATUSES:
                wait = retry_after_s(response.headers.get("Retry-After"))
            raise SpokeUnavailableError(message, retry_after_s=wait)
        if 300 <= status < 400:
            message += " (redirects are not followed: configure the final URL)"
        raise SpokeRejectedError(message)

    def _page(self, content: bytes, url: httpx.URL) -> CatalogPage:
        try:
            return CatalogPage.model_validate_json(content)
        except ValidationError as err:
            msg = f"{self._what('GET', url)}: not a catalog page: {_problems(err)}"
            raise SpokeRejectedError(msg) from err

    def _next_page(
        self, base: httpx.URL, current: httpx.URL, link: str, visited: set[httpx.URL]
    ) -> httpx.URL:
        try:
            following = current.join(link)
        except httpx.InvalidURL as err:
            msg = f"{self._what('GET', current)}: next is not a URL: {link[:EXCERPT_CHARS]}"
            raise SpokeRejectedError(msg) from err
        if not _same_origin(following, base):
            # Signed requests go only where the administrator pointed catalog_url.
            msg = (
                f"{self._what('GET', current)}: next points to another host "
                f"({_shown(following)}); refusing to follow it"
            )
            raise SpokeRejectedError(msg)
        if following in visited:
            msg = f"{self._what('GET', current)}: next loops back to {_shown(following)}"
            raise SpokeRejectedError(msg)
        return following
