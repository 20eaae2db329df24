"""Out-of-range numbers, dates and NUL characters get a 422 (or 404) naming the field."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omniroute.api.guard import REQUEST_ID_HEADER
from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_errors_api import state

HUGE = 10**30
BEYOND_INT64 = 2**63


async def work_offer(api: Api, raw: str) -> httpx.Response:
    """POST a Work Offer API body given as raw JSON text (NaN and Infinity are not JSON)."""
    r = await api.client.post(
        "/interactions",
        json={"channel_id": "chat"},
        headers=api.auth("integration"),
    )
    assert r.status_code == 201, r.text
    body = raw.replace('"DOC"', f'"{r.json()["id"]}", "queue_id": "support"')
    headers = api.auth("integration") | {"content-type": "application/json"}
    return await api.client.post("/work-offers", content=body, headers=headers)


@pytest.mark.parametrize(
    "offered_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1900-01-01T00:00Z"]
)
async def test_offered_at_out_of_range_is_invalid(api: Api, offered_at: str) -> None:
    raw = f'{{"document_id": "DOC", "agent_id": "alice", "offered_at": "{offered_at}"}}'
    error(await work_offer(api, raw), 422, "INVALID_OFFERED_AT", "offered_at")


@pytest.mark.parametrize("timeout", ["NaN", "Infinity", "-Infinity", "1e308", "1e12", "0"])
async def test_timeout_must_be_finite_and_bounded(api: Api, timeout: str) -> None:
    before = await state(api)
    raw = f'{{"document_id": "DOC", "agent_id": "alice", "timeout": {timeout}}}'
    error(await work_offer(api, raw), 422, "INVALID_TIMEOUT", "timeout")
    after = await state(api)
    # Only the interaction made for the offer is new; no offer, no work item.
    assert after["/work-items"] == before["/work-items"]


async def test_engine_keeps_working_after_refused_timeouts(api: Api) -> None:
    for timeout in ("NaN", "1e308"):
        raw = f'{{"document_id": "DOC", "agent_id": "alice", "timeout": {timeout}}}'
        error(await work_offer(api, raw), 422, "INVALID_TIMEOUT")
    r = await api.client.put(
        "/agents/alice/presence", json={"presence_id": "available"}, headers=api.auth("alice")
    )
    assert r.status_code == 200, r.text
    r = await work_offer(api, '{"document_id": "DOC", "agent_id": "alice", "timeout": 30}')
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity_cap": HUGE}, "capacity_cap"),
        ({"capacity_cap": 10_001}, "capacity_cap"),
        ({"channels": {"chat": HUGE}}, "channels.chat"),
        ({"channels": {"chat": 10_001}}, "channels.chat"),
    ],
)
async def test_capacity_is_bounded(api: Api, body: dict[str, Any], field: str) -> None:
    before = await state(api)
    r = await api.client.put("/agents/alice/capacity", json=body, headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", field)
    assert await state(api) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/interactions", {"channel_id": "chat", "priority": HUGE}, "priority"),
        (
            "/queues",
            {"name": "q", "rule_id": "default", "channels": ["chat"], "max_wait_s": HUGE},
            "max_wait_s",
        ),
        ("/rules", {"name": "r", "offer_timeout_s": HUGE}, "offer_timeout_s"),
        ("/channels", {"name": "c", "default_capacity": HUGE}, "default_capacity"),
        (
            "/agents",
            {"name": "n", "email": "n@x.test", "skills": {"english": HUGE}},
            "skills.english",
        ),
    ],
)
async def test_every_integer_is_bounded(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    r = await api.client.post(path, json=body, headers=api.auth("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


LISTS = [
    "/interactions",
    "/cases",
    "/work-items",
    "/skills",
    "/channels",
    "/queues",
    "/rules",
    "/agents",
    "/groups",
    "/presence-states",
    "/reject-reasons",
    "/wrap-up-codes",
    "/tokens",
]


@pytest.mark.parametrize("path", LISTS)
async def test_offset_beyond_int64_is_refused(api: Api, path: str) -> None:
    admin = api.auth("admin")
    r = await api.client.get(path, params={"offset": BEYOND_INT64}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "offset")
    r = await api.client.get(path, params={"offset": BEYOND_INT64 - 1}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == []


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_outbox_seq_out_of_range_is_not_found(api: Api, method: str) -> None:
    suffix = "" if method == "GET" else "/retry"
    for seq in (HUGE, BEYOND_INT64, -1):
        r = await api.client.request(method, f"/outbox/{seq}{suffix}", headers=api.auth("admin"))
        error(r, 404, "NOT_FOUND", "seq")


NUL = "a\x00b"


@pytest.mark.parametrize(
    ("who", "path", "body", "field"),
    [
        ("integration", "/interactions", {"channel_id": "chat", "subject": NUL}, "subject"),
        (
            "integration",
            "/interactions",
            {"channel_id": "chat", "customer_name": NUL},
            "customer_name",
        ),
        ("integration", "/cases", {"subject": "s", "description": NUL}, "description"),
        ("admin", "/skills", {"name": NUL}, "name"),
        ("admin", "/agents", {"name": "n", "email": "n@x.test", "skills": {NUL: 1}}, "skills"),
        (
            "admin",
            "/spokes",
            {"name": "s1", "kind": "webhook", "settings": {"url": NUL}},
            "settings.url",
        ),
    ],
)
async def test_nul_characters_are_refused(
    api: Api, who: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = await state(api)
    r = await api.client.post(path, json=body, headers=api.auth(who))
    err = error(r, 422, "VALIDATION_ERROR", field)
    assert "NUL" in err["message"]
    assert await state(api) == before


async def test_nul_in_path_and_query_is_refused(api: Api) -> None:
    admin = api.auth("admin")
    r = await api.client.get("/interactions/a%00b", headers=admin)
    error(r, 422, "VALIDATION_ERROR", "path")
    r = await api.client.get("/interactions", params={"state": NUL}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "state")
    r = await api.client.get("/work-items", params={"queue_id": NUL}, headers=admin)
    error(r, 422, "VALIDATION_ERROR", "queue_id")


async def test_nul_in_a_chat_message_is_refused(api: Api) -> None:
    r = await api.client.post(
        "/interactions/x/messages", json={"body": NUL}, headers=api.auth("alice")
    )
    error(r, 422, "VALIDATION_ERROR", "body")


async def test_deeply_nested_json_body_is_a_4xx(api: Api) -> None:
    depth = 200_000
    body = '{"channel_id": ' + "[" * depth + "]" * depth + "}"
    headers = api.auth("integration") | {"content-type": "application/json"}
    r = await api.client.post("/interactions", content=body, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def crashing_app(api: Api) -> FastAPI:
    """The test's app with one more route that fails as a bug would."""

    async def boom() -> None:
        msg = "a bug"
        raise RuntimeError(msg)

    api.app.add_api_route("/api/v1/boom", boom)
    return api.app


