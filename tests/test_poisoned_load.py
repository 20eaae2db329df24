"""Poisoned requests mixed into valid traffic against a real server: no valid request fails.

Bounded and loopback only: a fixed number of requests from one client, a few at a time.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from omniroute.store import migrate
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import Server, Servers

VALID_REQUESTS = 240
POISONED_REQUESTS = 240
POISONED_SOCKETS = 6
IN_FLIGHT = 12
pytestmark = pytest.mark.timeout(300)


def auth(who: str) -> dict[str, str]:
    """Authorization headers for a token seeded by `seed_api`."""
    return {"Authorization": f"Bearer token-{who}"}


JSON = {"content-type": "application/json"}
DEEP = '{"channel_id": ' + "[" * 100_000 + "]" * 100_000 + "}"
Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Request:
    """One request of the mix: what it is and whether it is valid."""

    name: str
    call: Call
    valid: bool = True


def _post(path: str, who: str, raw: str) -> Call:
    return lambda c: c.post(path, content=raw, headers=auth(who) | JSON)


def _get(path: str, who: str) -> Call:
    return lambda c: c.get(path, headers=auth(who))


def _put(path: str, who: str, body: object) -> Call:
    return lambda c: c.put(path, json=body, headers=auth(who))


OFFER = '{"document_id": "d", "agent_id": "alice", '
YEAR_1 = '"offered_at": "0001-01-01T00:00:00+14:00"}'
YEAR_9999 = '"offered_at": "9999-12-31T23:59:59-14:00"}'
POISON: list[tuple[str, Call]] = [
    ("nul subject", _post("/interactions", "admin", '{"channel_id": "c", "subject": "\\u0000"}')),
    ("nul in path", _get("/interactions/a%00b", "admin")),
    ("nul in query", _get("/interactions?state=%00", "admin")),
    ("nan timeout", _post("/work-offers", "integration", OFFER + '"timeout": NaN}')),
    ("huge timeout", _post("/work-offers", "integration", OFFER + '"timeout": 1e308}')),
    ("year 1", _post("/work-offers", "integration", OFFER + YEAR_1)),
    ("year 9999", _post("/work-offers", "integration", OFFER + YEAR_9999)),
    ("huge capacity", _put("/agents/alice/capacity", "admin", {"capacity_cap": 10**30})),
    ("huge channel cap", _put("/agents/bob/capacity", "admin", {"channels": {"chat": 10**30}})),
    ("huge offset", _get(f"/interactions?offset={2**63}", "admin")),
    ("huge outbox id", _get(f"/outbox/{10**30}", "admin")),
    ("deep json", _post("/interactions", "admin", DEEP)),
    ("broken json", _post("/interactions", "admin", '{"channel_id": ')),
    ("not utf-8", lambda c: c.post("/cases", content=b"\xff{", headers=auth("admin") | JSON)),
    ("bool priority", _post("/interactions", "admin", '{"channel_id": "chat", "priority": true}')),
    ("unknown method", lambda c: c.request("PATCH", "/interactions", headers=auth("admin"))),
]  # fmt: skip


def valid_mix(n: int) -> list[Request]:
    """Creates, reads and presence changes that must all succeed."""
    kinds: list[Request] = []
    for i in range(n):
        match i % 4:
            case 0:
                body = json.dumps({"channel_id": "chat", "subject": f"valid #{i}"})
                kinds.append(Request("create", _post("/interactions", "integration", body)))
            case 1:
                kinds.append(Request("list", _get("/interactions?limit=5", "admin")))
            case 2:
                state = {"presence_id": "available" if i % 8 == 2 else "away"}
                kinds.append(Request("presence", _put("/agents/carol/presence", "carol", state)))
            case _:
                kinds.append(Request("capacity", _get("/agents/alice/capacity", "alice")))
    return kinds


@pytest.fixture
async def server(server_db_url: str, servers: Servers) -> Server:
    """A real server on a migrated database with the API tests' seed."""
    migrate.upgrade(server_db_url)
    db = Database(server_db_url)
    await seed_api(db)
    await db.dispose()
    return servers.start(server_db_url)


async def poisoned_socket(server: Server, n: int) -> int | None:
    """Open the agent feed with a `since` that cannot be a sequence number; the close code."""
    since = ("100000000000000000000", "%D9%A3", "-1")[n % 3]
    url = server.api_url.replace("http://", "ws://") + f"/agents/alice/feed?since={since}"
    async with connect(url, additional_headers=auth("alice")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_poisoned_requests_never_fail_valid_ones(server: Server) -> None:
    poison = [Request(*POISON[i % len(POISON)], valid=False) for i in range(POISONED_REQUESTS)]
    mix = valid_mix(VALID_REQUESTS) + poison
    random.Random(11).shuffle(mix)
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)

    async with httpx.AsyncClient(base_url=server.api_url, timeout=30.0, limits=limits) as c:

        async def send(request: Request) -> tuple[Request, int, str]:
            async with gate:
                r = await request.call(c)
            return request, r.status_code, r.text[:200]

        results, codes = await asyncio.gather(
            asyncio.gather(*(send(request) for request in mix)),
            asyncio.gather(*(poisoned_socket(server, n) for n in range(POISONED_SOCKETS))),
        )
        failed_valid = [
            (r.name, status, text) for r, status, text in results if r.valid and status >= 300
        ]
        poisoned = Counter((r.name, status) for r, status, _ in results if not r.valid)
        assert failed_valid == []
        assert all(400 <= status < 500 for _, status in poisoned), poisoned
        assert set(codes) == {1008}
        created = sum(1 for r, _, _ in results if r.name == "create")
        listed = await c.get("/interactions", params={"limit": 1000}, headers=auth("admin"))
        # Nothing half-written: exactly the valid creates are stored.
        assert len(listed.json()) == created
    assert server.alive
    log = server.log()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log
