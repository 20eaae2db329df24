"""Interactions, cases and work items: create, route, transfer, end, wrap up, read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.assertions import ANY, error, when
from tests.api.conftest import Api
from tests.seed import NOW


async def get(api: Api, path: str, who: str = "admin", **params: Any) -> Any:
    """GET a resource and return its JSON."""
    r = await api.client.get(path, params=params, headers=api.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


async def presence(api: Api, agent: str, state: str = "available") -> None:
    """Set an agent's presence state."""
    r = await api.client.put(
        f"/agents/{agent}/presence", json={"presence_id": state}, headers=api.auth(agent)
    )
    assert r.status_code == 200, r.text


async def interaction(
    api: Api, channel: str = "chat", queue: str | None = "support", **fields: Any
) -> dict[str, Any]:
    """Create an interaction as the integration."""
    body: dict[str, Any] = {"channel_id": channel} | fields
    if queue is not None:
        body["queue_id"] = queue
    r = await api.client.post("/interactions", json=body, headers=api.auth("integration"))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def case(api: Api, queue: str | None = "cases", **fields: Any) -> dict[str, Any]:
    """Create a case as the integration."""
    body: dict[str, Any] = dict(fields)
    if queue is not None:
        body["queue_id"] = queue
    r = await api.client.post("/cases", json=body, headers=api.auth("integration"))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def offers(api: Api, agent: str) -> list[dict[str, Any]]:
    """An agent's pending offers."""
    result: list[dict[str, Any]] = await get(api, f"/agents/{agent}/offers", agent)
    return result


async def accept_next(api: Api, agent: str) -> dict[str, Any]:
    """Accept the agent's only pending offer."""
    [offer] = await offers(api, agent)
    r = await api.client.post(f"/offers/{offer['id']}/accept", headers=api.auth(agent))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def load(api: Api, agent: str) -> int:
    """The agent's total load."""
    body = await get(api, f"/agents/{agent}/capacity")
    total: int = body["total_load"]
    return total


async def assigned_chat(api: Api, agent: str = "alice", **fields: Any) -> dict[str, Any]:
    """A chat the agent has accepted."""
    await presence(api, agent)
    doc = await interaction(api, **fields)
    await accept_next(api, agent)
    result: dict[str, Any] = await get(api, f"/interactions/{doc['id']}")
    assert result["state"] == "work_in_progress"
    return result


async def snapshot(api: Api) -> dict[str, Any]:
    """Every list the API offers, to check that a failed request changed nothing."""
    return {
        "interactions": await get(api, "/interactions"),
        "cases": await get(api, "/cases"),
        "work_items": await get(api, "/work-items"),
        "alice": await get(api, "/agents/alice/capacity"),
        "alice_offers": await offers(api, "alice"),
    }


# -- interactions -----------------------------------------------------------------------


async def test_create_interaction_without_queue(api: Api) -> None:
    body = await interaction(
        api,
        "email",
        None,
        customer_name="Ann",
        customer_email="ann@example.test",
        subject="refund",
        external_id="ext-1",
    )
    assert body["state"] == "new"
    assert body["channel_id"] == "email"
    assert body["work_item_id"] is None
    assert body["agent_id"] is None
    assert body["customer_name"] == "Ann"
    assert body["customer_email"] == "ann@example.test"
    assert body["subject"] == "refund"
    assert body["external_id"] == "ext-1"
    assert when(body["created_at"]) == NOW
    assert await get(api, f"/interactions/{body['id']}", "alice") == body
    assert await get(api, "/work-items") == []


async def test_create_interaction_with_queue(api: Api) -> None:
    body = await interaction(api, priority=5, skills=[{"skill_id": "english", "min_level": 2}])
    assert body["state"] == "on_hold"
    item = await get(api, f"/work-items/{body['work_item_id']}")
    assert item["document_type"] == "interaction"
    assert item["document_id"] == body["id"]
    assert item["queue_id"] == "support"
    assert item["channel_id"] == "chat"
    assert item["state"] == "queued"
    assert item["priority"] == 5
    assert item["previous_id"] is None
    assert item["offer_count"] == 0
    default = await interaction(api)
    assert (await get(api, f"/work-items/{default['work_item_id']}"))["priority"] == 10


