"""Search by text with filters, through SQLite FTS5 and PostgreSQL's tsvector index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from omniroute.store.db import Database
from tests.api.assertions import error
from tests.api.conftest import Api
from tests.channels.chat_helpers import accept, add_widget, auth, available, start


@pytest.fixture
async def found(api: Api) -> dict[str, Any]:
    """A chat whose message body says 'tracking', an email interaction, a case, a customer."""
    await add_widget(api.client)
    await available(api.client, "alice")
    chat = await start(api.client, question="Hello there")
    await accept(api.client, "alice")
    r = await api.client.post(
        f"/interactions/{chat['interaction_id']}/messages",
        json={"body": "Your parcel's tracking number is ZX-99812"},
        headers=auth("alice"),
    )
    assert r.status_code == 201, r.text
    api.clock.advance(3600)
    email = await api.client.post(
        "/interactions",
        json={
            "channel_id": "email",
            "customer_name": "Bruno Díaz",
            "customer_email": "bruno@shop.example",
            "subject": "Invoice missing",
        },
        headers=auth("integration"),
    )
    case = await api.client.post(
        "/cases",
        json={"channel_id": "case", "subject": "Broken kettle", "description": "Lid cracked"},
        headers=auth("integration"),
    )
    customer = await api.client.post(
        "/customers",
        json={"name": "Ann Example", "emails": ["ann@example.com"], "phone": "0207"},
        headers=auth("admin"),
    )
    return {
        "chat": chat["interaction_id"],
        "email": email.json()["id"],
        "case": case.json(),
        "customer": customer.json()["id"],
    }


async def _search(api: Api, who: str = "admin", **params: Any) -> dict[str, Any]:
    r = await api.client.get("/search", params=params, headers=auth(who))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


async def test_finds_message_bodies_names_emails_subjects(api: Api, found: dict[str, Any]) -> None:
    assert _ids((await _search(api, q="tracking"))["interactions"]) == [found["chat"]]
    assert _ids((await _search(api, q="zx 998"))["interactions"]) == [found["chat"]]
    assert _ids((await _search(api, q="invoice"))["interactions"]) == [found["email"]]
    assert _ids((await _search(api, q="bruno@shop.example"))["interactions"]) == [found["email"]]
    assert _ids((await _search(api, q="diaz"))["interactions"]) == [found["email"]]
    # Words may come from different parts: the customer's name and a message.
    assert _ids((await _search(api, q="ann parcel"))["interactions"]) == [found["chat"]]
    assert _ids((await _search(api, q="kettle"))["cases"]) == [found["case"]["id"]]
    assert _ids((await _search(api, q=found["case"]["reference"]))["cases"]) == [
        found["case"]["id"]
    ]
    assert _ids((await _search(api, q="ann"))["customers"]) == [found["customer"]]
    assert (await _search(api, q="nothing-like-this"))["interactions"] == []


async def test_filters(api: Api, found: dict[str, Any]) -> None:
    both = {found["chat"], found["email"]}
    assert set(_ids((await _search(api, channel_id="email"))["interactions"])) == {found["email"]}
    r = await _search(api, q="ann", channel_id="email", types=["interaction"])
    assert r["interactions"] == []
    assert r["customers"] == []
    state = await _search(api, state="work_in_progress", types=["interaction"])
    assert _ids(state["interactions"]) == [found["chat"]]
    queue = await _search(api, queue_id="support", types=["interaction"])
    assert _ids(queue["interactions"]) == [found["chat"]]
    later = (api.clock.now() - timedelta(minutes=30)).isoformat()
    recent = await _search(api, created_from=later, types=["interaction"])
    assert set(_ids(recent["interactions"])) == both - {found["chat"]}
    error(await api.client.get("/search", headers=auth("admin")), 422, "VALIDATION_ERROR", "q")
    error(
        await api.client.get("/search", params={"q": "x", "types": "nope"}, headers=auth("admin")),
        422,
        "VALIDATION_ERROR",
    )
    error(
        await api.client.get("/search", params={"q": "x"}, headers=auth("integration")),
        403,
        "FORBIDDEN",
    )


async def test_agents_find_only_what_they_may_see(api: Api, found: dict[str, Any]) -> None:
    assert _ids((await _search(api, "alice", q="tracking"))["interactions"]) == [found["chat"]]
    assert (await _search(api, "bob", q="tracking"))["interactions"] == []


async def test_search_uses_the_full_text_index(api: Api, found: dict[str, Any]) -> None:
    db: Database = api.app.state.db
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text("SET enable_seqscan = off"))
            plan = await conn.execute(
                text(
                    "EXPLAIN SELECT ref_id FROM search_entries WHERE "
                    "to_tsvector('simple'::regconfig, search_entries.body) "
                    "@@ to_tsquery('simple'::regconfig, 'tracking:*')"
                )
            )
            assert "ix_search_entries_tsv" in " ".join(r[0] for r in plan)
        else:
            plan = await conn.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM search_fts WHERE search_fts MATCH 'x*'")
            )
            assert "VIRTUAL TABLE INDEX" in " ".join(str(r[-1]) for r in plan)
