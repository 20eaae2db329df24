"""The OpenAPI document tells the truth about errors, methods, nulls and JSON types."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.assertions import error
from tests.api.conftest import Api


async def openapi(api: Api) -> dict[str, Any]:
    r = await api.client.get("http://test/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


async def test_every_operation_lists_its_error_answers(api: Api) -> None:
    doc = await openapi(api)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            for status, answer in answers.items():
                if int(status) >= 400:
                    assert answer["content"]["application/json"]["schema"] == error_ref
            assert "500" in answers, (method, path)
            if "{" in path:
                assert {"404", "422"} <= set(answers), (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert "409" in answers, (method, path)
    interaction = doc["paths"]["/api/v1/interactions/{interaction_id}"]["get"]["responses"]
    assert {"401", "403", "404", "422", "429"} <= set(interaction)
    assert {"401", "429"} <= set(doc["paths"]["/api/v1/session"]["post"]["responses"])
    for path in (
        "/api/v1/chat/sessions",
        "/api/v1/chat/offline-messages",
        "/api/v1/chat/sessions/{session_id}/attachments",
        "/api/v1/spokes/{name}/events",
    ):
        assert "429" in doc["paths"][path]["post"]["responses"], path
    assert "429" in doc["paths"]["/api/v1/chat/widgets/{widget_id}"]["get"]["responses"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/interactions", "GET, POST"),
        ("PUT", "/interactions/x", "GET"),
        ("GET", "/outbox/retry-dead", "POST"),
        ("DELETE", "/work-offers", "POST"),
    ],
)
async def test_405_names_every_allowed_method(api: Api, method: str, path: str, allow: str) -> None:
    r = await api.client.request(method, path, headers=api.auth("admin"))
    error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == allow


async def test_patch_with_null_keeps_or_clears_by_the_field(api: Api) -> None:
    admin = api.auth("admin")
    r = await api.client.post(
        "/wrap-up-codes", json={"name": "Later", "time_limit_s": 60}, headers=admin
    )
    assert r.status_code == 201, r.text
    code = r.json()["id"]
    # name may not be null: null leaves it; time_limit_s may: null clears it.
    r = await api.client.patch(
        f"/wrap-up-codes/{code}",
        json={"name": None, "description": None, "time_limit_s": None},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["description"], r.json()["time_limit_s"]) == (
        "Later",
        "",
        None,
    )
    r = await api.client.patch("/agents/alice", json={"allow_external": None}, headers=admin)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/agents/alice/capacity", {"capacity_cap": False}, "capacity_cap"),
        ("/agents/alice/capacity", {"channels": {"chat": True}}, "channels.chat"),
        ("/agents/alice/capacity", {"capacity_cap": "3"}, "capacity_cap"),
        ("/supervisor/queues/support/service-level", {"threshold_s": True}, "threshold_s"),
    ],
)
async def test_json_types_are_not_coerced(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    r = await api.client.put(path, json=body, headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", field)


async def test_a_boolean_field_refuses_numbers(api: Api) -> None:
    r = await api.client.patch(
        "/presence-states/away", json={"is_available": 0}, headers=api.auth("admin")
    )
    error(r, 422, "VALIDATION_ERROR", "is_available")
