"""Bodies over a route's limit are refused with 413 before they are read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from omniroute.config import Settings
from tests.api.conftest import Api

CHUNK = b"x" * 8192
PUBLIC_LIMIT = Settings(demo=True).public_body_max_bytes
DEFAULT_LIMIT = Settings(demo=True).body_max_bytes


class Chunks:
    """A chunked request body of many chunks that counts how many were taken."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.taken += 1
            yield CHUNK


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/chat/sessions", PUBLIC_LIMIT),
        ("/session", PUBLIC_LIMIT),
        ("/interactions", DEFAULT_LIMIT),
        ("/interactions/i-1/email-replies", Settings(demo=True).email_reply_max_bytes),
    ],
)
async def test_a_chunked_body_over_the_limit_stops_being_read(
    api: Api, path: str, limit: int
) -> None:
    body = Chunks(count=12_800)  # 100 MiB if it were all read
    r = await api.client.post(
        path,
        content=body,
        headers=api.auth("integration") | {"content-type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert str(limit) in r.json()["error"]["message"]
    assert body.taken * len(CHUNK) <= limit + len(CHUNK)


async def test_a_declared_length_over_the_limit_is_refused_unread(api: Api) -> None:
    async def never_read() -> AsyncIterator[bytes]:
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    r = await api.client.post(
        "/session",
        content=never_read(),
        headers={"content-type": "application/json", "content-length": str(100 * 1024 * 1024)},
    )
    assert r.status_code == 413
    assert r.headers["connection"] == "close"
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_under_the_limit_goes_through(api: Api) -> None:
    padding = "y" * (PUBLIC_LIMIT // 2)
    r = await api.client.post(
        "/session", json={"email": "nobody@example.test", "password": padding[:1000]}
    )
    assert r.status_code == 401, r.text
    r = await api.client.post(
        "/cases",
        json={"queue_id": "cases", "subject": "s", "description": padding},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text


async def test_limits_are_settings(db_url: str) -> None:
    from omniroute.api.app import create_app

    app = create_app(Settings(database_url=db_url, demo=True, body_max_bytes=2048))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        r = await client.post("/interactions", content=b"x" * 4096)
    assert r.status_code == 413
    assert "2048" in r.json()["error"]["message"]
