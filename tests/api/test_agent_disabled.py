"""A disabled agent: sessions, sockets and tokens end at once, offline, never offered work."""

from __future__ import annotations

from websockets.asyncio.client import connect

from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_admin_crud import get, patch
from tests.api.test_agents_api import get_presence, interaction, offer, offers, presence, work_item
from tests.api.test_feed_ws import feed, recv, ws_url
from tests.api.test_session_api import PASSWORD, set_password, sign_in
from tests.test_session_end import closed_with

__all__ = ["ws_url"]


async def test_disabling_ends_sessions_sockets_tokens_and_work(api: Api, ws_url: str) -> None:
    await set_password(api, "alice")
    await sign_in(api)
    cookie = f"omniroute_session={api.client.cookies['omniroute_session']}"
    origin = {"Cookie": cookie, "Origin": f"http://{ws_url.split('/')[2]}"}
    await presence(api, "alice")
    await presence(api, "bob", "away")
    item = await interaction(api)
    [pending] = await offers(api, "alice")
    async with (
        connect(f"{ws_url}/agents/alice/feed", additional_headers=origin) as by_cookie,
        feed(ws_url, "alice") as by_token,
    ):
        assert (await recv(by_cookie))["type"] == "hello"
        assert (await recv(by_token))["type"] == "hello"
        changed = await patch(api, "/agents/alice", {"disabled": True})
        assert changed["disabled"] is True
        assert await closed_with(by_cookie) == (1008, "SESSION_ENDED")
        assert await closed_with(by_token) == (1008, "SESSION_ENDED")
    assert (await api.client.get("/session")).status_code == 401
    error(await api.client.get("/agents/alice", headers=api.auth("alice")), 403, "AGENT_DISABLED")
    # Offline through the engine, its offer taken back, and the work goes to someone else.
    assert (await get_presence(api, "alice"))["presence_id"] == "offline"
    assert api.engine.state.agents["alice"].disabled is True
    assert (await offer(api, pending["id"]))["state"] == "withdrawn"
    assert (await work_item(api, item["work_item_id"]))["state"] == "queued"
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "available"}, headers=api.auth("admin")
    )
    error(r, 403, "AGENT_DISABLED", "presence_id")
    await presence(api, "bob")
    assert [o["work_item_id"] for o in await offers(api, "bob")] == [item["work_item_id"]]
    assert (await get(api, "/agents/alice"))["disabled"] is True


async def test_a_disabled_agent_cannot_sign_in_until_enabled(api: Api) -> None:
    await set_password(api, "alice")
    await patch(api, "/agents/alice", {"disabled": True})
    body = {"email": "alice@example.test", "password": PASSWORD}
    error(await api.client.post("/session", json=body), 403, "AGENT_DISABLED", "email")
    wrong = {"email": "alice@example.test", "password": "not the password"}
    error(await api.client.post("/session", json=wrong), 401, "INVALID_CREDENTIALS")
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "away"}, headers=api.auth("admin")
    )
    assert r.status_code == 200, r.text  # an unavailable state may still be set
    assert (await patch(api, "/agents/alice", {"disabled": False}))["disabled"] is False
    await sign_in(api)
    assert (await api.client.get("/session")).status_code == 200
    assert (await get(api, "/agents/alice", who="alice"))["disabled"] is False
    await presence(api, "alice")
    item = await interaction(api)
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [item["work_item_id"]]


async def test_an_agent_created_disabled_is_never_offered_work(api: Api) -> None:
    new = {
        "id": "dave",
        "name": "Dave",
        "email": "dave@example.test",
        "presence_id": "available",
        "disabled": True,
    }
    r = await api.client.post("/agents", json=new, headers=api.auth("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["disabled"] is True
    assert (await get_presence(api, "dave"))["presence_id"] == "offline"
    item = await interaction(api)
    assert (await work_item(api, item["work_item_id"]))["state"] == "queued"
    listed = {a["id"]: a["disabled"] for a in await get(api, "/agents")}
    assert listed == {"alice": False, "bob": False, "carol": False, "dave": True}
