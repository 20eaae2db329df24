"""Administration of agents: skills, groups, passwords, and what stays with the engine."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import func, select

from omniroute.store import tables as t
from tests.api.conftest import Api
from tests.api.test_admin_crud import error, get, patch, post

DAVE = {"id": "dave", "name": "Dave", "email": "Dave@Example.TEST"}


async def password_hash(api: Api, agent_id: str) -> str | None:
    """The stored password hash of an agent."""
    async with api.app.state.db.session() as s:
        row = await s.get(t.AgentRow, agent_id)
        assert row is not None
        value: str | None = row.password_hash
        return value


async def test_create_with_defaults(api: Api) -> None:
    agent = await post(api, "/agents", DAVE)
    assert agent == {
        "id": "dave",
        "name": "Dave",
        "email": "dave@example.test",
        "presence_id": "offline",
        "capacity_cap": None,
        "allow_external": True,
        "skills": {},
        "groups": [],
        "has_password": False,
        "supervisor": False,
        "disabled": False,
        "created_at": "2026-01-01T00:00:00Z",
    }
    assert await password_hash(api, "dave") is None
    presence = await get(api, "/agents/dave/presence")
    assert presence["presence_id"] == "offline"
    assert presence["since"] == "2026-01-01T00:00:00Z"


async def test_create_with_presence_cap_and_password(api: Api) -> None:
    body = DAVE | {
        "presence_id": "away",
        "capacity_cap": 3,
        "skills": {"english": 10, "french": 1},
        "groups": ["tier2", "tier1", "tier2"],
        "password": "s3cret-enough",
    }
    agent = await post(api, "/agents", body)
    assert agent["presence_id"] == "away"
    assert agent["capacity_cap"] == 3
    assert agent["skills"] == {"english": 10, "french": 1}
    assert agent["groups"] == ["tier1", "tier2"]
    assert agent["has_password"] is True
    assert "password" not in agent
    assert "password_hash" not in agent
    stored = await password_hash(api, "dave")
    assert stored is not None
    assert stored.startswith("$argon2")
    assert PasswordHasher().verify(stored, "s3cret-enough")
    capacity = await get(api, "/agents/dave/capacity")
    assert capacity["capacity_cap"] == 3
    engine_agent = api.engine.state.agents["dave"]
    assert engine_agent.skills == {"english": 10, "french": 1}
    assert engine_agent.groups == frozenset({"tier1", "tier2"})


async def test_agent_validation(api: Api) -> None:
    admin = api.auth("admin")
    for change, field in (
        ({"skills": {"english": 11}}, "skills.english"),
        ({"skills": {"english": 0}}, "skills.english"),
        ({"capacity_cap": -1}, "capacity_cap"),
        ({"password": "short"}, "password"),
        ({"email": "two@@x"}, "email"),
        ({"groups": "tier1"}, "groups"),
    ):
        r = await api.client.post("/agents", json=DAVE | change, headers=admin)
        error(r, 422, "VALIDATION_ERROR", field)
    changes: list[tuple[dict[str, object], str]] = [
        ({"presence_id": "available"}, "presence_id"),
        ({"capacity_cap": 5}, "capacity_cap"),
    ]
    for patch_body, field in changes:
        r = await api.client.patch("/agents/alice", json=patch_body, headers=admin)
        error(r, 422, "VALIDATION_ERROR", field)
    # A field the record cannot hold as null: null leaves it as it is.
    r = await api.client.patch("/agents/alice", json={"email": None}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "alice@example.test"


async def test_agent_references(api: Api) -> None:
    admin = api.auth("admin")
    for change, field in (
        ({"presence_id": "asleep"}, "presence_id"),
        ({"skills": {"english": 2, "klingon": 3}}, "skills.klingon"),
        ({"groups": ["tier1", "tier9"]}, "groups.1"),
    ):
        r = await api.client.post("/agents", json=DAVE | change, headers=admin)
        error(r, 404, "NOT_FOUND", field)
    r = await api.client.get("/agents/dave", headers=admin)
    error(r, 404, "NOT_FOUND", "id")


async def test_email_is_unique(api: Api) -> None:
    admin = api.auth("admin")
    r = await api.client.post(
        "/agents", json=DAVE | {"email": " ALICE@example.test "}, headers=admin
    )
    error(r, 409, "CONFLICT", "email")
    await post(api, "/agents", DAVE)
    r = await api.client.patch("/agents/bob", json={"email": "dave@example.test"}, headers=admin)
    error(r, 409, "CONFLICT", "email")
    assert (await patch(api, "/agents/dave", {"email": "DAVE@example.test"}))["email"] == (
        "dave@example.test"
    )


async def test_patch_replaces_links_atomically(api: Api) -> None:
    admin = api.auth("admin")
    await patch(api, "/agents/alice", {"skills": {"english": 5, "billing": 2}, "groups": ["tier1"]})
    r = await api.client.patch(
        "/agents/alice",
        json={"name": "Alicia", "skills": {"french": 4}, "groups": ["tier1", "nope"]},
        headers=admin,
    )
    error(r, 404, "NOT_FOUND", "groups.1")
    agent = await get(api, "/agents/alice")
    assert agent["name"] == "Alice"
    assert agent["skills"] == {"billing": 2, "english": 5}
    assert agent["groups"] == ["tier1"]
    agent = await patch(api, "/agents/alice", {"skills": {"french": 4}})
    assert agent["skills"] == {"french": 4}
    assert agent["groups"] == ["tier1"]
    assert api.engine.state.agents["alice"].skills == {"french": 4}


async def test_patch_leaves_presence_and_capacity_alone(api: Api) -> None:
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "available"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    r = await api.client.put(
        "/agents/alice/capacity",
        json={"capacity_cap": 2, "channels": {"chat": 1}},
        headers=api.auth("admin"),
    )
    assert r.status_code == 200, r.text
    agent = await patch(api, "/agents/alice", {"name": "Alicia", "allow_external": False})
    assert agent["presence_id"] == "available"
    assert agent["capacity_cap"] == 2
    capacity = await get(api, "/agents/alice/capacity")
    assert capacity["capacity_cap"] == 2
    assert capacity["channels"]["chat"]["capacity"] == 1
    engine_agent = api.engine.state.agents["alice"]
    assert engine_agent.presence_id == "available"
    assert engine_agent.allow_external is False
    assert engine_agent.name == "Alicia"


async def test_password_set_and_cleared(api: Api) -> None:
    assert (await patch(api, "/agents/bob", {"password": "new password"}))["has_password"]
    stored = await password_hash(api, "bob")
    assert stored is not None
    assert PasswordHasher().verify(stored, "new password")
    assert not (await patch(api, "/agents/bob", {"password": None}))["has_password"]
    assert await password_hash(api, "bob") is None


async def test_supervisor_flag_is_set_and_cleared(api: Api) -> None:
    assert (await patch(api, "/agents/bob", {"supervisor": True}))["supervisor"] is True
    assert (await get(api, "/agents/bob"))["supervisor"] is True
    assert (await patch(api, "/agents/bob", {"name": "Robert"}))["supervisor"] is True
    assert (await patch(api, "/agents/bob", {"supervisor": False}))["supervisor"] is False


async def test_an_agent_reads_only_itself(api: Api) -> None:
    assert (await get(api, "/agents/alice", who="alice"))["id"] == "alice"
    r = await api.client.get("/agents/bob", headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.get("/agents", headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")


async def test_delete_removes_links_and_tokens(api: Api) -> None:
    await patch(api, "/agents/carol", {"groups": ["tier2"]})
    assert (await get(api, "/agents/carol", who="carol"))["id"] == "carol"
    r = await api.client.delete("/agents/carol", headers=api.auth("admin"))
    assert r.status_code == 204, r.text
    r = await api.client.get("/agents/carol", headers=api.auth("carol"))
    error(r, 401, "UNAUTHENTICATED")
    async with api.app.state.db.session() as s:
        for table in (t.AgentSkillRow, t.AgentGroupRow, t.ApiTokenRow):
            count = await s.scalar(
                select(func.count()).select_from(table).where(table.agent_id == "carol")
            )
            assert count == 0, table
    assert "carol" not in api.engine.state.agents
