"""docs/api.md's role table, enforced: content for holder, supervisors and admins; work changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, add_supervisor_token
from tests.api.test_session_api import set_password
from tests.api.test_work_offers_api import ext, external_chat, work_offer

__all__ = ["ext"]  # the fixture, used by name

CONTENT = ["/interactions/{id}/emails", "/interactions/{id}/messages", "/interactions/{id}/history"]


async def held_chat(api: Api, agent: str = "alice") -> dict[str, Any]:
    r = await api.client.put(
        f"/agents/{agent}/presence", json={"presence_id": "available"}, headers=api.auth(agent)
    )
    assert r.status_code == 200, r.text
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "support", "customer_email": "ann@example.test"},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    doc: dict[str, Any] = r.json()
    [offer] = (await api.client.get(f"/agents/{agent}/offers", headers=api.auth(agent))).json()
    r = await api.client.post(f"/offers/{offer['id']}/accept", headers=api.auth(agent))
    assert r.status_code == 200, r.text
    return doc


async def supervisor_session(api: Api) -> dict[str, str]:
    """Signs carol in with the supervisor flag; the client now carries her cookie."""
    await set_password(api, "carol", supervisor=True)
    r = await api.client.post(
        "/session",
        json={"email": "carol@example.test", "password": "correct horse battery staple"},
    )
    assert r.status_code == 201, r.text
    return {}


@pytest.mark.parametrize("path", CONTENT)
async def test_content_of_every_channel_is_for_holder_supervisor_and_admin(
    api: Api, path: str
) -> None:
    doc = await held_chat(api)
    url = path.format(id=doc["id"])
    sup = await add_supervisor_token(api)
    for headers, status in [
        (api.auth("alice"), 200),
        (api.auth("admin"), 200),
        (sup, 200),
        (api.auth("bob"), 403),
        (api.auth("integration"), 403),
    ]:
        r = await api.client.get(url, headers=headers)
        assert r.status_code == status, (headers, r.text)
    await supervisor_session(api)
    r = await api.client.get(url)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/interactions/{id}/end", {}),
        ("POST", "/documents/{id}/transfer", {"target_queue_id": "vip"}),
        ("POST", "/work-items", {"document_id": "{id}", "queue_id": "vip"}),
    ],
)
async def test_only_the_holder_and_admins_change_held_work(
    api: Api, method: str, path: str, body: dict[str, Any]
) -> None:
    doc = await held_chat(api)
    url = path.format(id=doc["id"])
    payload = {k: v.format(id=doc["id"]) if isinstance(v, str) else v for k, v in body.items()}
    sup = await add_supervisor_token(api)
    for headers in (api.auth("bob"), api.auth("integration"), sup):
        r = await api.client.request(method, url, json=payload, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["error"]["code"] == "FORBIDDEN"
    state = (await api.client.get(f"/interactions/{doc['id']}", headers=api.auth("admin"))).json()
    assert (state["state"], state["agent_id"]) == ("work_in_progress", "alice")
    r = await api.client.request(method, url, json=payload, headers=api.auth("alice"))
    assert r.is_success, r.text


async def test_admin_may_end_held_work(api: Api) -> None:
    doc = await held_chat(api)
    r = await api.client.post(f"/interactions/{doc['id']}/end", json={}, headers=api.auth("admin"))
    assert r.json()["state"] == "wrap_up"


async def test_the_integration_ends_what_its_provider_routed(ext: Api) -> None:
    doc = await external_chat(ext)
    body = {"document_id": doc["id"], "provider_agent_id": "P-alice", "auto_accept": True}
    r = await work_offer(ext, body)
    assert r.status_code == 201, r.text
    state = (await ext.client.get(f"/interactions/{doc['id']}", headers=ext.auth("admin"))).json()
    assert state["agent_id"] == "alice"
    r = await ext.client.post(
        f"/interactions/{doc['id']}/end", json={}, headers=ext.auth("integration")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "wrap_up"


async def test_presence_is_set_by_the_agent_or_an_admin_only(api: Api) -> None:
    sup = await add_supervisor_token(api)
    for headers in (api.auth("integration"), api.auth("bob"), sup):
        r = await api.client.put(
            "/agents/alice/presence", json={"presence_id": "available"}, headers=headers
        )
        assert r.status_code == 403, r.text
