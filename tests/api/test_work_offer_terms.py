"""The whole Work Offer API: auto-accept, display_option and provider-initiated transfers.

Each through the API, and through the webhook spoke's signed `work_offered` callback.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from omniroute.spokes import signing
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_work_offers_api import SPOKE, ext, external_chat, offers_of, work_offer
from tests.seed import add_queue

__all__ = ["ext"]
SECRET = "terms-webhook-secret-0123456789abcdefghijkl"


@pytest.fixture
async def hooked(ext: Api) -> Api:
    """The `acme` spoke as a working webhook spoke (its provider is never reached), plus voice."""
    db: Database = ext.app.state.db
    async with db.session() as s, s.begin():
        row = await s.get(t.SpokeRow, SPOKE)
        assert row is not None
        row.settings = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    await add_queue(
        db, "ext-voice", ["voice"], routing_mode="external", spoke=SPOKE, provider_queue_id="PQV"
    )
    await ext.engine.reload_config()
    await ext.app.state.spokes.reload(SPOKE)
    return ext


async def feed_events(api: Api, agent: str) -> list[tuple[str, dict[str, Any]]]:
    db: Database = api.app.state.db
    async with db.session() as s:
        rows = await s.scalars(
            select(t.AgentEventRow)
            .where(t.AgentEventRow.agent_id == agent)
            .order_by(t.AgentEventRow.seq)
        )
        return [(r.type, dict(r.payload)) for r in rows]


async def outbox(api: Api) -> list[tuple[str, dict[str, Any]]]:
    db: Database = api.app.state.db
    async with db.session() as s:
        rows = await s.scalars(select(t.OutboxEventRow).order_by(t.OutboxEventRow.seq))
        return [(r.type, dict(r.payload)) for r in rows]


async def accept(api: Api, agent: str, offer_id: str) -> None:
    r = await api.client.post(f"/offers/{offer_id}/accept", headers=api.auth(agent))
    assert r.status_code == 200, r.text


async def interaction(api: Api, doc_id: str) -> dict[str, Any]:
    r = await api.client.get(f"/interactions/{doc_id}", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def callback(api: Api, *events: dict[str, Any]) -> list[dict[str, Any]]:
    """Signed `work_offered` events through POST /spokes/acme/events."""
    body = json.dumps([{"schema_version": 1, "type": "work_offered"} | e for e in events]).encode()
    headers = signing.sign(SECRET, body) | {"content-type": "application/json"}
    r = await api.client.post(f"/spokes/{SPOKE}/events", content=body, headers=headers)
    assert r.status_code == 200, r.text
    outcomes: list[dict[str, Any]] = r.json()["events"]
    return outcomes


# -- auto-accept and display_option ---------------------------------------------------------


@pytest.mark.parametrize("display", ["card_only", "card_and_tab"])
async def test_auto_accept_accepts_without_the_agents_click(ext: Api, display: str) -> None:
    doc = await external_chat(ext)
    body = {
        "document_id": doc["id"],
        "provider_agent_id": "P-alice",
        "auto_accept": True,
        "display_option": display,
        "timeout": 30,
    }
    r = await work_offer(ext, body)
    assert r.status_code == 201, r.text
    offer = r.json()
    assert (offer["state"], offer["auto_accept"], offer["display_option"]) == (
        "accepted",
        True,
        display,
    )
    assert await offers_of(ext, "alice") == []
    got = await interaction(ext, doc["id"])
    assert got["agent_id"] == "alice"
    events = [(kind, data) for kind, data in await feed_events(ext, "alice") if "offer" in kind]
    assert [kind for kind, _ in events] == ["offer.created", "offer.ended"]
    created, ended = events[0][1], events[1][1]
    assert (created["auto_accept"], created["display_option"]) == (True, display)
    assert ended["state"] == "accepted"
    (outcome,) = [data for kind, data in await outbox(ext) if kind == "offer_outcome"]
    assert (outcome["outcome"], outcome["agent_id"]) == ("accepted", "alice")
    r = await ext.client.get(f"/offers/{offer['offer_id']}", headers=ext.auth("alice"))
    assert r.json()["display_option"] == display


async def test_display_option_is_checked_and_nothing_is_written(ext: Api) -> None:
    doc = await external_chat(ext)
    base = {"document_id": doc["id"], "provider_agent_id": "P-alice"}
    r = await work_offer(ext, base | {"display_option": "card_and_tab"})
    assert "auto_accept" in error(r, 422, "VALIDATION_ERROR", "display_option")["message"]
    r = await work_offer(ext, base | {"auto_accept": True, "display_option": "tab_only"})
    error(r, 422, "VALIDATION_ERROR", "display_option")
    assert await offers_of(ext, "alice") == []
    assert (await interaction(ext, doc["id"]))["agent_id"] is None


async def test_auto_accept_through_the_webhook_spokes_callback(hooked: Api) -> None:
    doc = await external_chat(hooked)
    offered = {
        "provider_agent_id": "P-bob",
        "external_segment_id": "res-auto-1",
        "document_id": doc["id"],
        "auto_accept": True,
        "display_option": "card_and_tab",
    }
    (outcome,) = await callback(hooked, {"id": "cb-auto-1", "data": offered})
    assert outcome["outcome"] == "offered", outcome
    assert (await interaction(hooked, doc["id"]))["agent_id"] == "bob"
    assert await offers_of(hooked, "bob") == []
    created = next(d for k, d in await feed_events(hooked, "bob") if k == "offer.created")
    assert (created["auto_accept"], created["display_option"]) == (True, "card_and_tab")


# -- provider-initiated transfers -----------------------------------------------------------


async def test_provider_transfers_accepted_work_to_another_agent(ext: Api) -> None:
    doc = await external_chat(ext)
    first = await work_offer(ext, {"document_id": doc["id"], "provider_agent_id": "P-alice"})
    await accept(ext, "alice", first.json()["offer_id"])
    wrong = {"type": "blind", "from_provider_agent_id": "P-bob"}
    r = await work_offer(
        ext, {"document_id": doc["id"], "provider_agent_id": "P-bob", "transfer": wrong}
    )
    error(r, 409, "WORK_ITEM_ASSIGNED", "transfer.from_agent_id")
    transfer = {"type": "blind", "from_provider_agent_id": "P-alice"}
    r = await work_offer(
        ext, {"document_id": doc["id"], "provider_agent_id": "P-bob", "transfer": transfer}
    )
    assert r.status_code == 201, r.text
    moved = r.json()
    assert moved["work_item_id"] != first.json()["work_item_id"]
    r = await ext.client.get(f"/work-items/{moved['work_item_id']}", headers=ext.auth("admin"))
    item = r.json()
    assert item["previous_id"] == first.json()["work_item_id"]
    assert (item["transfer_type"], item["transfer_from_agent_id"]) == ("blind", "alice")
    await accept(ext, "bob", moved["offer_id"])
    assert (await interaction(ext, doc["id"]))["agent_id"] == "bob"


async def test_transfer_of_a_call_with_no_work_item_uses_the_source_queue(hooked: Api) -> None:
    r = await hooked.client.post(
        "/interactions", json={"channel_id": "voice"}, headers=hooked.auth("integration")
    )
    call = r.json()
    assert call["work_item_id"] is None
    base = {"document_id": call["id"], "provider_agent_id": "P-bob"}
    r = await work_offer(hooked, base | {"transfer": {"type": "blind"}})
    error(r, 422, "VALIDATION_ERROR", "transfer.source_queue_id")
    r = await work_offer(hooked, base | {"transfer": {"type": "blind", "source_queue_id": "nope"}})
    error(r, 404, "NOT_FOUND", "transfer.source_queue_id")
    r = await work_offer(
        hooked, base | {"transfer": {"type": "blind", "source_queue_id": "ext-voice"}}
    )
    assert r.status_code == 201, r.text
    made = r.json()
    r = await hooked.client.get(f"/work-items/{made['work_item_id']}", headers=hooked.auth("admin"))
    assert (r.json()["queue_id"], r.json()["channel_id"]) == ("ext-voice", "voice")
    await accept(hooked, "bob", made["offer_id"])
    assert (await interaction(hooked, call["id"]))["agent_id"] == "bob"


async def test_transfer_through_the_webhook_spokes_callback(hooked: Api) -> None:
    r = await hooked.client.post(
        "/interactions", json={"channel_id": "voice"}, headers=hooked.auth("integration")
    )
    call = r.json()
    no_source = {
        "provider_agent_id": "P-alice",
        "external_segment_id": "res-t-0",
        "document_id": call["id"],
        "transfer": {"type": "blind"},
    }
    (refused,) = await callback(hooked, {"id": "cb-t-0", "data": no_source})
    assert refused["outcome"] == "refused"
    assert refused["error"]["code"] == "VALIDATION_ERROR"
    offered = no_source | {
        "external_segment_id": "res-t-1",
        "transfer": {"type": "blind", "source_provider_queue_id": "PQV"},
    }
    (outcome,) = await callback(hooked, {"id": "cb-t-1", "data": offered})
    assert outcome["outcome"] == "offered", outcome
    await accept(hooked, "alice", outcome["offer_id"])
    assert (await interaction(hooked, call["id"]))["agent_id"] == "alice"
    onward = {
        "provider_agent_id": "P-bob",
        "external_segment_id": "res-t-2",
        "document_id": call["id"],
        "transfer": {"type": "blind", "from_provider_agent_id": "P-alice"},
    }
    (second,) = await callback(hooked, {"id": "cb-t-2", "data": onward})
    assert second["outcome"] == "offered", second
    await accept(hooked, "bob", second["offer_id"])
    assert (await interaction(hooked, call["id"]))["agent_id"] == "bob"
