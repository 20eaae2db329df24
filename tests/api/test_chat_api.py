"""The web chat API in process: widgets, starting chats, the transcript, history, origins."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.assertions import error
from tests.api.conftest import Api
from tests.channels.chat_helpers import WIDGET, accept, add_widget, auth, available, start


@pytest.fixture
async def shop(api: Api) -> Api:
    """The API with the 'shop' widget on the support queue."""
    await add_widget(api.client)
    return api


async def test_widget_crud(api: Api) -> None:
    created = await add_widget(api.client)
    assert created | {"created_at": None, "updated_at": None} == WIDGET | {
        "enabled": True,
        "created_at": None,
        "updated_at": None,
    }
    r = await api.client.patch(
        "/chat-widgets/shop",
        json={"color": "#000000", "allowed_origins": ["HTTPS://Other.example.com/"]},
        headers=auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["allowed_origins"] == ["https://other.example.com"]
    assert r.json()["color"] == "#000000"
    r = await api.client.get("/chat-widgets", headers=auth("admin"))
    assert [w["id"] for w in r.json()] == ["shop"]
    r = await api.client.delete("/chat-widgets/shop", headers=auth("admin"))
    assert r.status_code == 204
    error(await api.client.get("/chat-widgets/shop", headers=auth("admin")), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"queue_id": "cases"}, 422, "QUEUE_CHANNEL_MISMATCH", "queue_id"),
        ({"queue_id": "nope"}, 404, "NOT_FOUND", "queue_id"),
        ({"color": "red"}, 422, "VALIDATION_ERROR", "color"),
        ({"allowed_origins": ["https://x.com/page"]}, 422, "VALIDATION_ERROR", None),
    ],
)
async def test_widget_validation(
    api: Api, fields: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    r = await api.client.post("/chat-widgets", json=WIDGET | fields, headers=auth("admin"))
    err = error(r, status, code)
    if field is not None:
        assert err["field"] == field


async def test_widgets_are_admin_only(api: Api) -> None:
    r = await api.client.post("/chat-widgets", json=WIDGET, headers=auth("alice"))
    error(r, 403, "FORBIDDEN")


async def test_public_widget_settings_and_origin_check(shop: Api) -> None:
    ok = await shop.client.get("/chat/widgets/shop", headers={"Origin": "https://shop.example.com"})
    assert ok.status_code == 200
    assert ok.json() == {
        "id": "shop",
        "title": "Shop help",
        "greeting": "Hello!",
        "color": "#1f6f5c",
        "open": True,
        "next_change": None,
        "offline_message": None,
        "takes_messages": False,
    }
    assert ok.headers["access-control-allow-origin"] == "https://shop.example.com"
    r = await shop.client.post(
        "/chat/sessions",
        json={"widget": "shop", "name": "Eve", "email": "eve@x.com", "question": "hi"},
        headers={"Origin": "https://evil.example.net"},
    )
    error(r, 403, "ORIGIN_NOT_ALLOWED")
    preflight = await shop.client.options(
        "/chat/sessions",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_start_chat_routes_an_interaction_with_the_question(shop: Api) -> None:
    await available(shop.client, "alice")
    chat = await start(shop.client)
    assert len(chat["token"]) >= 40
    assert chat["ws_path"] == f"/api/v1/chat/sessions/{chat['session_id']}/ws"
    r = await shop.client.get(f"/interactions/{chat['interaction_id']}", headers=auth("admin"))
    interaction = r.json()
    assert interaction["channel_id"] == "chat"
    assert interaction["customer_name"] == "Ann"
    assert interaction["customer_email"] == "ann@example.com"
    assert interaction["state"] == "on_hold"
    r = await shop.client.get("/agents/alice/offers", headers=auth("alice"))
    assert [o["work_item_id"] for o in r.json()] == [interaction["work_item_id"]]
    r = await shop.client.get(
        f"/interactions/{chat['interaction_id']}/messages", headers=auth("admin")
    )
    [first] = r.json()["items"]
    assert first["sender"] == "customer"
    assert first["body"] == "Where is my order?"
    assert first["delivered_at"] is None


async def test_start_chat_errors(shop: Api) -> None:
    body = {"widget": "nope", "name": "Ann", "email": "a@b.co", "question": "hi"}
    error(await shop.client.post("/chat/sessions", json=body), 404, "NOT_FOUND", "widget")
    body["widget"] = "shop"
    body["email"] = "not-an-email"
    error(await shop.client.post("/chat/sessions", json=body), 422, "VALIDATION_ERROR", "email")
    await shop.client.patch("/chat-widgets/shop", json={"enabled": False}, headers=auth("admin"))
    body["email"] = "a@b.co"
    error(await shop.client.post("/chat/sessions", json=body), 409, "WIDGET_DISABLED", "widget")


async def test_agent_messages_need_the_accepted_chat(shop: Api) -> None:
    await available(shop.client, "alice")
    chat = await start(shop.client)
    path = f"/interactions/{chat['interaction_id']}/messages"
    r = await shop.client.post(path, json={"body": "Hi"}, headers=auth("alice"))
    error(r, 409, "INVALID_STATE_TRANSITION", "interaction_id")
    await accept(shop.client, "alice")
    r = await shop.client.post(
        path, json={"body": "  Hi Ann, let me look.  "}, headers=auth("alice")
    )
    assert r.status_code == 201, r.text
    message = r.json()
    assert message["sender"] == "agent"
    assert message["agent_id"] == "alice"
    assert message["author_name"] == "Alice"
    assert message["body"] == "Hi Ann, let me look."
    error(await shop.client.post(path, json={"body": "x"}, headers=auth("bob")), 403, "FORBIDDEN")
    error(await shop.client.get(path, headers=auth("bob")), 403, "FORBIDDEN")
    error(
        await shop.client.post(path, json={"body": ""}, headers=auth("alice")),
        422,
        "VALIDATION_ERROR",
    )
    r = await shop.client.get(path, headers=auth("alice"))
    items = r.json()["items"]
    assert [m["sender"] for m in items] == ["customer", "agent"]
    assert items[0]["id"] < items[1]["id"]
    r = await shop.client.post(
        f"/interactions/{chat['interaction_id']}/end", json={}, headers=auth("alice")
    )
    assert r.status_code == 200, r.text
    r = await shop.client.post(path, json={"body": "late"}, headers=auth("alice"))
    error(r, 409, "CHAT_ENDED", "interaction_id")


async def test_messages_only_on_chats(shop: Api) -> None:
    r = await shop.client.post(
        "/interactions", json={"channel_id": "email"}, headers=auth("integration")
    )
    path = f"/interactions/{r.json()['id']}/messages"
    error(await shop.client.get(path, headers=auth("admin")), 409, "NOT_A_CHAT")
    error(
        await shop.client.get("/interactions/nope/messages", headers=auth("admin")),
        404,
        "NOT_FOUND",
    )


async def test_typing_only_by_the_holder(shop: Api) -> None:
    await available(shop.client, "alice")
    chat = await start(shop.client)
    path = f"/interactions/{chat['interaction_id']}/typing"
    error(await shop.client.post(path, headers=auth("alice")), 403, "FORBIDDEN")
    await accept(shop.client, "alice")
    assert (await shop.client.post(path, headers=auth("alice"))).status_code == 204
    error(await shop.client.post(path, headers=auth("bob")), 403, "FORBIDDEN")


async def test_history_lists_the_same_customers_earlier_contacts(shop: Api) -> None:
    await available(shop.client, "alice")
    first = await start(shop.client, question="First question")
    await accept(shop.client, "alice")
    r = await shop.client.post(
        f"/interactions/{first['interaction_id']}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=auth("alice"),
    )
    assert r.json()["state"] == "closed_complete"
    shop.clock.advance(10)
    r = await shop.client.post(
        "/cases",
        json={"subject": "Refund", "customer_email": "ann@example.com"},
        headers=auth("integration"),
    )
    case_id = r.json()["id"]
    await start(shop.client, email="someone@else.com", question="Not Ann")
    shop.clock.advance(60)
    latest = await start(shop.client, email="ANN@example.com", question="Again")
    shop.clock.advance(60)
    await start(shop.client, question="Later than the one we look at")
    r = await shop.client.get(
        f"/interactions/{latest['interaction_id']}/history", headers=auth("admin")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer_email"] == "ann@example.com"
    assert [(e["type"], e["id"]) for e in body["items"]] == [
        ("case", case_id),
        ("interaction", first["interaction_id"]),
    ]
    by_id = {e["id"]: e for e in body["items"]}
    assert set(by_id) == {first["interaction_id"], case_id}
    done = by_id[first["interaction_id"]]
    assert done["agent_name"] == "Alice"
    assert done["wrap_up_code_id"] == "resolved"
    assert done["wrap_up_code_name"] == "Resolved"
    assert done["state"] == "closed_complete"
    assert done["channel_id"] == "chat"
    error(
        await shop.client.get(
            f"/interactions/{latest['interaction_id']}/history", headers=auth("bob")
        ),
        403,
        "FORBIDDEN",
    )
