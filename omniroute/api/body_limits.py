"""Per-route request body limits: 413 as soon as the size is declared or exceeded."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniroute.api.errors import error_body
from omniroute.config import Settings
from omniroute.domain.errors import ErrorCode

# The connection is closed after a refusal, so the rest of a large body is never read.
CLOSE = {"Connection": "close"}


@dataclass(frozen=True, slots=True)
class BodyRule:
    """The most bytes a request body may have on the paths a pattern matches."""

    pattern: re.Pattern[str]
    max_bytes: int


def body_rules(settings: Settings) -> tuple[BodyRule, ...]:
    """The per-route rules, most specific first; the last one matches every path."""
    return (
        BodyRule(re.compile(r"^/api/v1/(chat/sessions|session)$"), settings.public_body_max_bytes),
        BodyRule(re.compile(r"^/support/case$"), settings.public_body_max_bytes),
        BodyRule(
            re.compile(r"^/api/v1/interactions/[^/]+/email-replies$"),
            settings.email_reply_max_bytes,
        ),
        BodyRule(re.compile(r""), settings.body_max_bytes),
    )


def too_large(limit: int) -> str:
    """What a refused caller is told."""
    return f"the request body is larger than this endpoint's limit of {limit} bytes; send less"


class BodyLimit:
    """ASGI middleware: refuse a too-large declared body at once; stop reading one that grows."""

    def __init__(self, app: ASGIApp, rules: tuple[BodyRule, ...]) -> None:
        self.app = app
        self.rules = rules

    def limit(self, path: str) -> int:
        """The limit of a path."""
        return next(rule.max_bytes for rule in self.rules if rule.pattern.match(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes the app receives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large(limit), headers=CLOSE)
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(error_body(ErrorCode.PAYLOAD_TOO_LARGE, too_large(limit)))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
