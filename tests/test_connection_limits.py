"""A real server drops slow and idle clients and keeps serving agents under a low file limit."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from omniroute.store import migrate
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import Server, Servers

pytestmark = pytest.mark.timeout(120)

PARTIAL_HEAD = b"GET /api/v1/agents/alice/presence HTTP/1.1\r\nHost: 127.0.0.1\r\n"
CLOSE_WITHIN_S = 15.0
FAST = {
    "OMNIROUTE_HTTP_HEADER_TIMEOUT_S": "1",
    "OMNIROUTE_HTTP_BODY_TIMEOUT_S": "1",
    "OMNIROUTE_HTTP_KEEPALIVE_TIMEOUT_S": "1",
}


@pytest.fixture
async def store(tmp_path: Path) -> str:
    """A migrated SQLite database with the API tests' agents and tokens (the doors under test
    are the same whatever the store)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"
    migrate.upgrade(url)
    db = Database(url)
    await seed_api(db)
    await db.dispose()
    return url


def connect(server: Server, first: bytes = b"") -> socket.socket:
    """A client connection that has sent `first` and nothing else."""
    sock = socket.create_connection((server.host, server.port), timeout=5)
    if first:
        sock.sendall(first)
    return sock


def read_until_closed(sock: socket.socket, within_s: float = CLOSE_WITHIN_S) -> bytes | None:
    """Everything the server sent before it closed the connection; None if it never did."""
    deadline = time.monotonic() + within_s
    received = b""
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    return None


def agent_call(server: Server) -> int:
    """One agent request on a fresh connection; its status."""
    with httpx.Client(base_url=server.api_url, timeout=10) as client:
        r = client.get("/agents/alice/presence", headers={"Authorization": "Bearer token-alice"})
        return r.status_code


@pytest.fixture
def held() -> Iterator[ExitStack]:
    """Closes every socket a test holds open."""
    with ExitStack() as stack:
        yield stack


def test_a_half_sent_head_is_answered_408_and_closed(
    servers: Servers, store: str, held: ExitStack
) -> None:
    server = servers.start(store, env=FAST)
    sock = held.enter_context(connect(server, PARTIAL_HEAD))
    answer = read_until_closed(sock)
    assert answer is not None, "the half-sent request was never dropped"
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"REQUEST_TIMEOUT" in answer
    assert agent_call(server) == 200


def test_an_idle_connection_and_a_finished_keep_alive_are_closed(
    servers: Servers, store: str, held: ExitStack
) -> None:
    server = servers.start(store, env=FAST)
    idle = held.enter_context(connect(server))
    assert read_until_closed(idle) == b""
    kept = held.enter_context(connect(server, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    answer = read_until_closed(kept)
    assert answer is not None, "the keep-alive connection was never closed"
    assert answer.startswith(b"HTTP/1.1 200")


def test_a_slow_body_is_dropped(servers: Servers, store: str, held: ExitStack) -> None:
    server = servers.start(store, env=FAST)
    head = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    sock = held.enter_context(connect(server, head + b'{"email": '))
    assert read_until_closed(sock) is not None, "the slow body was never dropped"
    assert agent_call(server) == 200


def test_an_oversized_head_is_refused(servers: Servers, store: str, held: ExitStack) -> None:
    server = servers.start(store, env={"OMNIROUTE_HTTP_MAX_HEADER_BYTES": "8192"})
    sock = held.enter_context(connect(server, PARTIAL_HEAD + b"X-Pad: " + b"a" * 20_000))
    answer = read_until_closed(sock)
    assert answer is not None
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_declared_huge_body_is_refused_before_it_is_sent(
    servers: Servers, store: str, held: ExitStack
) -> None:
    server = servers.start(store)
    head = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
    )
    sock = held.enter_context(connect(server, head))
    answer = read_until_closed(sock)
    assert answer is not None
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"PAYLOAD_TOO_LARGE" in answer


def test_the_open_file_limit_is_raised_to_the_hard_limit(servers: Servers, store: str) -> None:
    server = servers.start(store, file_limit=(256, 4096))
    limits = Path(f"/proc/{server.process.pid}/limits").read_text()
    (line,) = [row for row in limits.splitlines() if row.startswith("Max open files")]
    assert line.split()[3:5] == ["4096", "4096"]


def test_agents_keep_working_past_the_file_limit_with_many_half_sent_requests(
    servers: Servers, store: str, held: ExitStack
) -> None:
    # The header timeout is long, so only the connection cap can make room.
    server = servers.start(
        store, env={"OMNIROUTE_HTTP_HEADER_TIMEOUT_S": "300"}, file_limit=(256, 256)
    )
    assert "lowered from 1000 to 192" in server.log()
    slow = [held.enter_context(connect(server, PARTIAL_HEAD)) for _ in range(400)]
    statuses = [agent_call(server) for _ in range(20)]
    assert statuses == [200] * 20
    assert server.alive
    assert "Too many open files" not in server.log()
    dropped = sum(1 for sock in slow[:100] if read_until_closed(sock, 2.0) is not None)
    assert dropped == 100, "the oldest half-sent requests should have made room"


def test_a_websocket_peer_that_answers_no_ping_is_closed(
    servers: Servers, store: str, held: ExitStack
) -> None:
    pings = {"OMNIROUTE_WS_PING_INTERVAL_S": "0.5", "OMNIROUTE_WS_PING_TIMEOUT_S": "0.5"}
    server = servers.start(store, env=pings)
    handshake = (
        b"GET /api/v1/agents/alice/feed HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer token-alice\r\n\r\n"
    )
    # A peer that reads but never answers a ping (uvicorn's own default waits 20 + 20 s).
    received = read_until_closed(held.enter_context(connect(server, handshake)), 10.0)
    assert received is not None, "the silent peer was kept open"
    assert received.startswith(b"HTTP/1.1 101")
