"""A first walk through the API."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_chat_offer_accept(api: Api) -> None:
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "available"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    assert r.json()["is_available"] is True
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "support", "subject": "help"},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    interaction = r.json()
    assert interaction["state"] == "on_hold"
    r = await api.client.get("/agents/alice/offers", headers=api.auth("alice"))
    offers = r.json()
    assert len(offers) == 1
    r = await api.client.post(f"/offers/{offers[0]['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"
    r = await api.client.get(f"/interactions/{interaction['id']}", headers=api.auth("alice"))
    assert r.json()["state"] == "work_in_progress"
    assert r.json()["agent_id"] == "alice"
