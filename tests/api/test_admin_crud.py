"""Administration CRUD: the same contract for every kind of record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api

ANY = object()


def error(r: httpx.Response, status: int, code: str, field: object = ANY) -> dict[str, Any]:
    """Assert an error response of the stable shape and return its error object."""
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"code", "message", "field"}
    assert err["code"] == code
    assert err["message"]
    if field is not ANY:
        assert err["field"] == field, err
    return err


async def post(api: Api, path: str, body: dict[str, Any], who: str = "admin") -> Any:
    """POST a new record and return its JSON."""
    r = await api.client.post(path, json=body, headers=api.auth(who))
    assert r.status_code == 201, r.text
    return r.json()


async def patch(api: Api, path: str, body: dict[str, Any], who: str = "admin") -> Any:
    """PATCH a record and return its JSON."""
    r = await api.client.patch(path, json=body, headers=api.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


async def get(api: Api, path: str, who: str = "admin") -> Any:
    """GET a resource and return its JSON."""
    r = await api.client.get(path, headers=api.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


@dataclass(frozen=True)
class Kind:
    """What the shared tests need to know about one kind of record."""

    path: str
    new: dict[str, Any]
    change: dict[str, Any]
    invalid: tuple[dict[str, Any], str]
    unknown_ref: tuple[dict[str, Any], str] | None = None
    public: bool = True
    hidden: frozenset[str] = field(default_factory=frozenset)


KINDS = [
    Kind(
        "channels",
        {"name": "SMS", "default_capacity": 4},
        {"default_capacity": 6},
        ({"name": "SMS", "default_capacity": 0}, "default_capacity"),
    ),
    Kind(
        "presence-states",
        {"name": "Training", "is_available": False},
        {"name": "In training", "is_available": True},
        ({"name": ""}, "name"),
    ),
    Kind(
        "skills",
        {"name": "German", "description": "Spoken German"},
        {"description": "German, written and spoken"},
        ({"name": "German", "description": 5}, "description"),
    ),
    Kind("groups", {"name": "Tier 3"}, {"name": "Third tier"}, ({"name": "  "}, "name")),
    Kind(
        "rules",
        {"name": "Fast", "strategy": "longest_idle", "offer_timeout_s": 15, "auto_accept": True},
        {"offer_timeout_s": None, "presence_after_timeout": "away"},
        ({"name": "Fast", "strategy": "random"}, "strategy"),
        ({"name": "Fast", "primary_group_id": "tier9"}, "primary_group_id"),
    ),
    Kind(
        "queues",
        {
            "name": "Billing",
            "channels": ["chat", "voice"],
            "rule_id": "standard",
            "priority": 5,
            "skills": [{"skill_id": "billing", "min_level": 3}],
        },
        {"priority": 7, "rule_id": "strict", "max_wait_s": 600},
        ({"name": "Billing", "channels": [], "rule_id": "standard"}, "channels"),
        ({"name": "Billing", "channels": ["chat"], "rule_id": "nope"}, "rule_id"),
    ),
    Kind(
        "reject-reasons",
        {"name": "On a call", "channel_id": "voice", "reassignable": True},
        {"channel_id": None, "reassignable": False},
        ({"name": "On a call", "reassignable": "perhaps"}, "reassignable"),
        ({"name": "On a call", "channel_id": "fax"}, "channel_id"),
    ),
    Kind(
        "wrap-up-codes",
        {"name": "Escalated", "description": "Sent to tier 2", "time_limit_s": 120},
        {"time_limit_s": None},
        ({"name": "Escalated", "time_limit_s": 0}, "time_limit_s"),
    ),
    Kind(
        "agents",
        {
            "name": "Dave",
            "email": "dave@example.test",
            "skills": {"english": 4, "billing": 2},
            "groups": ["tier1"],
            "password": "correct horse battery",
        },
        {"name": "David", "skills": {"french": 5}, "groups": []},
        ({"name": "Dave", "email": "not-an-email"}, "email"),
        ({"name": "Dave", "email": "dave@example.test", "groups": ["tier9"]}, "groups.0"),
        public=False,
        hidden=frozenset({"password"}),
    ),
]
IDS = [k.path for k in KINDS]


def expected(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a body that a response echoes."""
    return {k: v for k, v in body.items() if k not in kind.hidden}