async def test_unhandled_error_answers_json_with_a_request_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    crashing_app(api)
    # The transport re-raises what the app lets escape: a server would drop the connection.
    with caplog.at_level(logging.ERROR, logger="omniroute.api"):
        r = await api.client.get("/boom", headers=api.auth("admin"))
        again = await api.client.get("/boom", headers=api.auth("admin"))
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert err["code"] == "INTERNAL_ERROR"
    assert err["field"] is None
    rid = err["request_id"]
    assert rid in err["message"]
    assert r.headers[REQUEST_ID_HEADER] == rid
    assert again.json()["error"]["request_id"] != rid
    logged = [rec for rec in caplog.records if rid in rec.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "a bug" in str(logged[0].exc_info[1])


async def test_every_answer_carries_a_request_id(api: Api) -> None:
    r = await api.client.get("/interactions", headers=api.auth("admin"))
    assert len(r.headers[REQUEST_ID_HEADER]) >= 16
    r = await api.client.get("/nowhere", headers={REQUEST_ID_HEADER: "trace-1"})
    assert r.headers[REQUEST_ID_HEADER] == "trace-1"
    r = await api.client.get("/nowhere", headers={REQUEST_ID_HEADER: "bad id\r"[:6]})
    assert r.headers[REQUEST_ID_HEADER] != "bad id"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/search", {"created_to": "0.5"}, "created_to"),
        ("/search", {"created_from": "0001-01-01T00:00:00+14:00"}, "created_from"),
        ("/search", {"q": "x", "limit": HUGE}, "limit"),
        ("/audit", {"since": "9999-12-31T23:59:59-14:00"}, "since"),
        ("/audit", {"before_id": HUGE}, "before_id"),
        (
            "/reports/queues",
            {"since": "0001-01-01T00:00:00+14:00", "until": "2026-01-01T00:00:00Z"},
            "since",
        ),
        (
            "/reports/agents",
            {"since": "2026-01-01T00:00:00Z", "until": "9999-12-31T23:59:59-14:00"},
            "until",
        ),
    ],
)
async def test_query_dates_and_ids_are_bounded(
    api: Api, path: str, params: dict[str, Any], field: str
) -> None:
    r = await api.client.get(path, params=params, headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", field)
