"""Administration of API tokens: create once with the secret, list without it, revoke."""

from __future__ import annotations

from sqlalchemy import select

from omniroute.auth_tokens import hash_token
from omniroute.store import tables as t
from tests.api.conftest import Api
from tests.api.test_admin_crud import error, get, post


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for a token."""
    return {"Authorization": f"Bearer {token}"}


async def test_create_use_list_and_revoke(api: Api) -> None:
    created = await post(api, "/tokens", {"id": "ops", "name": "Ops", "role": "admin"})
    secret = created.pop("token")
    assert created == {
        "id": "ops",
        "name": "Ops",
        "role": "admin",
        "agent_id": None,
        "created_at": "2026-01-01T00:00:00Z",
    }
    async with api.app.state.db.session() as s:
        stored = await s.scalar(select(t.ApiTokenRow.token_hash).where(t.ApiTokenRow.id == "ops"))
    assert stored == hash_token(secret)
    assert stored != secret

    listed = await get(api, "/tokens")
    assert created in listed
    assert all(set(tok) == set(created) for tok in listed)
    assert await get(api, "/tokens/ops") == created
    assert (await get(api, "/channels/chat", who="admin"))["id"] == "chat"
    r = await api.client.get("/tokens", headers=bearer(secret))
    assert r.status_code == 200, r.text

    r = await api.client.delete("/tokens/ops", headers=api.auth("admin"))
    assert r.status_code == 204, r.text
    r = await api.client.get("/tokens", headers=bearer(secret))
    error(r, 401, "UNAUTHENTICATED")
    r = await api.client.get("/tokens/ops", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "id")
    r = await api.client.delete("/tokens/ops", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "id")


async def test_agent_token_acts_as_its_agent(api: Api) -> None:
    created = await post(
        api, "/tokens", {"name": "Bob's laptop", "role": "agent", "agent_id": "bob"}
    )
    assert created["id"].startswith("bob-s-laptop-")
    headers = bearer(created["token"])
    r = await api.client.get("/agents/bob/presence", headers=headers)
    assert r.status_code == 200, r.text
    r = await api.client.get("/agents/alice/presence", headers=headers)
    error(r, 403, "FORBIDDEN")
    r = await api.client.get("/tokens", headers=headers)
    error(r, 403, "FORBIDDEN")


async def test_token_errors(api: Api) -> None:
    admin = api.auth("admin")
    for body, status, code, field in (
        ({"name": "x", "role": "agent"}, 422, "VALIDATION_ERROR", "agent_id"),
        (
            {"name": "x", "role": "integration", "agent_id": "bob"},
            422,
            "VALIDATION_ERROR",
            "agent_id",
        ),
        ({"name": "x", "role": "root"}, 422, "VALIDATION_ERROR", "role"),
        ({"name": "x", "role": "admin", "secret": "s"}, 422, "VALIDATION_ERROR", "secret"),
        ({"role": "admin"}, 422, "VALIDATION_ERROR", "name"),
        ({"name": "x", "role": "agent", "agent_id": "zed"}, 404, "NOT_FOUND", "agent_id"),
        ({"id": "tok-admin", "name": "x", "role": "admin"}, 409, "CONFLICT", "id"),
    ):
        r = await api.client.post("/tokens", json=body, headers=admin)
        error(r, status, code, field)
    for who in ("alice", "integration"):
        r = await api.client.post(
            "/tokens", json={"name": "x", "role": "admin"}, headers=api.auth(who)
        )
        error(r, 403, "FORBIDDEN")
        r = await api.client.delete("/tokens/tok-admin", headers=api.auth(who))
        error(r, 403, "FORBIDDEN")
    r = await api.client.get("/tokens")
    error(r, 401, "UNAUTHENTICATED")
    r = await api.client.get("/tokens/tok-admin", headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