async def test_create_interaction_skills_decide_eligibility(api: Api) -> None:
    await presence(api, "alice")
    body = await interaction(api, skills=[{"skill_id": "french"}])
    assert await offers(api, "alice") == []
    assert (await get(api, f"/work-items/{body['work_item_id']}"))["state"] == "queued"


async def test_create_interaction_linked_to_case(api: Api) -> None:
    parent = await case(api, None)
    body = await interaction(api, "email", None, case_id=parent["id"])
    assert body["case_id"] == parent["id"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"channel_id": "fax"}, 404, "NOT_FOUND", "channel_id"),
        ({"channel_id": "chat", "queue_id": "nope"}, 404, "NOT_FOUND", "queue_id"),
        ({"channel_id": "email", "queue_id": "vip"}, 422, "QUEUE_CHANNEL_MISMATCH", "queue_id"),
        ({"channel_id": "chat", "queue_id": "cases"}, 422, "QUEUE_CHANNEL_MISMATCH", "queue_id"),
        (
            {"channel_id": "chat", "queue_id": "support", "skills": [{"skill_id": "klingon"}]},
            404,
            "NOT_FOUND",
            "skills",
        ),
        ({"channel_id": "chat", "case_id": "nope"}, 409, "DOCUMENT_NOT_ACTIVE", "case_id"),
        ({"channel_id": "chat", "priority": 3}, 422, "VALIDATION_ERROR", "queue_id"),
        (
            {"channel_id": "chat", "skills": [{"skill_id": "english"}]},
            422,
            "VALIDATION_ERROR",
            "queue_id",
        ),
        ({"queue_id": "support"}, 422, "VALIDATION_ERROR", "channel_id"),
        ({"channel_id": "chat", "colour": "red"}, 422, "VALIDATION_ERROR", "colour"),
        (
            {"channel_id": "chat", "queue_id": "support", "priority": -1},
            422,
            "VALIDATION_ERROR",
            "priority",
        ),
        (
            {"channel_id": "chat", "customer_name": "x" * 201},
            422,
            "VALIDATION_ERROR",
            "customer_name",
        ),
        (
            {
                "channel_id": "chat",
                "queue_id": "support",
                "skills": [{"skill_id": "english", "min_level": 11}],
            },
            422,
            "VALIDATION_ERROR",
            "skills.0.min_level",
        ),
    ],
)
async def test_create_interaction_errors_leave_nothing(
    api: Api, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    await presence(api, "alice")
    before = await snapshot(api)
    r = await api.client.post("/interactions", json=body, headers=api.auth("integration"))
    error(r, status, code, field)
    assert await snapshot(api) == before


async def test_create_interaction_in_closed_case(api: Api) -> None:
    parent = await case(api, None)
    r = await api.client.post(
        f"/cases/{parent['id']}/close", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    before = await snapshot(api)
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "email", "case_id": parent["id"]},
        headers=api.auth("integration"),
    )
    error(r, 409, "DOCUMENT_NOT_ACTIVE", "case_id")
    assert await snapshot(api) == before


async def test_create_interaction_case_id_of_an_interaction(api: Api) -> None:
    other = await interaction(api, "email", None)
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "email", "case_id": other["id"]},
        headers=api.auth("integration"),
    )
    error(r, 409, "DOCUMENT_NOT_ACTIVE", "case_id")
    assert [i["id"] for i in await get(api, "/interactions")] == [other["id"]]


