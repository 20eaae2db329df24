"""Canned responses, internal notes, chat attachments, customers and transfer notes, in process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.assertions import error
from tests.api.conftest import Api
from tests.channels.chat_helpers import accept, add_widget, auth, available, start


@pytest.fixture
async def chat(api: Api) -> dict[str, Any]:
    """A widget chat from Ann that alice accepted."""
    await add_widget(api.client)
    await available(api.client, "alice")
    started = await start(api.client)
    await accept(api.client, "alice")
    return started


async def _canned(api: Api, who: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "Greeting", "body": "Hello {customer name}, {agent name} here."} | fields
    r = await api.client.post("/canned-responses", json=body, headers=auth(who))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_canned_shared_and_personal(api: Api) -> None:
    shared = await _canned(api, "admin", title="Shared hello", shortcut="hello")
    mine = await _canned(api, "alice", title="Alice's sign-off", body="Cheers, {Agent Name}")
    await _canned(api, "bob", title="Bob's own")
    assert shared["shared"] is True
    assert (mine["shared"], mine["owner_agent_id"]) == (False, "alice")
    r = await api.client.get("/canned-responses", headers=auth("alice"))
    assert [c["title"] for c in r.json()] == ["Alice's sign-off", "Shared hello"]
    r = await api.client.get("/canned-responses", params={"q": "sign"}, headers=auth("alice"))
    assert [c["id"] for c in r.json()] == [mine["id"]]
    r = await api.client.get("/canned-responses", headers=auth("admin"))
    assert len(r.json()) == 3


async def test_canned_least_privilege(api: Api) -> None:
    shared = await _canned(api, "admin")
    bobs = await _canned(api, "bob")
    error(
        await api.client.patch(
            f"/canned-responses/{shared['id']}", json={"title": "x"}, headers=auth("alice")
        ),
        403,
        "FORBIDDEN",
    )
    error(
        await api.client.get(f"/canned-responses/{bobs['id']}", headers=auth("alice")),
        403,
        "FORBIDDEN",
    )
    error(
        await api.client.post(
            "/canned-responses",
            json={"title": "t", "body": "b", "owner_agent_id": "bob"},
            headers=auth("alice"),
        ),
        403,
        "FORBIDDEN",
    )
    error(await api.client.get("/canned-responses", headers=auth("integration")), 403, "FORBIDDEN")
    error(
        await api.client.post(
            "/canned-responses", json={"title": "", "body": "b"}, headers=auth("alice")
        ),
        422,
        "VALIDATION_ERROR",
    )
    r = await api.client.patch(
        f"/canned-responses/{bobs['id']}", json={"body": "New"}, headers=auth("bob")
    )
    assert r.json()["body"] == "New"
    r = await api.client.delete(f"/canned-responses/{bobs['id']}", headers=auth("bob"))
    assert r.status_code == 204


async def test_canned_render_fills_placeholders(api: Api, chat: dict[str, Any]) -> None:
    canned = await _canned(api, "alice")
    r = await api.client.post(
        f"/canned-responses/{canned['id']}/render",
        json={"document_id": chat["interaction_id"]},
        headers=auth("alice"),
    )
    assert r.json() == {"body": "Hello Ann, Alice here."}


async def test_notes_in_timeline_for_agents_only(api: Api, chat: dict[str, Any]) -> None:
    path = f"/interactions/{chat['interaction_id']}/notes"
    r = await api.client.post(
        path, json={"body": "Asked for the order number"}, headers=auth("alice")
    )
    assert r.status_code == 201, r.text
    assert (r.json()["author_name"], r.json()["document_type"]) == ("Alice", "interaction")
    await api.client.post(path, json={"body": "Checked stock"}, headers=auth("admin"))
    r = await api.client.get(path, headers=auth("alice"))
    assert [n["body"] for n in r.json()] == ["Asked for the order number", "Checked stock"]
    error(await api.client.get(path, headers=auth("bob")), 403, "FORBIDDEN")
    error(await api.client.get(path, headers=auth("integration")), 403, "FORBIDDEN")
    error(
        await api.client.post(path, json={"body": ""}, headers=auth("alice")),
        422,
        "VALIDATION_ERROR",
    )
    error(await api.client.get("/interactions/nope/notes", headers=auth("admin")), 404, "NOT_FOUND")
    # The customer's transcript never holds a note.
    r = await api.client.get(
        f"/interactions/{chat['interaction_id']}/messages", headers=auth("alice")
    )
    assert all("order number" not in m["body"] for m in r.json()["items"])


async def test_chat_attachments_both_ways(api: Api, chat: dict[str, Any]) -> None:
    interaction = chat["interaction_id"]
    customer = {"Authorization": f"Bearer {chat['token']}", "Content-Type": "image/png"}
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = await api.client.post(
        f"/chat/sessions/{chat['session_id']}/attachments",
        params={"filename": "../photo.png", "client_id": "up-1"},
        content=png,
        headers=customer,
    )
    assert r.status_code == 201, r.text
    message = r.json()
    [att] = message["attachments"]
    assert (att["filename"], att["content_type"], att["size"]) == ("photo.png", "image/png", 108)
    again = await api.client.post(
        f"/chat/sessions/{chat['session_id']}/attachments",
        params={"filename": "photo.png", "client_id": "up-1"},
        content=png,
        headers=customer,
    )
    assert again.json()["id"] == message["id"]
    r = await api.client.get(f"/attachments/{att['id']}", headers=auth("alice"))
    assert r.content == png
    assert r.headers["content-disposition"] == 'attachment; filename="photo.png"'
    error(await api.client.get(f"/attachments/{att['id']}", headers=auth("bob")), 403, "FORBIDDEN")

    r = await api.client.post(
        f"/interactions/{interaction}/attachments",
        params={"filename": "label.pdf"},
        content=b"%PDF-1.4 label",
        headers=auth("alice") | {"Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    upload = r.json()
    r = await api.client.post(
        f"/interactions/{interaction}/messages",
        json={"body": "Here is your label", "attachment_ids": [upload["id"]]},
        headers=auth("alice"),
    )
    assert r.status_code == 201, r.text
    assert [a["id"] for a in r.json()["attachments"]] == [upload["id"]]
    r = await api.client.get(
        f"/chat/sessions/{chat['session_id']}/attachments/{upload['id']}",
        headers={"Authorization": f"Bearer {chat['token']}"},
    )
    assert r.content == b"%PDF-1.4 label"
    error(
        await api.client.get(
            f"/chat/sessions/{chat['session_id']}/attachments/{upload['id']}",
            headers={"Authorization": "Bearer wrong"},
        ),
        401,
        "UNAUTHENTICATED",
    )
    r = await api.client.get(f"/interactions/{interaction}/messages", headers=auth("alice"))
    with_files = [m for m in r.json()["items"] if m["attachments"]]
    assert [m["sender"] for m in with_files] == ["customer", "agent"]


async def test_attachment_limits_are_settings(api: Api, chat: dict[str, Any]) -> None:
    settings = api.app.state.settings
    settings.attachment_max_bytes = 10
    path = f"/interactions/{chat['interaction_id']}/attachments"
    pdf = {"Content-Type": "application/pdf"}
    r = await api.client.post(
        path, params={"filename": "a.pdf"}, content=b"x" * 11, headers=auth("alice") | pdf
    )
    error(r, 413, "PAYLOAD_TOO_LARGE", "file")
    r = await api.client.post(
        path,
        params={"filename": "a.exe"},
        content=b"MZ",
        headers=auth("alice") | {"Content-Type": "application/x-msdownload"},
    )
    error(r, 415, "UNSUPPORTED_MEDIA_TYPE", "content_type")
    r = await api.client.post(
        path, params={"filename": "a.pdf"}, content=b"", headers=auth("alice") | pdf
    )
    error(r, 422, "VALIDATION_ERROR", "file")
    r = await api.client.post(
        path, params={"filename": "a.pdf"}, content=b"x", headers=auth("bob") | pdf
    )
    error(r, 403, "FORBIDDEN")
    r = await api.client.post(
        f"/interactions/{chat['interaction_id']}/messages",
        json={"body": "x", "attachment_ids": ["nope"]},
        headers=auth("alice"),
    )
    error(r, 404, "NOT_FOUND", "attachment_ids")


async def test_customer_record_and_history(api: Api, chat: dict[str, Any]) -> None:
    r = await api.client.post(
        "/customers",
        json={
            "name": "Ann Example",
            "emails": ["ANN@example.com", "ann@work.example"],
            "phone": "+44 20 7946 0000",
            "attributes": {"tier": "gold", "orders": 3},
        },
        headers=auth("alice"),
    )
    assert r.status_code == 201, r.text
    customer = r.json()
    assert customer["emails"] == ["ann@example.com", "ann@work.example"]
    r = await api.client.get("/customers", params={"email": "Ann@Example.com"}, headers=auth("bob"))
    assert [c["id"] for c in r.json()] == [customer["id"]]
    dup = await api.client.post(
        "/customers", json={"name": "Other", "emails": ["ann@example.com"]}, headers=auth("alice")
    )
    error(dup, 409, "CONFLICT", "emails")
    r = await api.client.patch(
        f"/customers/{customer['id']}", json={"phone": "+1 555"}, headers=auth("alice")
    )
    assert r.json()["phone"] == "+1 555"
    r = await api.client.get(f"/customers/{customer['id']}/history", headers=auth("alice"))
    [entry] = r.json()
    assert (entry["id"], entry["type"], entry["visible"]) == (
        chat["interaction_id"],
        "interaction",
        True,
    )
    r = await api.client.get(f"/customers/{customer['id']}/history", headers=auth("bob"))
    assert r.json()[0]["visible"] is False
    error(
        await api.client.delete(f"/customers/{customer['id']}", headers=auth("alice")),
        403,
        "FORBIDDEN",
    )
    error(
        await api.client.post(
            "/customers", json={"emails": ["not-an-email"]}, headers=auth("alice")
        ),
        422,
        "VALIDATION_ERROR",
    )


async def test_transfer_offer_names_sender_and_note(api: Api, chat: dict[str, Any]) -> None:
    await available(api.client, "bob")
    r = await api.client.post(
        f"/documents/{chat['interaction_id']}/transfer",
        json={"target_agent_id": "bob", "note": "Wants a refund; order 1234"},
        headers=auth("alice"),
    )
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["transfer_from_agent_id"], item["transfer_note"]) == (
        "alice",
        "Wants a refund; order 1234",
    )
    offers = (await api.client.get("/agents/bob/offers", headers=auth("bob"))).json()
    [offer] = offers
    r = await api.client.get(f"/work-items/{offer['work_item_id']}", headers=auth("bob"))
    assert r.json()["transfer_note"] == "Wants a refund; order 1234"
    r = await api.client.get("/directory/queues", headers=auth("alice"))
    assert r.status_code == 200, r.text
    assert {q["queue_id"]: q["waiting"] for q in r.json()} == {"support": 0, "vip": 0, "cases": 0}
