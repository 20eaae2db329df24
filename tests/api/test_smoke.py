"""A first walk through the API."""

from __future__ import annotations

import pytest

from omniroute.api.auth import Role, TokenCache
from omniroute.auth_tokens import hash_token
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import Api
from tests.seed import NOW


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


async def test_demo_tokens_refused_outside_demo_mode(db: Database) -> None:
    async with db.session() as s, s.begin():
        s.add(
            t.ApiTokenRow(
                id="demo",
                name="demo",
                token_hash=hash_token("demo-admin-token"),
                role="admin",
                created_at=NOW,
            )
        )
    with pytest.raises(DomainError) as err:
        await TokenCache(db, demo=False).principal("demo-admin-token")
    assert err.value.code is ErrorCode.UNAUTHENTICATED
    principal = await TokenCache(db, demo=True).principal("demo-admin-token")
    assert principal.role is Role.ADMIN


async def test_engine_reload_picks_up_rows_written_elsewhere(api: Api) -> None:
    db: Database = api.app.state.db
    async with db.session() as s, s.begin():
        s.add(t.QueueRow(id="late", name="late", channels=["chat"], rule_id="standard"))
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "late"},
        headers=api.auth("integration"),
    )
    assert r.status_code == 404
    r = await api.client.post("/engine/reload", headers=api.auth("alice"))
    assert r.status_code == 403
    r = await api.client.post("/engine/reload", headers=api.auth("admin"))
    assert r.status_code == 204
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "late"},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