@pytest.mark.parametrize("who", ["alice", "bob"])
async def test_agents_cannot_create(api: Api, who: str) -> None:
    r = await api.client.post("/interactions", json={"channel_id": "chat"}, headers=api.auth(who))
    error(r, 403, "FORBIDDEN")
    r = await api.client.post("/cases", json={}, headers=api.auth(who))
    error(r, 403, "FORBIDDEN")
    assert await get(api, "/interactions") == []
    assert await get(api, "/cases") == []


async def test_get_interaction_not_found(api: Api) -> None:
    r = await api.client.get("/interactions/nope", headers=api.auth("alice"))
    error(r, 404, "NOT_FOUND", "interaction_id")


async def test_list_interactions(api: Api) -> None:
    ids = []
    for _ in range(3):
        ids.append((await interaction(api, "email"))["id"])
        api.clock.advance(1)
    newest_first = list(reversed(ids))
    assert [x["id"] for x in await get(api, "/interactions")] == newest_first
    assert [x["id"] for x in await get(api, "/interactions", limit=2)] == newest_first[:2]
    assert [x["id"] for x in await get(api, "/interactions", offset=2)] == newest_first[2:]
    await presence(api, "alice")
    first = (await offers(api, "alice"))[0]
    r = await api.client.post(f"/offers/{first['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    item = await get(api, f"/work-items/{first['work_item_id']}")
    mine = await get(api, "/interactions", agent_id="alice")
    assert [x["id"] for x in mine] == [item["document_id"]]
    wip = await get(api, "/interactions", state="work_in_progress")
    assert [x["id"] for x in wip] == [item["document_id"]]
    assert len(await get(api, "/interactions", state="on_hold")) == 2
    assert await get(api, "/interactions", state="closed_complete") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "many"}, "limit"),
    ],
)
@pytest.mark.parametrize("path", ["/interactions", "/cases", "/work-items"])
async def test_list_paging_validation(
    api: Api, path: str, params: dict[str, Any], field: str
) -> None:
    r = await api.client.get(path, params=params, headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", field)


# -- routing a document -----------------------------------------------------------------


async def test_route_unrouted_interaction(api: Api) -> None:
    doc = await interaction(api, queue=None)
    r = await api.client.post(
        "/work-items",
        json={"document_id": doc["id"], "queue_id": "vip", "priority": 0},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["state"] == "queued"
    assert item["queue_id"] == "vip"
    assert item["priority"] == 0
    assert item["previous_id"] is None
    assert await get(api, f"/work-items/{item['id']}") == item
    doc = await get(api, f"/interactions/{doc['id']}")
    assert doc["state"] == "on_hold"
    assert doc["work_item_id"] == item["id"]


async def test_reroute_cancels_old_item(api: Api) -> None:
    doc = await interaction(api)
    first = doc["work_item_id"]
    api.clock.advance(2)
    r = await api.client.post(
        "/work-items", json={"document_id": doc["id"], "queue_id": "vip"}, headers=api.auth("admin")
    )
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["previous_id"] == first
    assert item["priority"] == 1
    old = await get(api, f"/work-items/{first}")
    assert old["state"] == "cancelled"
    assert old["cancel_reason"] == "rerouted"
    assert when(old["ended_at"]) == NOW + timedelta(seconds=2)
    assert (await get(api, f"/interactions/{doc['id']}"))["work_item_id"] == item["id"]
    live = await get(api, "/work-items", document_id=doc["id"], state="queued")
    assert [x["id"] for x in live] == [item["id"]]


async def test_reroute_withdraws_pending_offer(api: Api) -> None:
    await presence(api, "alice")
    doc = await interaction(api)
    [offer] = await offers(api, "alice")
    await presence(api, "alice", "away")
    r = await api.client.post(
        "/work-items", json={"document_id": doc["id"], "queue_id": "vip"}, headers=api.auth("admin")
    )
    assert r.status_code == 201, r.text
    assert (await get(api, f"/offers/{offer['id']}"))["state"] == "withdrawn"
    assert await offers(api, "alice") == []
    assert await load(api, "alice") == 0
    r = await api.client.post(f"/offers/{offer['id']}/accept", headers=api.auth("alice"))
    error(r, 409, "OFFER_NOT_PENDING")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"document_id": "DOC", "queue_id": "nope"}, 404, "NOT_FOUND", "queue_id"),
        ({"document_id": "DOC", "queue_id": "cases"}, 422, "QUEUE_CHANNEL_MISMATCH", "queue_id"),
        (
            {"document_id": "DOC", "queue_id": "support", "skills": [{"skill_id": "klingon"}]},
            404,
            "NOT_FOUND",
            "skills",
        ),
        ({"document_id": "nope", "queue_id": "support"}, 409, "DOCUMENT_NOT_ACTIVE", "document_id"),
        ({"document_id": "DOC"}, 422, "VALIDATION_ERROR", "queue_id"),
        ({"queue_id": "support"}, 422, "VALIDATION_ERROR", "document_id"),
        (
            {"document_id": "DOC", "queue_id": "support", "priority": 1_000_001},
            422,
            "VALIDATION_ERROR",
            "priority",
        ),
        (
            {"document_id": "DOC", "queue_id": "support", "force": True},
            422,
            "VALIDATION_ERROR",
            "force",
        ),
    ],
)
async def test_route_errors_leave_nothing(
    api: Api, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    doc = await interaction(api)
    body = {k: doc["id"] if v == "DOC" else v for k, v in body.items()}
    before = await snapshot(api)
    r = await api.client.post("/work-items", json=body, headers=api.auth("integration"))
    error(r, status, code, field)
    assert await snapshot(api) == before


async def test_route_closed_document(api: Api) -> None:
    doc = await interaction(api)
    r = await api.client.post(
        f"/interactions/{doc['id']}/end", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    before = await snapshot(api)
    r = await api.client.post(
        "/work-items",
        json={"document_id": doc["id"], "queue_id": "support"},
        headers=api.auth("integration"),
    )
    error(r, 409, "DOCUMENT_NOT_ACTIVE", "document_id")
    assert await snapshot(api) == before


async def test_route_interaction_in_wrap_up(api: Api) -> None:
    doc = await assigned_chat(api)
    r = await api.client.post(f"/interactions/{doc['id']}/end", json={}, headers=api.auth("alice"))
    assert r.json()["state"] == "wrap_up"
    before = await snapshot(api)
    r = await api.client.post(
        "/work-items", json={"document_id": doc["id"], "queue_id": "vip"}, headers=api.auth("alice")
    )
    error(r, 409, "INVALID_STATE_TRANSITION", "document_id")
    assert await snapshot(api) == before


async def test_agent_may_route_only_its_own_work(api: Api) -> None:
    doc = await assigned_chat(api)
    unassigned = await interaction(api, "email", None)
    before = await snapshot(api)
    for who, doc_id in (("bob", doc["id"]), ("alice", unassigned["id"]), ("alice", "nope")):
        r = await api.client.post(
            "/work-items",
            json={"document_id": doc_id, "queue_id": "support"},
            headers=api.auth(who),
        )
        error(r, 403, "FORBIDDEN")
    assert await snapshot(api) == before


async def test_transfer_accepted_work_to_another_queue(api: Api) -> None:
    doc = await assigned_chat(api)
    old_item = doc["work_item_id"]
    await presence(api, "bob")
    api.clock.advance(1)
    r = await api.client.post(
        "/work-items", json={"document_id": doc["id"], "queue_id": "vip"}, headers=api.auth("alice")
    )
    assert r.status_code == 201, r.text
    new_item = r.json()
    assert new_item["previous_id"] == old_item
    # Bob has the most free capacity, so the transfer is offered to him.
    [offer] = await offers(api, "bob")
    assert offer["work_item_id"] == new_item["id"]
    # Until Bob accepts, the work stays Alice's.
    assert (await get(api, f"/work-items/{old_item}"))["state"] == "accepted"
    current = await get(api, f"/interactions/{doc['id']}")
    assert current["agent_id"] == "alice"
    assert current["state"] == "work_in_progress"
    assert await load(api, "alice") == 1
    api.clock.advance(4)
    await accept_next(api, "bob")
    old = await get(api, f"/work-items/{old_item}")
    assert old["state"] == "closed"
    assert when(old["ended_at"]) == NOW + timedelta(seconds=5)
    assert await load(api, "alice") == 0
    assert await load(api, "bob") == 1
    current = await get(api, f"/interactions/{doc['id']}")
    assert current["agent_id"] == "bob"
    assert current["work_item_id"] == new_item["id"]
    assert current["state"] == "work_in_progress"
    chain = await get(api, "/work-items", document_id=doc["id"])
    assert [x["id"] for x in chain] == [new_item["id"], old_item]


# -- ending and wrap-up -----------------------------------------------------------------


async def test_end_with_code_without_limit_closes(api: Api) -> None:
    doc = await assigned_chat(api)
    api.clock.advance(7)
    r = await api.client.post(
        f"/interactions/{doc['id']}/end",
        json={"wrap_up_code_id": "resolved", "notes": "sorted"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "closed_complete"
    assert body["wrap_up_code_id"] == "resolved"
    assert body["wrap_up_notes"] == "sorted"
    assert body["wrap_up_due_at"] is None
    assert when(body["ended_at"]) == NOW + timedelta(seconds=7)
    assert when(body["closed_at"]) == NOW + timedelta(seconds=7)
    assert (await get(api, f"/work-items/{doc['work_item_id']}"))["state"] == "closed"
    assert await load(api, "alice") == 0


async def test_end_with_timed_code_waits_for_wrap_up(api: Api) -> None:
    doc = await assigned_chat(api)
    r = await api.client.post(
        f"/interactions/{doc['id']}/end",
        json={"wrap_up_code_id": "follow-up"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "wrap_up"
    assert body["wrap_up_code_id"] == "follow-up"
    assert when(body["wrap_up_due_at"]) == NOW + timedelta(seconds=60)
    assert body["closed_at"] is None
    assert await load(api, "alice") == 1
    api.clock.advance(59)
    await api.engine.tick()
    assert (await get(api, f"/interactions/{doc['id']}"))["state"] == "wrap_up"
    api.clock.advance(1)
    await api.engine.tick()
    closed = await get(api, f"/interactions/{doc['id']}")
    assert closed["state"] == "closed_complete"
    assert closed["wrap_up_code_id"] == "follow-up"
    assert closed["wrap_up_due_at"] is None
    assert when(closed["closed_at"]) == NOW + timedelta(seconds=60)
    assert await load(api, "alice") == 0
    assert (await get(api, f"/work-items/{doc['work_item_id']}"))["state"] == "closed"


async def test_end_without_code_then_wrap_up(api: Api) -> None:
    doc = await assigned_chat(api)
    r = await api.client.post(f"/interactions/{doc['id']}/end", json={}, headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "wrap_up"
    assert r.json()["wrap_up_due_at"] is None
    assert await load(api, "alice") == 1
    r = await api.client.post(
        f"/interactions/{doc['id']}/wrap-up",
        json={"wrap_up_code_id": "resolved", "notes": "all good"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "closed_complete"
    assert body["wrap_up_code_id"] == "resolved"
    assert body["wrap_up_notes"] == "all good"
    assert await load(api, "alice") == 0


async def test_wrap_up_by_admin(api: Api) -> None:
    doc = await assigned_chat(api)
    r = await api.client.post(
        f"/interactions/{doc['id']}/end", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 403, r.text
    r = await api.client.post(f"/interactions/{doc['id']}/end", json={}, headers=api.auth("admin"))
    assert r.json()["state"] == "wrap_up"
    r = await api.client.post(
        f"/interactions/{doc['id']}/wrap-up",
        json={"wrap_up_code_id": "follow-up"},
        headers=api.auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed_complete"


async def test_end_unassigned_interaction_abandons_it(api: Api) -> None:
    await presence(api, "alice")
    doc = await interaction(api)
    [offer] = await offers(api, "alice")
    r = await api.client.post(
        f"/interactions/{doc['id']}/end", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "closed_abandoned"
    assert body["ended_at"] is not None
    item = await get(api, f"/work-items/{doc['work_item_id']}")
    assert item["state"] == "cancelled"
    assert item["cancel_reason"] == "document_closed"
    assert (await get(api, f"/offers/{offer['id']}"))["state"] == "withdrawn"
    assert await load(api, "alice") == 0
    new = await interaction(api, "email", None)
    r = await api.client.post(f"/interactions/{new['id']}/end", json={}, headers=api.auth("admin"))
    assert r.json()["state"] == "closed_abandoned"


async def test_end_errors_change_nothing(api: Api) -> None:
    doc = await assigned_chat(api)
    on_hold = await interaction(api, "email")
    cases = await case(api, None)
    before = await snapshot(api)
    alice = api.auth("alice")
    cases_path = f"/interactions/{cases['id']}/end"
    for path, body, who, status, code, field in (
        (
            f"/interactions/{doc['id']}/end",
            {"wrap_up_code_id": "x"},
            alice,
            422,
            "INVALID_WRAP_UP_CODE",
            "wrap_up_code_id",
        ),
        (f"/interactions/{doc['id']}/end", {}, api.auth("bob"), 403, "FORBIDDEN", ANY),
        (f"/interactions/{on_hold['id']}/end", {}, alice, 403, "FORBIDDEN", ANY),
        (
            f"/interactions/{doc['id']}/end",
            {"code": "resolved"},
            alice,
            422,
            "VALIDATION_ERROR",
            "code",
        ),
        (
            f"/interactions/{doc['id']}/end",
            {"notes": "x" * 10_001},
            alice,
            422,
            "VALIDATION_ERROR",
            "notes",
        ),
        ("/interactions/nope/end", {}, alice, 404, "NOT_FOUND", "interaction_id"),
        (cases_path, {}, api.auth("admin"), 404, "NOT_FOUND", "interaction_id"),
        (
            f"/interactions/{doc['id']}/wrap-up",
            {"wrap_up_code_id": "resolved"},
            alice,
            409,
            "INVALID_STATE_TRANSITION",
            ANY,
        ),
    ):
        r = await api.client.post(path, json=body, headers=who)
        error(r, status, code, field)
    assert await snapshot(api) == before


async def test_wrap_up_errors_change_nothing(api: Api) -> None:
    doc = await assigned_chat(api)
    path = f"/interactions/{doc['id']}"
    r = await api.client.post(f"{path}/end", json={}, headers=api.auth("alice"))
    assert r.json()["state"] == "wrap_up"
    before = await snapshot(api)
    alice = api.auth("alice")
    for url, body, who, status, code, field in (
        (
            f"{path}/wrap-up",
            {"wrap_up_code_id": "x"},
            alice,
            422,
            "INVALID_WRAP_UP_CODE",
            "wrap_up_code_id",
        ),
        (f"{path}/wrap-up", {}, alice, 422, "VALIDATION_ERROR", "wrap_up_code_id"),
        (
            f"{path}/wrap-up",
            {"wrap_up_code_id": "resolved"},
            api.auth("bob"),
            403,
            "FORBIDDEN",
            ANY,
        ),
        (f"{path}/end", {}, alice, 409, "INVALID_STATE_TRANSITION", ANY),
        (
            "/interactions/nope/wrap-up",
            {"wrap_up_code_id": "resolved"},
            alice,
            404,
            "NOT_FOUND",
            "interaction_id",
        ),
    ):
        r = await api.client.post(url, json=body, headers=who)
        error(r, status, code, field)
    assert await snapshot(api) == before
    assert (await get(api, path))["state"] == "wrap_up"


async def test_end_or_wrap_up_closed_interaction(api: Api) -> None:
    doc = await assigned_chat(api)
    path = f"/interactions/{doc['id']}"
    r = await api.client.post(
        f"{path}/end", json={"wrap_up_code_id": "resolved"}, headers=api.auth("alice")
    )
    assert r.json()["state"] == "closed_complete"
    before = await snapshot(api)
    r = await api.client.post(f"{path}/end", json={}, headers=api.auth("alice"))
    error(r, 409, "DOCUMENT_NOT_ACTIVE", "interaction_id")
    r = await api.client.post(
        f"{path}/wrap-up", json={"wrap_up_code_id": "resolved"}, headers=api.auth("alice")
    )
    error(r, 409, "DOCUMENT_NOT_ACTIVE", "interaction_id")
    assert await snapshot(api) == before


# -- cases ------------------------------------------------------------------------------


async def test_case_without_queue(api: Api) -> None:
    body = await case(api, None, subject="broken", description="it broke", customer_name="Ann")
    assert body["state"] == "new"
    assert body["channel_id"] == "case"
    assert body["work_item_id"] is None
    assert body["subject"] == "broken"
    assert body["description"] == "it broke"
    assert await get(api, f"/cases/{body['id']}", "bob") == body
    r = await api.client.post(
        f"/cases/{body['id']}/close", json={"resolution": "dup"}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed"
    assert r.json()["resolution"] == "dup"
    assert r.json()["closed_at"] is not None


async def test_case_routed_accepted_and_closed(api: Api) -> None:
    await presence(api, "alice")
    body = await case(api, subject="broken")
    assert body["state"] == "open"
    item = await get(api, f"/work-items/{body['work_item_id']}")
    assert item["document_type"] == "case"
    assert item["queue_id"] == "cases"
    await accept_next(api, "alice")
    current = await get(api, f"/cases/{body['id']}")
    assert current["state"] == "in_progress"
    assert current["agent_id"] == "alice"
    assert await load(api, "alice") == 1
    r = await api.client.post(f"/cases/{body['id']}/close", json={}, headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.post(
        f"/cases/{body['id']}/close", json={"resolution": "fixed"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed"
    assert r.json()["resolution"] == "fixed"
    assert (await get(api, f"/work-items/{body['work_item_id']}"))["state"] == "closed"
    assert await load(api, "alice") == 0
    before = await snapshot(api)
    r = await api.client.post(f"/cases/{body['id']}/close", json={}, headers=api.auth("alice"))
    error(r, 409, "DOCUMENT_NOT_ACTIVE", "case_id")
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"queue_id": "support"}, 422, "QUEUE_CHANNEL_MISMATCH", "queue_id"),
        ({"queue_id": "nope"}, 404, "NOT_FOUND", "queue_id"),
        ({"channel_id": "fax"}, 404, "NOT_FOUND", "channel_id"),
        ({"priority": 2}, 422, "VALIDATION_ERROR", "queue_id"),
        ({"description": 5}, 422, "VALIDATION_ERROR", "description"),
        ({"state": "open"}, 422, "VALIDATION_ERROR", "state"),
    ],
)
async def test_create_case_errors_leave_nothing(
    api: Api, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = await snapshot(api)
    r = await api.client.post("/cases", json=body, headers=api.auth("integration"))
    error(r, status, code, field)
    assert await snapshot(api) == before


async def test_case_not_found(api: Api) -> None:
    chat = await interaction(api, queue=None)
    r = await api.client.get("/cases/nope", headers=api.auth("alice"))
    error(r, 404, "NOT_FOUND", "case_id")
    for case_id in ("nope", chat["id"]):
        r = await api.client.post(
            f"/cases/{case_id}/close", json={}, headers=api.auth("integration")
        )
        error(r, 404, "NOT_FOUND", "case_id")
    r = await api.client.post(
        f"/cases/{chat['id']}/close",
        json={"resolution": "x" * 10_001},
        headers=api.auth("integration"),
    )
    error(r, 422, "VALIDATION_ERROR", "resolution")


async def test_list_cases(api: Api) -> None:
    first = await case(api, None)
    api.clock.advance(1)
    second = await case(api)
    assert [c["id"] for c in await get(api, "/cases")] == [second["id"], first["id"]]
    assert [c["id"] for c in await get(api, "/cases", state="open")] == [second["id"]]
    assert [c["id"] for c in await get(api, "/cases", state="new")] == [first["id"]]
    assert [c["id"] for c in await get(api, "/cases", limit=1, offset=1)] == [first["id"]]
    await presence(api, "alice")
    [offer] = await offers(api, "alice")
    r = await api.client.post(f"/offers/{offer['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    assert [c["id"] for c in await get(api, "/cases", agent_id="alice")] == [second["id"]]
    assert await get(api, "/cases", agent_id="bob") == []


# -- work items -------------------------------------------------------------------------


async def test_work_item_not_found(api: Api) -> None:
    r = await api.client.get("/work-items/nope", headers=api.auth("alice"))
    error(r, 404, "NOT_FOUND", "work_item_id")


async def test_list_work_items_filters(api: Api) -> None:
    await presence(api, "alice")
    a = await interaction(api)
    api.clock.advance(1)
    await presence(api, "alice", "away")
    b = await interaction(api, "email")
    api.clock.advance(1)
    c = await case(api)
    ia, ib, ic = a["work_item_id"], b["work_item_id"], c["work_item_id"]

    async def ids(**params: Any) -> list[str]:
        return [x["id"] for x in await get(api, "/work-items", "bob", **params)]

    assert await ids() == [ic, ib, ia]
    assert await ids(state="pending_accept") == [ia]
    assert await ids(state="queued") == [ic, ib]
    assert await ids(queue_id="support") == [ib, ia]
    assert await ids(queue_id="cases") == [ic]
    assert await ids(document_id=b["id"]) == [ib]
    assert await ids(agent_id="alice") == [ia]
    assert await ids(agent_id="alice", state="queued") == []
    assert await ids(limit=1, offset=1) == [ib]


async def test_wrap_up_before_its_limit(api: Api) -> None:
    doc = await assigned_chat(api)
    path = f"/interactions/{doc['id']}"
    r = await api.client.post(
        f"{path}/end", json={"wrap_up_code_id": "follow-up"}, headers=api.auth("alice")
    )
    assert r.json()["state"] == "wrap_up"
    api.clock.advance(10)
    r = await api.client.post(
        f"{path}/wrap-up", json={"wrap_up_code_id": "resolved"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["state"] == "closed_complete"
    assert closed["wrap_up_code_id"] == "resolved"
    assert closed["wrap_up_due_at"] is None
    api.clock.advance(60)
    await api.engine.tick()
    assert await get(api, path) == closed


async def test_ending_during_a_transfer_withdraws_it(api: Api) -> None:
    doc = await assigned_chat(api)
    await presence(api, "bob")
    r = await api.client.post(
        "/work-items", json={"document_id": doc["id"], "queue_id": "vip"}, headers=api.auth("alice")
    )
    transfer = r.json()
    [offer] = await offers(api, "bob")
    r = await api.client.post(
        f"/interactions/{doc['id']}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed_complete"
    item = await get(api, f"/work-items/{transfer['id']}")
    assert item["state"] == "cancelled"
    assert item["cancel_reason"] == "document_closed"
    assert (await get(api, f"/offers/{offer['id']}"))["state"] == "withdrawn"
    assert await load(api, "alice") == 0
    assert await load(api, "bob") == 0
