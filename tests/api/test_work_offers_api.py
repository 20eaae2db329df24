"""The Work Offer API and transfer endpoints over HTTP: success, replays and every error code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.assertions import ANY, error
from tests.api.conftest import Api
from tests.seed import NOW, add_queue

SPOKE = "acme"


@pytest.fixture
async def ext(api: Api) -> Api:
    db: Database = api.app.state.db
    await add_queue(
        db, "ext", ["chat"], routing_mode="external", spoke=SPOKE, provider_queue_id="PQ1"
    )
    async with db.session() as s, s.begin():
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="webhook",
                settings={},
                presence_map={"available": "On Queue", "away": "Away"},
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await s.flush()
        for name in ("alice", "bob"):
            s.add(
                t.AgentIdentityRow(
                    spoke=SPOKE, provider_agent_id=f"P-{name}", agent_id=name, linked_at=NOW
                )
            )
    await api.engine.reload_config()
    for name in ("alice", "bob"):
        r = await api.client.put(
            f"/agents/{name}/presence", json={"presence_id": "available"}, headers=api.auth(name)
        )
        assert r.status_code == 200, r.text
    return api


async def external_chat(api: Api) -> dict[str, Any]:
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "ext"},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def work_offer(api: Api, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = api.auth("integration") | ({"Idempotency-Key": key} if key else {})
    return await api.client.post("/work-offers", json={"spoke": SPOKE} | body, headers=headers)


async def offers_of(api: Api, agent: str) -> list[dict[str, Any]]:
    r = await api.client.get(f"/agents/{agent}/offers", headers=api.auth(agent))
    result: list[dict[str, Any]] = r.json()
    return result


async def test_offer_reaches_agent_and_replays(ext: Api) -> None:
    doc = await external_chat(ext)
    assert await offers_of(ext, "alice") == []
    body = {
        "document_id": doc["id"],
        "provider_agent_id": "P-alice",
        "timeout": 20,
        "external_segment_id": "seg-1",
    }
    r = await work_offer(ext, body, key="k-1")
    assert r.status_code == 201, r.text
    offer = r.json()
    assert offer["agent_id"] == "alice"
    assert offer["document_id"] == doc["id"]
    assert not offer["replayed"]
    pending = await offers_of(ext, "alice")
    assert [o["id"] for o in pending] == [offer["offer_id"]]
    again = await work_offer(ext, body, key="k-1")
    assert again.status_code == 200
    assert again.json()["offer_id"] == offer["offer_id"]
    assert again.json()["replayed"]
    same_segment = await work_offer(ext, body)
    assert same_segment.json()["offer_id"] == offer["offer_id"]
    reused = await work_offer(ext, body | {"timeout": 99}, key="k-1")
    error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(await offers_of(ext, "alice")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"timeout": -5}, 422, "INVALID_TIMEOUT", "timeout"),
        ({"offered_at": "yesterday"}, 422, "INVALID_OFFERED_AT", "offered_at"),
        ({"offered_at": "2026-01-01T00:00:00"}, 422, "INVALID_OFFERED_AT", "offered_at"),
        (
            {"offered_at": (NOW - timedelta(seconds=40)).isoformat(), "timeout": 30},
            409,
            "OFFER_EXPIRED",
            "offered_at",
        ),
        ({"provider_agent_id": "P-ghost"}, 404, "NOT_FOUND", "provider_agent_id"),
        ({"provider_agent_id": None, "agent_id": "carol"}, 409, "AGENT_NOT_AVAILABLE", "agent_id"),
        ({"after_timeout_presence": "nap"}, 404, "NOT_FOUND", "after_timeout_presence"),
        ({"agent_id": "alice"}, 422, "VALIDATION_ERROR", None),
    ],
)
async def test_work_offer_errors(
    ext: Api, body: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    doc = await external_chat(ext)
    base: dict[str, Any] = {"document_id": doc["id"], "provider_agent_id": "P-alice"}
    r = await work_offer(ext, {k: v for k, v in (base | body).items() if v is not None})
    error(r, status, code, ANY if field is None else field)
    assert await offers_of(ext, "alice") == []


async def test_work_offer_state_errors(ext: Api) -> None:
    doc = await external_chat(ext)
    r = await work_offer(ext, {"document_id": doc["id"], "provider_agent_id": "P-alice"})
    offer_id = r.json()["offer_id"]
    error(
        await work_offer(ext, {"document_id": doc["id"], "provider_agent_id": "P-bob"}),
        409,
        "WORK_ITEM_ASSIGNED",
    )
    r = await ext.client.post(f"/offers/{offer_id}/accept", headers=ext.auth("alice"))
    assert r.status_code == 200
    error(
        await work_offer(ext, {"document_id": doc["id"], "provider_agent_id": "P-bob"}),
        409,
        "WORK_ITEM_ALREADY_ACCEPTED",
    )
    r = await ext.client.post(
        f"/interactions/{doc['id']}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=ext.auth("alice"),
    )
    assert r.json()["state"] == "closed_complete"
    error(
        await work_offer(ext, {"document_id": doc["id"], "provider_agent_id": "P-bob"}),
        409,
        "DOCUMENT_NOT_ACTIVE",
    )


async def test_agent_not_allowed_external(ext: Api) -> None:
    r = await ext.client.patch(
        "/agents/bob", json={"allow_external": False}, headers=ext.auth("admin")
    )
    assert r.status_code == 200, r.text
    doc = await external_chat(ext)
    error(
        await work_offer(ext, {"document_id": doc["id"], "provider_agent_id": "P-bob"}),
        409,
        "AGENT_NOT_ALLOWED_EXTERNAL",
    )


async def test_agents_may_not_call_work_offers(ext: Api) -> None:
    doc = await external_chat(ext)
    r = await ext.client.post(
        "/work-offers",
        json={"document_id": doc["id"], "agent_id": "alice"},
        headers=ext.auth("alice"),
    )
    error(r, 403, "FORBIDDEN")


async def test_transfer_endpoints(ext: Api) -> None:
    r = await ext.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "support"},
        headers=ext.auth("integration"),
    )
    doc = r.json()
    holder = "alice" if await offers_of(ext, "alice") else "bob"
    other = "bob" if holder == "alice" else "alice"
    offer = (await offers_of(ext, holder))[0]
    await ext.client.post(f"/offers/{offer['id']}/accept", headers=ext.auth(holder))
    path = f"/documents/{doc['id']}/transfer"
    error(
        await ext.client.post(path, json={"target_agent_id": other}, headers=ext.auth(other)),
        403,
        "FORBIDDEN",
    )
    error(await ext.client.post(path, json={}, headers=ext.auth(holder)), 422, "VALIDATION_ERROR")
    r = await ext.client.post(path, json={"target_agent_id": other}, headers=ext.auth(holder))
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "pending_accept"
    error(
        await ext.client.post(path, json={"target_agent_id": other}, headers=ext.auth(holder)),
        409,
        "TRANSFER_PENDING",
    )
    r = await ext.client.delete(path, headers=ext.auth(holder))
    assert r.json()["cancel_reason"] == "transfer_cancelled"
    error(await ext.client.delete(path, headers=ext.auth(holder)), 409, "NO_PENDING_TRANSFER")
    r = await ext.client.post(path, json={"target_queue_id": "ext"}, headers=ext.auth(holder))
    assert r.status_code == 201
    transfer_id = r.json()["id"]
    r = await work_offer(ext, {"work_item_id": transfer_id, "provider_agent_id": f"P-{other}"})
    assert r.status_code == 201, r.text
    await ext.client.post(f"/offers/{r.json()['offer_id']}/accept", headers=ext.auth(other))
    got = await ext.client.get(f"/interactions/{doc['id']}", headers=ext.auth(other))
    assert got.json()["agent_id"] == other
    error(
        await ext.client.post(f"{path}/complete", headers=ext.auth(holder)),
        409,
        "NO_PENDING_TRANSFER",
    )
