"""Supervisor actions through the API: assign, withdraw, move, presence; each audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from omniroute.auth_tokens import hash_token
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_agents_api import interaction, offers, presence, work_item
from tests.seed import NOW


@pytest.fixture
async def sup(api: Api) -> dict[str, str]:
    """Headers of a supervisor token."""
    db: Database = api.app.state.db
    async with db.session() as s, s.begin():
        s.add(
            t.ApiTokenRow(
                id="tok-sup",
                name="sup",
                token_hash=hash_token("token-sup"),
                role="supervisor",
                agent_id=None,
                created_at=NOW,
            )
        )
    return {"Authorization": "Bearer token-sup"}


async def act(api: Api, sup: dict[str, str], path: str, body: Any = None) -> dict[str, Any]:
    """POST a supervisor action and return its answer."""
    r = await api.client.post(path, json=body, headers=sup)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def audit(api: Api, action: str) -> list[dict[str, Any]]:
    """Audit entries of one action."""
    r = await api.client.get("/audit", params={"action": action}, headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()
    return result


async def test_assign_a_queued_item(api: Api, sup: dict[str, str]) -> None:
    chat = await interaction(api)
    moved = await act(
        api, sup, f"/supervisor/work-items/{chat['work_item_id']}/assign", {"agent_id": "carol"}
    )
    assert moved["state"] == "pending_accept"
    assert moved["agent_id"] == "carol"
    old = await work_item(api, chat["work_item_id"])
    assert (old["state"], old["cancel_reason"]) == ("cancelled", "manually_assigned")
    new = await work_item(api, moved["work_item_id"])
    assert new["previous_id"] == chat["work_item_id"]
    [pending] = await offers(api, "carol")
    assert pending["id"] == moved["offer_id"]
    [entry] = await audit(api, "supervisor.assign")
    assert (entry["actor"], entry["role"], entry["target_id"]) == (
        "tok-sup",
        "supervisor",
        chat["work_item_id"],
    )
    assert entry["details"]["agent_id"] == "carol"


async def test_reassign_an_offered_item(api: Api, sup: dict[str, str]) -> None:
    await presence(api, "alice")
    chat = await interaction(api)
    [first] = await offers(api, "alice")
    moved = await act(
        api, sup, f"/supervisor/work-items/{chat['work_item_id']}/assign", {"agent_id": "bob"}
    )
    assert moved["agent_id"] == "bob"
    assert await offers(api, "alice") == []
    r = await api.client.post(f"/offers/{first['id']}/accept", headers=api.auth("alice"))
    error(r, 409, "OFFER_NOT_PENDING")
    r = await api.client.post(f"/offers/{moved['offer_id']}/accept", headers=api.auth("bob"))
    assert r.status_code == 200, r.text
    # Accepted work cannot be assigned.
    r = await api.client.post(
        f"/supervisor/work-items/{moved['work_item_id']}/assign",
        json={"agent_id": "alice"},
        headers=sup,
    )
    error(r, 409, "INVALID_STATE_TRANSITION", "work_item_id")


async def test_withdraw_an_offer(api: Api, sup: dict[str, str]) -> None:
    await presence(api, "alice")
    chat = await interaction(api)
    [pending] = await offers(api, "alice")
    moved = await act(api, sup, f"/supervisor/offers/{pending['id']}/withdraw")
    assert (moved["state"], moved["agent_id"]) == ("queued", None)
    assert await offers(api, "alice") == []
    await presence(api, "bob")
    assert [o["work_item_id"] for o in await offers(api, "bob")] == [chat["work_item_id"]]
    r = await api.client.post(f"/supervisor/offers/{pending['id']}/withdraw", headers=sup)
    error(r, 409, "OFFER_NOT_PENDING", "offer_id")
    r = await api.client.post("/supervisor/offers/nope/withdraw", headers=sup)
    error(r, 404, "NOT_FOUND", "offer_id")
    assert len(await audit(api, "supervisor.withdraw_offer")) == 1


async def test_move_to_another_queue(api: Api, sup: dict[str, str]) -> None:
    chat = await interaction(api)
    moved = await act(
        api, sup, f"/supervisor/work-items/{chat['work_item_id']}/move", {"queue_id": "vip"}
    )
    assert (moved["queue_id"], moved["state"]) == ("vip", "queued")
    r = await api.client.post(
        f"/supervisor/work-items/{chat['work_item_id']}/move",
        json={"queue_id": "cases"},
        headers=sup,
    )
    error(r, 422, "QUEUE_CHANNEL_MISMATCH", "queue_id")
    r = await api.client.post(
        f"/supervisor/work-items/{chat['work_item_id']}/move", json={"queue_id": "zz"}, headers=sup
    )
    error(r, 404, "NOT_FOUND", "queue_id")
    r = await api.client.post(
        f"/supervisor/work-items/{chat['work_item_id']}/move", json={"queue": "vip"}, headers=sup
    )
    error(r, 422, "VALIDATION_ERROR")
    [entry] = await audit(api, "supervisor.move")
    assert entry["details"] == {"from_queue_id": "support", "queue_id": "vip"}


async def test_change_an_agents_presence_with_a_reason(api: Api, sup: dict[str, str]) -> None:
    await presence(api, "alice")
    r = await api.client.put(
        "/supervisor/agents/alice/presence",
        json={"presence_id": "away", "reason": "Team meeting at 10"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"agent_id": "alice", "presence_id": "away"}
    db: Database = api.app.state.db
    async with db.session() as s:
        ev = t.AgentEventRow
        rows = await s.scalars(
            select(ev.payload).where(ev.agent_id == "alice", ev.type == "presence.changed")
        )
        last = list(rows)[-1]
    assert (last["presence_id"], last["reason"], last["message"]) == (
        "away",
        "supervisor",
        "Team meeting at 10",
    )
    r = await api.client.put(
        "/supervisor/agents/alice/presence",
        json={"presence_id": "nope", "reason": "x"},
        headers=sup,
    )
    error(r, 404, "NOT_FOUND", "presence_id")
    [entry] = await audit(api, "supervisor.presence")
    assert entry["details"]["reason"] == "Team meeting at 10"
    assert entry["details"]["previous_presence_id"] == "available"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/supervisor/work-items/x/assign", {"agent_id": "bob"}),
        ("POST", "/supervisor/offers/x/withdraw", None),
        ("POST", "/supervisor/work-items/x/move", {"queue_id": "vip"}),
        ("PUT", "/supervisor/agents/bob/presence", {"presence_id": "away", "reason": "r"}),
        ("GET", "/supervisor/stuck", None),
    ],
)
async def test_agents_and_integrations_may_not_act(
    api: Api, method: str, path: str, body: Any
) -> None:
    for who in ("alice", "integration"):
        r = await api.client.request(method, path, json=body, headers=api.auth(who))
        error(r, 403, "FORBIDDEN")


async def test_moved_work_takes_the_target_queues_skills(api: Api, sup: dict[str, str]) -> None:
    # support asks for French (nobody has it); vip asks for nothing, the document for billing.
    r = await api.client.patch(
        "/queues/support", json={"skills": [{"skill_id": "french"}]}, headers=api.auth("admin")
    )
    assert r.status_code == 200, r.text
    await presence(api, "alice")
    plain = await interaction(api)
    billing = await interaction(api, skills=[{"skill_id": "billing"}])
    assert await offers(api, "alice") == []
    for chat in (plain, billing):
        await act(
            api, sup, f"/supervisor/work-items/{chat['work_item_id']}/move", {"queue_id": "vip"}
        )
    # French went with the old queue; the document's own billing requirement stayed.
    assert [o["work_item_id"] for o in await offers(api, "alice")] == [plain["work_item_id"]]
    r = await api.client.get("/supervisor/stuck", params={"min_wait_s": 0}, headers=sup)
    assert r.status_code == 200, r.text
    [stuck] = r.json()
    assert (stuck["work_item_id"], stuck["reason"]) == (
        billing["work_item_id"],
        "no_eligible_agent",
    )
