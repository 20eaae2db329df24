"""A server's whole log, after it served tokens in URLs and ran on a password, names no secret."""

from __future__ import annotations

import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from omniroute.logs import REDACTED, redact
from omniroute.store import migrate
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import TEST_SECRET_KEY, Servers

pytestmark = pytest.mark.timeout(90)
PG_PASSWORD = "pg-password-that-must-not-leak"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('GET /api/v1/agents/a/feed?since=3&token=tok-123 HTTP/1.1" 101', "tok-123"),
        ("postgresql+asyncpg://omni:hunter2@db:5432/omni", "hunter2"),
        ("Authorization: Bearer abc.def", "abc.def"),
        ("/ws?access_token=zzz#frag", "zzz"),
    ],
)
def test_redact_removes_each_kind_of_credential(line: str, secret: str) -> None:
    assert secret not in redact(line)
    assert REDACTED in redact(line)


async def test_the_whole_log_holds_no_secret(servers: Servers, server_db_url: str) -> None:
    url = make_url(server_db_url)
    if url.get_backend_name() == "postgresql":
        # The test server trusts local connections, so any password connects.
        url = url.set(password=PG_PASSWORD)
    database_url = url.render_as_string(hide_password=False)
    migrate.upgrade(database_url)
    db = Database(database_url)
    await seed_api(db)
    await db.dispose()
    server = servers.start(database_url)
    ws_base = f"ws://{server.host}:{server.port}/api/v1"

    async with httpx.AsyncClient(base_url=server.api_url, timeout=10) as client:
        admin = {"Authorization": "Bearer token-admin"}
        r = await client.post(
            "/chat-widgets", json={"id": "w", "title": "W", "queue_id": "support"}, headers=admin
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            "/chat/sessions",
            json={"widget": "w", "name": "Cy", "email": "cy@example.test", "question": "hi"},
        )
        assert r.status_code == 201, r.text
        chat = r.json()
        r = await client.get("/agents/alice/presence?token=token-alice")
        assert r.status_code == 401
    async with websockets.connect(f"{ws_base}/agents/alice/feed?token=token-alice") as ws:
        await ws.recv()
    chat_ws = f"ws://{server.host}:{server.port}{chat['ws_path']}?token={chat['token']}"
    async with websockets.connect(chat_ws, origin=websockets.Origin(server.base_url)) as ws:
        await ws.recv()
    server.terminate()
    log = server.log()
    assert "/agents/alice/feed?token=[redacted]" in log
    assert f"/chat/sessions/{chat['session_id']}/ws?token=[redacted]" in log
    for secret in ("token-alice", "token-admin", chat["token"], TEST_SECRET_KEY, PG_PASSWORD):
        assert secret not in log
