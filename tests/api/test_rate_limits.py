"""Per-client rate limits (429 + Retry-After), per-client sign-in lock-out, bounded hashing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from limits import parse_many
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from omniroute.api.app import create_app
from omniroute.api.rate_limits import PRUNE_AT, HashingGate, RateLimits, WindowCounter
from omniroute.config import Settings
from omniroute.domain.errors import RetryLaterError
from omniroute.engine.clock import ManualClock
from omniroute.store.db import Database
from tests.api.conftest import Api, seed_api
from tests.api.test_session_api import PASSWORD, set_password
from tests.channels.chat_helpers import WIDGET, add_widget, seed_chat_server
from tests.conftest import reset_schema
from tests.procs import Servers
from tests.seed import NOW

SHOP = {"Origin": WIDGET["allowed_origins"][0]}
FORM = {"widget": "shop", "name": "Ann", "email": "ann@example.test", "question": "hello?"}


@asynccontextmanager
async def app_with(db_url: str, **settings: Any) -> AsyncIterator[Callable[[str], Api]]:
    """A seeded app with these settings; calling the result gives a client from an address."""
    db = Database(db_url)
    await reset_schema(db)
    await seed_api(db)
    await db.dispose()
    clock = ManualClock(NOW)
    app = create_app(Settings(database_url=db_url, demo=True, **settings), clock=clock)
    clients: list[httpx.AsyncClient] = []

    def from_address(address: str) -> Api:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://test/api/v1")
        clients.append(client)
        return Api(client, app, clock)

    async with app.router.lifespan_context(app):
        try:
            yield from_address
        finally:
            for client in clients:
                await client.aclose()


def refused(r: httpx.Response, code: str = "RATE_LIMITED") -> dict[str, Any]:
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code
    return error


async def test_chat_starts_are_limited_per_client_address(db_url: str) -> None:
    async with app_with(db_url, rate_limit_chat_start="3/minute") as client:
        one, other = client("198.51.100.1"), client("198.51.100.2")
        await add_widget(one.client)
        for _ in range(3):
            assert (await one.client.post("/chat/sessions", json=FORM, headers=SHOP)).is_success
        error = refused(await one.client.post("/chat/sessions", json=FORM, headers=SHOP))
        assert "try again in" in error["message"]
        assert (await other.client.post("/chat/sessions", json=FORM, headers=SHOP)).is_success


async def test_a_keyed_request_refused_for_its_rate_runs_when_retried(db_url: str) -> None:
    async with app_with(db_url, rate_limit_chat_start="1/minute") as client:
        one = client("198.51.100.1")
        await add_widget(one.client)
        assert (await one.client.post("/chat/sessions", json=FORM, headers=SHOP)).is_success
        keyed = SHOP | {"Idempotency-Key": "start-1"}
        refused(await one.client.post("/chat/sessions", json=FORM, headers=keyed))
        one.app.state.rate_limits = RateLimits(one.app.state.settings)  # the minute passed
        retried = await one.client.post("/chat/sessions", json=FORM, headers=keyed)
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers


async def test_anonymous_callers_keys_are_their_own(db_url: str) -> None:
    async with app_with(db_url) as client:
        one, other = client("198.51.100.1"), client("198.51.100.2")
        await add_widget(one.client)
        keyed = SHOP | {"Idempotency-Key": "1"}
        mine = await one.client.post("/chat/sessions", json=FORM, headers=keyed)
        theirs = await other.client.post("/chat/sessions", json=FORM, headers=keyed)
        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["token"] != theirs.json()["token"]
        again = await one.client.post("/chat/sessions", json=FORM, headers=keyed)
        assert again.json() == mine.json()


async def test_offline_messages_and_customer_files_are_limited(db_url: str) -> None:
    limits = {"rate_limit_offline_message": "2/minute", "rate_limit_chat_messages": "1/minute"}
    async with app_with(db_url, **limits) as client:
        one, other = client("198.51.100.3"), client("198.51.100.4")
        await add_widget(one.client)
        for _ in range(2):
            assert (
                await one.client.post("/chat/offline-messages", json=FORM, headers=SHOP)
            ).is_success
        refused(await one.client.post("/chat/offline-messages", json=FORM, headers=SHOP))
        assert (
            await other.client.post("/chat/offline-messages", json=FORM, headers=SHOP)
        ).is_success

        chat = (await other.client.post("/chat/sessions", json=FORM, headers=SHOP)).json()
        path = f"/chat/sessions/{chat['session_id']}/attachments"
        customer = {"Authorization": f"Bearer {chat['token']}", "Content-Type": "text/plain"}

        async def upload(client_id: str) -> httpx.Response:
            params = {"filename": "a.txt", "client_id": client_id}
            return await other.client.post(path, params=params, content=b"hi", headers=customer)

        assert (await upload("f1")).status_code == 201
        assert (await upload("f1")).status_code == 201  # a retry of a stored file is no new one
        refused(await upload("f2"))


async def test_provider_event_posts_are_limited_per_address_before_the_signature(
    db_url: str,
) -> None:
    async with app_with(db_url, rate_limit_spoke_events="2/minute") as client:
        one, other = client("198.51.100.5"), client("198.51.100.6")
        for _ in range(2):
            r = await one.client.post("/spokes/nosuch/events", content=b"{}")
            assert r.status_code == 404, r.text
        refused(await one.client.post("/spokes/nosuch/events", content=b"{}"))
        assert (await other.client.post("/spokes/nosuch/events", content=b"{}")).status_code == 404


async def test_widget_settings_and_sign_in_are_limited(db_url: str) -> None:
    async with app_with(db_url, rate_limit_widget="2/minute", rate_limit_sign_in="2/minute") as c:
        api = c("198.51.100.7")
        await add_widget(api.client)
        for _ in range(2):
            assert (await api.client.get("/chat/widgets/shop", headers=SHOP)).is_success
        refused(await api.client.get("/chat/widgets/shop", headers=SHOP))
        wrong = {"email": "nobody@example.test", "password": "x"}
        for _ in range(2):
            assert (await api.client.post("/session", json=wrong)).status_code == 401
        refused(await api.client.post("/session", json=wrong))


async def test_the_case_form_past_its_rate_is_a_page_saying_when_to_retry(db_url: str) -> None:
    async with app_with(db_url, rate_limit_case_form="1/minute") as client:
        site = client("198.51.100.9").client
        # Refused for its missing form token, and counted all the same.
        assert (await site.post("http://test/support/case", data={})).status_code == 400
        r = await site.post("http://test/support/case", data={})
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("text/html")
        assert int(r.headers["retry-after"]) >= 1
        assert f"again in {r.headers['retry-after']} seconds" in r.text


async def test_failed_sign_ins_lock_out_only_the_guessing_client(db_url: str) -> None:
    async with app_with(db_url, sign_in_max_failures=3) as client:
        guesser, alice = client("203.0.113.66"), client("192.0.2.10")
        await set_password(guesser, "alice")
        wrong = {"email": "alice@example.test", "password": "nope"}
        right = {"email": "alice@example.test", "password": PASSWORD}
        for _ in range(3):
            assert (await guesser.client.post("/session", json=wrong)).status_code == 401
        refused(await guesser.client.post("/session", json=right), "TOO_MANY_ATTEMPTS")
        # The agent herself, from her own machine, still signs in with the right password.
        assert (await alice.client.post("/session", json=right)).status_code == 201
        guesser.clock.advance(301)
        assert (await guesser.client.post("/session", json=right)).status_code == 201


async def test_password_hashing_runs_a_few_at_a_time_and_refuses_a_long_queue() -> None:
    gate = HashingGate(concurrency=2, queue=1)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()

    def slow_hash() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1
        return "hashed"

    tasks = [asyncio.create_task(gate.run(slow_hash)) for _ in range(3)]
    await asyncio.sleep(0)  # let the three calls enter the gate
    with pytest.raises(RetryLaterError):
        await gate.run(slow_hash)
    release.set()
    assert await asyncio.gather(*tasks) == ["hashed"] * 3
    assert most == 2


async def closed(ws: ClientConnection) -> ConnectionClosed:
    """Read until the server closes the socket (bounded); how it closed it."""
    async with asyncio.timeout(10):
        while True:
            try:
                await ws.recv()
            except ConnectionClosed as err:
                return err


async def test_customer_sockets_are_limited_per_chat(servers: Servers, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    await seed_chat_server(url)
    limits = {
        "OMNIROUTE_RATE_LIMIT_CHAT_MESSAGES": "3/minute",
        "OMNIROUTE_RATE_LIMIT_CHAT_FRAMES": "8/minute",
        "OMNIROUTE_WS_MAX_MESSAGE_BYTES": "4096",
    }
    server = servers.start(url, env=limits)
    async with httpx.AsyncClient(base_url=server.api_url, timeout=10) as api:
        r = await api.post("/chat/sessions", json=FORM, headers=SHOP)
        assert r.status_code == 201, r.text
        chat = r.json()
        ws_url = f"ws://{server.host}:{server.port}{chat['ws_path']}"
        async with connect(ws_url, additional_headers=SHOP) as ws:
            await ws.send(json.dumps({"type": "auth", "token": chat["token"]}))
            for n in range(5):
                await ws.send(json.dumps({"type": "message", "body": f"m{n}", "client_id": f"{n}"}))
            errors: list[dict[str, Any]] = []
            stored: list[str] = []
            while len(errors) < 2 or len(stored) < 4:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "error":
                    errors.append(frame)
                elif frame["type"] == "message":
                    stored.append(frame["message"]["body"])
            # Five frames so far; three more pings pass, the ninth frame closes the socket.
            for _ in range(4):
                await ws.send(json.dumps({"type": "ping"}))
            flooded = (await closed(ws)).rcvd
            assert flooded is not None
            assert (flooded.code, flooded.reason[:13]) == (1008, "RATE_LIMITED:")
        async with connect(ws_url, additional_headers=SHOP) as ws:
            await ws.send(json.dumps({"type": "auth", "token": chat["token"]}))
            await ws.send(json.dumps({"type": "message", "body": "x" * 4000, "pad": "y" * 500}))
            too_big = (await closed(ws)).rcvd
            assert too_big is not None
            assert too_big.code == 1009
        assert [e["code"] for e in errors] == ["RATE_LIMITED", "RATE_LIMITED"]
        r = await api.get(
            f"/interactions/{chat['interaction_id']}/messages",
            headers={"Authorization": "Bearer token-admin"},
        )
        customer = [m["body"] for m in r.json()["items"] if m["sender"] == "customer"]
        assert customer == ["hello?", "m0", "m1", "m2"]


async def test_forwarded_for_counts_only_from_a_trusted_proxy(db_url: str) -> None:
    settings = {"rate_limit_widget": "1/minute", "trusted_proxies": "10.0.0.0/8, 192.0.2.1"}
    async with app_with(db_url, **settings) as client:
        outsider, proxy = client("198.51.100.9"), client("10.20.30.40")
        await add_widget(outsider.client)

        def settings_read(api: Api, forwarded: str) -> Any:
            headers = SHOP | {"X-Forwarded-For": forwarded}
            return api.client.get("/chat/widgets/shop", headers=headers)

        # A forged header from an untrusted address changes nothing: one client, one rate.
        assert (await settings_read(outsider, "203.0.113.1")).is_success
        refused(await settings_read(outsider, "203.0.113.2"))
        # From the proxy each forwarded client has its own rate.
        assert (await settings_read(proxy, "203.0.113.1")).is_success
        assert (await settings_read(proxy, "203.0.113.2")).is_success
        refused(await settings_read(proxy, "203.0.113.1"))


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ValueError, match="not an address or CIDR"):
        Settings(demo=True, trusted_proxies="10.0.0.0/8, proxy.example")
    assert Settings(demo=True, trusted_proxies=" 10.0.0.0/8 ,::1").trusted_proxy_list == [
        "10.0.0.0/8",
        "::1",
    ]
    assert Settings(demo=True).trusted_proxy_list == []


async def test_each_api_credential_has_its_own_rate(db_url: str) -> None:
    async with app_with(db_url, rate_limit_api="100/second;3/minute") as client:
        api = client("198.51.100.8")
        for _ in range(3):
            assert (await api.client.get("/queues", headers=api.auth("integration"))).is_success
        error = refused(await api.client.get("/queues", headers=api.auth("integration")))
        assert "3 per 1 minute" in error["message"]
        # The same address with another credential is not held back.
        assert (await api.client.get("/queues", headers=api.auth("admin"))).is_success


def test_api_windows_refuse_past_their_count_and_begin_again_after_their_length() -> None:
    now = [100.0]
    counter = WindowCounter(parse_many("2/second;3/minute"), lambda: now[0])
    counter.hit("a")
    counter.hit("a")
    with pytest.raises(RetryLaterError) as per_second:
        counter.hit("a")
    assert per_second.value.retry_after_s == 1
    counter.hit("b")  # another credential has its own windows
    now[0] += 1.0
    counter.hit("a")  # a new second, the minute's third request
    now[0] += 1.0
    with pytest.raises(RetryLaterError) as per_minute:
        counter.hit("a")
    assert per_minute.value.retry_after_s == 58
    now[0] += 58.0
    counter.hit("a")


def test_api_windows_forget_credentials_whose_windows_ended() -> None:
    now = [0.0]
    counter = WindowCounter(parse_many("1/second"), lambda: now[0])
    for n in range(PRUNE_AT):
        counter.hit(f"session-{n}")
    now[0] += 1.0
    counter.hit("session-0")  # a new window of a known key: no pruning
    counter.hit("fresh")  # a new key past the mark: the ended ones go
    counter.hit("session-1")  # forgotten, so counted from zero
    with pytest.raises(RetryLaterError):
        counter.hit("fresh")
    assert len(counter._keys) == 3
