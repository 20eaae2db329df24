"""Browser sessions: sign-in with argon2, the cookie, CSRF, throttling, expiry, the WS feed."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from websockets.asyncio.client import connect

from omniroute.api.auth import Principal, Role
from omniroute.domain.errors import DomainError
from omniroute.services.admin import hash_password
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_feed_ws import closed_code, recv, ws_url

__all__ = ["ws_url"]

PASSWORD = "correct horse battery staple"


async def set_password(api: Api, agent_id: str, *, supervisor: bool = False) -> None:
    db: Database = api.app.state.db
    digest = await hash_password(PASSWORD)
    async with db.session() as s, s.begin():
        await s.execute(
            update(t.AgentRow)
            .where(t.AgentRow.id == agent_id)
            .values(password_hash=digest, supervisor=supervisor)
        )


async def sign_in(api: Api, email: str = "alice@example.test", password: str = PASSWORD) -> str:
    r = await api.client.post("/session", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    csrf: str = r.json()["csrf_token"]
    return csrf


async def test_sign_in_sets_an_http_only_strict_cookie_and_returns_the_csrf_token(
    api: Api,
) -> None:
    await set_password(api, "alice")
    r = await api.client.post(
        "/session", json={"email": " Alice@Example.test ", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["agent_id"], body["email"], body["supervisor"]) == (
        "alice",
        "alice@example.test",
        False,
    )
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("omniroute_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    # Plain HTTP and no cookie_secure: a Secure cookie would never come back.
    assert "Secure" not in cookie
    assert body["csrf_token"] not in cookie
    again = await api.client.get("/session")
    assert again.json()["csrf_token"] == body["csrf_token"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("alice@example.test", "wrong"), ("nobody@example.test", PASSWORD)],
)
async def test_wrong_email_or_password_is_one_error(api: Api, email: str, password: str) -> None:
    await set_password(api, "alice")
    r = await api.client.post("/session", json={"email": email, "password": password})
    error(r, 401, "INVALID_CREDENTIALS", "password")
    assert "set-cookie" not in r.headers


async def test_an_agent_without_a_password_cannot_sign_in(api: Api) -> None:
    r = await api.client.post("/session", json={"email": "bob@example.test", "password": "x"})
    error(r, 401, "INVALID_CREDENTIALS")


async def test_changes_through_the_cookie_need_the_csrf_token(api: Api) -> None:
    await set_password(api, "alice")
    csrf = await sign_in(api)
    read = await api.client.get("/agents/alice/presence")
    assert read.status_code == 200, read.text
    body = {"presence_id": "available"}
    error(await api.client.put("/agents/alice/presence", json=body), 403, "CSRF_FAILED")
    forged = {"X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")}
    error(
        await api.client.put("/agents/alice/presence", json=body, headers=forged),
        403,
        "CSRF_FAILED",
    )
    assert api.engine.state.agents["alice"].presence_id == "offline"
    ok = await api.client.put("/agents/alice/presence", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    assert api.engine.state.agents["alice"].presence_id == "available"


async def test_a_session_acts_only_for_its_own_agent(api: Api) -> None:
    await set_password(api, "alice")
    csrf = await sign_in(api)
    r = await api.client.put(
        "/agents/bob/presence",
        json={"presence_id": "available"},
        headers={"X-CSRF-Token": csrf},
    )
    error(r, 403, "FORBIDDEN")
    error(await api.client.get("/agents"), 403, "FORBIDDEN")


async def test_sign_out_ends_the_session(api: Api) -> None:
    await set_password(api, "alice")
    csrf = await sign_in(api)
    cookie = api.client.cookies["omniroute_session"]
    error(await api.client.delete("/session"), 403, "CSRF_FAILED")
    r = await api.client.delete("/session", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert 'omniroute_session=""' in r.headers["set-cookie"]
    # The old cookie is dead even if a browser kept it.
    api.client.cookies.set("omniroute_session", cookie)
    error(await api.client.get("/session"), 401, "UNAUTHENTICATED")


async def test_sessions_expire(api: Api) -> None:
    await set_password(api, "alice")
    await sign_in(api)
    api.clock.advance(11 * 3600 + 59 * 60)
    assert (await api.client.get("/session")).status_code == 200
    api.clock.advance(120)
    error(await api.client.get("/session"), 401, "UNAUTHENTICATED")
    error(await api.client.get("/agents/alice/presence"), 401, "UNAUTHENTICATED")


async def test_repeated_failures_lock_the_email_for_a_while(api: Api) -> None:
    await set_password(api, "alice")
    wrong = {"email": "alice@example.test", "password": "nope"}
    for _ in range(5):
        error(await api.client.post("/session", json=wrong), 401, "INVALID_CREDENTIALS")
    right = {"email": "alice@example.test", "password": PASSWORD}
    err = error(await api.client.post("/session", json=right), 429, "TOO_MANY_ATTEMPTS")
    assert "try again in" in err["message"]
    # Other agents are not locked out by someone guessing alice's password.
    await set_password(api, "bob")
    await sign_in(api, "bob@example.test")
    api.clock.advance(301)
    await sign_in(api)


async def test_supervisor_flag_grants_the_supervisor_role_only(api: Api) -> None:
    await set_password(api, "carol", supervisor=True)
    r = await api.client.post(
        "/session", json={"email": "carol@example.test", "password": PASSWORD}
    )
    assert r.json()["supervisor"] is True
    principal = Principal("s", Role.AGENT, "carol", supervisor=True)
    principal.require(Role.SUPERVISOR, Role.ADMIN)
    with pytest.raises(DomainError):
        principal.require(Role.ADMIN)


async def test_a_bearer_token_needs_no_csrf_token(api: Api) -> None:
    await set_password(api, "alice")
    await sign_in(api)
    r = await api.client.put(
        "/agents/bob/presence", json={"presence_id": "available"}, headers=api.auth("bob")
    )
    assert r.status_code == 200, r.text


async def test_directory_lists_colleagues_and_where_they_can_take_work(api: Api) -> None:
    await api.client.put(
        "/agents/bob/presence", json={"presence_id": "available"}, headers=api.auth("bob")
    )
    r = await api.client.get("/directory/agents", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    by_id = {a["id"]: a for a in r.json()}
    assert set(by_id) == {"alice", "bob", "carol"}
    assert by_id["bob"]["presence_id"] == "available"
    assert "chat" in by_id["bob"]["available_on"]
    assert by_id["alice"]["available_on"] == []
    error(await api.client.get("/directory/agents"), 401, "UNAUTHENTICATED")


async def test_feed_socket_takes_the_session_cookie_from_our_own_origin_only(
    api: Api, ws_url: str
) -> None:
    await set_password(api, "alice")
    await sign_in(api)
    cookie = f"omniroute_session={api.client.cookies['omniroute_session']}"
    host = ws_url.split("/")[2]
    own = {"Cookie": cookie, "Origin": f"http://{host}"}
    async with connect(f"{ws_url}/agents/alice/feed", additional_headers=own) as ws:
        hello = await recv(ws)
        assert (hello["type"], hello["data"]["agent_id"]) == ("hello", "alice")
    foreign = {"Cookie": cookie, "Origin": "http://evil.example"}
    async with connect(f"{ws_url}/agents/alice/feed", additional_headers=foreign) as ws:
        assert await closed_code(ws) == 1008
    async with connect(f"{ws_url}/agents/bob/feed", additional_headers=own) as ws:
        assert await closed_code(ws) == 1008


async def test_a_changed_role_reaches_live_sessions_within_the_cache_window(api: Api) -> None:
    await set_password(api, "alice")
    await sign_in(api)
    assert (await api.client.get("/session")).json()["supervisor"] is False
    r = await api.client.patch(
        "/agents/alice", json={"supervisor": True}, headers=api.auth("admin")
    )
    assert r.status_code == 200, r.text
    api.clock.advance(31)
    assert (await api.client.get("/session")).json()["supervisor"] is True