def assert_has(record: dict[str, Any], fields: dict[str, Any]) -> None:
    """Assert that a record holds these values."""
    for key, value in fields.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            assert record[key] == [{"mandatory": True, "widen_after_s": None} | v for v in value]
        else:
            assert record[key] == value, key


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_create_get_list_patch_delete(api: Api, kind: Kind) -> None:
    path = f"/{kind.path}"
    created = await post(api, path, {"id": "x-new"} | kind.new)
    assert created["id"] == "x-new"
    assert_has(created, expected(kind, kind.new))
    assert not kind.hidden & set(created)
    assert await get(api, f"{path}/x-new") == created
    listed = await get(api, path)
    assert created in listed
    assert [r["id"] for r in listed] == sorted(r["id"] for r in listed)
    changed = await patch(api, f"{path}/x-new", kind.change)
    assert_has(changed, kind.change)
    untouched = {k: v for k, v in expected(kind, kind.new).items() if k not in kind.change}
    assert_has(changed, untouched)
    assert await get(api, f"{path}/x-new") == changed
    assert await patch(api, f"{path}/x-new", {}) == changed
    r = await api.client.delete(f"{path}/x-new", headers=api.auth("admin"))
    assert r.status_code == 204, r.text
    assert r.content == b""
    r = await api.client.get(f"{path}/x-new", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND", "id")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_id_is_made_from_the_name(api: Api, kind: Kind) -> None:
    first = await post(api, f"/{kind.path}", kind.new)
    body = kind.new | ({"email": "other@example.test"} if "email" in kind.new else {})
    second = await post(api, f"/{kind.path}", body)
    slug = kind.new["name"].lower().replace(" ", "-")
    assert first["id"].startswith(f"{slug}-")
    assert second["id"].startswith(f"{slug}-")
    assert first["id"] != second["id"]
    assert len(first["id"]) == len(slug) + 7


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_duplicate_id_is_a_conflict(api: Api, kind: Kind) -> None:
    await post(api, f"/{kind.path}", {"id": "x-dup"} | kind.new)
    body = {"id": "x-dup"} | kind.new | {"name": "Another"}
    r = await api.client.post(f"/{kind.path}", json=body, headers=api.auth("admin"))
    error(r, 409, "CONFLICT", "id")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_unknown_id_is_not_found(api: Api, kind: Kind) -> None:
    admin = api.auth("admin")
    one = f"/{kind.path}/nope"
    error(await api.client.get(one, headers=admin), 404, "NOT_FOUND", "id")
    error(await api.client.patch(one, json={"name": "x"}, headers=admin), 404, "NOT_FOUND", "id")
    error(await api.client.delete(one, headers=admin), 404, "NOT_FOUND", "id")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_invalid_bodies(api: Api, kind: Kind) -> None:
    admin, path = api.auth("admin"), f"/{kind.path}"
    body, field = kind.invalid
    error(await api.client.post(path, json=body, headers=admin), 422, "VALIDATION_ERROR", field)
    for bad_id in ("Upper", "-dash-first", "with space", "x" * 65, ""):
        r = await api.client.post(path, json={"id": bad_id} | kind.new, headers=admin)
        error(r, 422, "VALIDATION_ERROR", "id")
    r = await api.client.post(path, json=kind.new | {"colour": "red"}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "colour")
    await post(api, path, {"id": "x-v"} | kind.new)
    for change, bad in (
        ({"colour": "red"}, "colour"),
        ({"id": "x-w"}, "id"),
    ):
        r = await api.client.patch(f"{path}/x-v", json=change, headers=admin)
        error(r, 422, "VALIDATION_ERROR", bad)
    # name may not be null: null in a change leaves it as it is.
    r = await api.client.patch(f"{path}/x-v", json={"name": None}, headers=admin)
    assert r.status_code == 200, r.text
    patch_body = {k: v for k, v in body.items() if k == field}
    r = await api.client.patch(f"{path}/x-v", json=patch_body, headers=admin)
    error(r, 422, "VALIDATION_ERROR", field)
    assert_has(await get(api, f"{path}/x-v"), expected(kind, kind.new))


@pytest.mark.parametrize("kind", [k for k in KINDS if k.unknown_ref], ids=lambda k: k.path)
async def test_unknown_reference_is_not_found(api: Api, kind: Kind) -> None:
    assert kind.unknown_ref is not None
    body, field = kind.unknown_ref
    admin, path = api.auth("admin"), f"/{kind.path}"
    error(await api.client.post(path, json=body, headers=admin), 404, "NOT_FOUND", field)
    await post(api, path, {"id": "x-ref"} | kind.new)
    change = {k: v for k, v in body.items() if field.split(".")[0] == k}
    r = await api.client.patch(f"{path}/x-ref", json=change, headers=admin)
    error(r, 404, "NOT_FOUND", field)
    assert_has(await get(api, f"{path}/x-ref"), expected(kind, kind.new))


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
async def test_authentication_and_roles(api: Api, kind: Kind) -> None:
    path = f"/{kind.path}"
    await post(api, path, {"id": "x-auth"} | kind.new)
    one = f"{path}/x-auth"
    for method, url, body in (
        ("GET", path, None),
        ("GET", one, None),
        ("POST", path, kind.new),
        ("PATCH", one, kind.change),
        ("DELETE", one, None),
    ):
        r = await api.client.request(method, url, json=body)
        error(r, 401, "UNAUTHENTICATED")
        r = await api.client.request(method, url, json=body, headers={"Authorization": "Bearer x"})
        error(r, 401, "UNAUTHENTICATED")
        for who in ("alice", "integration"):
            r = await api.client.request(method, url, json=body, headers=api.auth(who))
            if method == "GET" and kind.public:
                assert r.status_code == 200, r.text
            else:
                error(r, 403, "FORBIDDEN")
    assert await get(api, one)
