"""Authentication on every endpoint, the error body's shape, and health and readiness."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Api

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/agents/alice/presence", None),
    ("PUT", "/agents/alice/presence", {"presence_id": "available"}),
    ("GET", "/agents/alice/capacity", None),
    ("PUT", "/agents/alice/capacity", {"capacity_cap": 1}),
    ("GET", "/agents/alice/offers", None),
    ("GET", "/offers/x", None),
    ("POST", "/offers/x/accept", None),
    ("POST", "/offers/x/reject", {}),
    ("GET", "/channels/chat/reject-reasons", None),
    ("POST", "/interactions", {"channel_id": "chat", "queue_id": "support"}),
    ("GET", "/interactions", None),
    ("GET", "/interactions/x", None),
    ("POST", "/interactions/x/end", {}),
    ("POST", "/interactions/x/wrap-up", {"wrap_up_code_id": "resolved"}),
    ("POST", "/cases", {}),
    ("GET", "/cases", None),
    ("GET", "/cases/x", None),
    ("POST", "/cases/x/close", {}),
    ("POST", "/work-items", {"document_id": "x", "queue_id": "support"}),
    ("GET", "/work-items", None),
    ("GET", "/work-items/x", None),
]
BAD_HEADERS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dG9rZW4tYWRtaW4="},
    {"Authorization": "token-admin"},
]


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the stable error shape and return the error object."""
    assert r.status_code == status, (r.request.method, r.request.url.path, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"]
    err: dict[str, Any] = body["error"]
    assert sorted(err) == ["code", "field", "message"]
    assert err["code"] == code
    assert isinstance(err["message"], str)
    assert err["message"]
    return err


async def state(api: Api) -> dict[str, Any]:
    """Everything the failed requests could have touched."""
    admin = api.auth("admin")
    paths = (
        "/interactions",
        "/cases",
        "/work-items",
        "/agents/alice/presence",
        "/agents/alice/capacity",
    )
    return {p: (await api.client.get(p, headers=admin)).json() for p in paths}


@pytest.mark.parametrize(
    "headers", BAD_HEADERS, ids=["missing", "unknown", "empty", "basic", "no-scheme"]
)
async def test_every_endpoint_needs_a_valid_token(api: Api, headers: dict[str, str]) -> None:
    before = await state(api)
    for method, path, body in ENDPOINTS:
        r = await api.client.request(method, path, json=body, headers=headers)
        err = assert_error(r, 401, "UNAUTHENTICATED")
        assert err["field"] is None, (method, path)
    assert await state(api) == before


async def test_unknown_route(api: Api) -> None:
    r = await api.client.get("/nowhere", headers=api.auth("admin"))
    assert_error(r, 404, "NOT_FOUND")


async def test_method_not_allowed(api: Api) -> None:
    r = await api.client.delete("/interactions", headers=api.auth("admin"))
    assert_error(r, 405, "METHOD_NOT_ALLOWED")


async def test_malformed_json(api: Api) -> None:
    r = await api.client.post(
        "/interactions",
        content=b"{not json",
        headers=api.auth("integration") | {"Content-Type": "application/json"},
    )
    assert_error(r, 422, "VALIDATION_ERROR")
    assert (await api.client.get("/interactions", headers=api.auth("admin"))).json() == []


async def test_validation_error_names_nested_field(api: Api) -> None:
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": "support", "skills": [{"min_level": 2}]},
        headers=api.auth("integration"),
    )
    err = assert_error(r, 422, "VALIDATION_ERROR")
    assert err["field"] == "skills.0.skill_id"
    assert err["message"].startswith("skills.0.skill_id: ")


async def test_healthz(api: Api) -> None:
    r = await api.client.get("http://test/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz(api: Api) -> None:
    r = await api.client.get("http://test/readyz")
    assert r.status_code == 200, r.text
    body = {"status": "ready", "checks": {"store": "ok", _engine_check(api): "ok"}}
    assert r.json() == body | _engine_role(api, "leading")


def _engine_check(api: Api) -> str:
    """A single node reports its engine; a cluster node (on PostgreSQL) its leader."""
    return "engine" if api.app.state.cluster is None else "leader"


def _engine_role(api: Api, role: str) -> dict[str, str]:
    """What a cluster node's engine does (a single node says nothing of it)."""
    return {} if api.app.state.cluster is None else {"engine": role}


async def test_readyz_when_engine_stopped(api: Api) -> None:
    await api.engine.stop()
    r = await api.client.get("http://test/readyz")
    assert r.status_code == 503
    stopped = "stopped" if api.app.state.cluster is None else "no leader reachable"
    checks = {"store": "ok", _engine_check(api): stopped}
    # Stopped by hand, the engine stands by again: its copy of the state is loaded afresh.
    assert r.json() in (
        {"status": "not_ready", "checks": checks} | _engine_role(api, role)
        for role in ("loading", "warm")
    )
    assert (await api.client.get("http://test/healthz")).status_code == 200
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "available"}, headers=api.auth("alice")
    )
    assert_error(r, 503, "STORE_UNAVAILABLE")


async def test_openapi_document(api: Api) -> None:
    r = await api.client.get("http://test/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for _, path, _ in ENDPOINTS:
        template = path.replace("/x", "/{id}")
        assert any(_same_route(p, template) for p in paths), path


def _same_route(documented: str, wanted: str) -> bool:
    doc = documented.removeprefix("/api/v1").split("/")
    want = wanted.split("/")
    return len(doc) == len(want) and all(
        d == w or (d.startswith("{") and (w.startswith("{") or w in ("alice", "chat")))
        for d, w in zip(doc, want, strict=True)
    )
