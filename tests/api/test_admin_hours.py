"""Calendars, queue hours and escalation settings through the admin API, and the audit log."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.assertions import error
from tests.api.conftest import Api, add_supervisor_token

OFFICE: dict[str, Any] = {
    "id": "office",
    "name": "Office hours",
    "tz": "Europe/Berlin",
    "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
    "exceptions": [{"date": "2026-12-24", "hours": ["09:00-12:00"]}],
}


async def post(api: Api, path: str, body: dict[str, Any], who: str = "admin") -> dict[str, Any]:
    """POST and return the created record."""
    r = await api.client.post(path, json=body, headers=api.auth(who))
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def test_calendar_round_trip(api: Api) -> None:
    created = await post(api, "/calendars", OFFICE)
    assert created["weekly"]["mon"] == ["09:00-17:00"]
    assert created["weekly"]["sat"] == []
    assert created["holidays"] == ["2026-12-25"]
    r = await api.client.patch(
        "/calendars/office", json={"tz": "America/New_York"}, headers=api.auth("admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["tz"] == "America/New_York"
    assert r.json()["exceptions"] == [{"date": "2026-12-24", "hours": ["09:00-12:00"]}]
    r = await api.client.get("/calendars/office", headers=api.auth("alice"))
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"weekly": {"mon": ["17:00-09:00"]}}, "weekly.mon.0"),
        ({"weekly": {"tue": ["09:00-10:00", "25:00-26:00"]}}, "weekly.tue.1"),
        ({"exceptions": [{"date": "2026-01-01"}, {"date": "2026-01-01"}]}, "exceptions.1.date"),
        (
            {"exceptions": [{"date": "2026-01-02", "hours": ["10:00-09:00"]}]},
            "exceptions.0.hours.0",
        ),
    ],
)
async def test_calendar_validation(api: Api, change: dict[str, Any], field: str) -> None:
    r = await api.client.post("/calendars", json=OFFICE | change, headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", field)
    r = await api.client.get("/calendars", headers=api.auth("admin"))
    assert r.json() == []


async def test_calendar_admin_only(api: Api) -> None:
    r = await api.client.post("/calendars", json=OFFICE, headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")


QUEUE: dict[str, Any] = {
    "id": "hours",
    "name": "With hours",
    "channels": ["chat"],
    "rule_id": "standard",
    "calendar_id": "office",
    "out_of_hours_action": "route_to_queue",
    "out_of_hours_queue_id": "support",
    "escalation": [
        {"after_s": 30, "action": "widen", "drop_skills": ["english"]},
        {"after_s": 60, "action": "raise_priority", "raise_by": 5},
        {"after_s": 90, "action": "move_queue", "queue_id": "vip"},
    ],
    "aging_per_min": 1.5,
    "exclusion_ttl_s": 300,
    "reject_cooldown_s": 20,
    "affinity_wait_s": 45,
}


async def test_queue_routing_settings(api: Api) -> None:
    await post(api, "/calendars", OFFICE)
    created = await post(api, "/queues", QUEUE)
    for key in ("calendar_id", "out_of_hours_action", "aging_per_min", "affinity_wait_s"):
        assert created[key] == QUEUE[key]
    assert [s["action"] for s in created["escalation"]] == ["widen", "raise_priority", "move_queue"]
    assert created["escalation"][2]["queue_id"] == "vip"
    # The calendar and the target queues are in use now.
    r = await api.client.delete("/calendars/office", headers=api.auth("admin"))
    assert error(r, 409, "IN_USE")["message"].endswith("queues 'hours'")
    r = await api.client.delete("/queues/vip", headers=api.auth("admin"))
    assert "queues 'hours'" in error(r, 409, "IN_USE")["message"]
    # The engine took the settings.
    queue = api.engine.state.config.queues["hours"]
    assert queue.calendar_id == "office"
    assert [s.after_s for s in queue.steps] == [30, 60, 90]
    assert "office" in api.engine.state.config.calendars


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"out_of_hours_queue_id": None}, 422, "out_of_hours_queue_id"),
        ({"out_of_hours_queue_id": "hours"}, 422, "out_of_hours_queue_id"),
        ({"out_of_hours_queue_id": "nope"}, 404, "out_of_hours_queue_id"),
        ({"calendar_id": "nope"}, 404, "calendar_id"),
        ({"max_wait_s": 100}, 422, "max_wait_s"),
        (
            {
                "escalation": [
                    {"after_s": 30, "action": "abandon", "reason": "no_agent"},
                    {"after_s": 60, "action": "widen"},
                ]
            },
            422,
            "escalation.0.action",
        ),
        (
            {
                "escalation": [
                    {"after_s": 60, "action": "widen"},
                    {"after_s": 60, "action": "widen"},
                ]
            },
            422,
            "escalation.1.after_s",
        ),
        ({"escalation": [{"after_s": 5, "action": "move_queue"}]}, 422, "escalation.0.queue_id"),
        ({"escalation": [{"after_s": 5, "action": "abandon"}]}, 422, "escalation.0.reason"),
        (
            {"escalation": [{"after_s": 5, "action": "widen", "drop_skills": ["klingon"]}]},
            404,
            "escalation.0.drop_skills.0",
        ),
        ({"aging_per_min": -1}, 422, "aging_per_min"),
    ],
)
async def test_queue_routing_validation(
    api: Api, change: dict[str, Any], status: int, field: str
) -> None:
    await post(api, "/calendars", OFFICE)
    code = "NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
    r = await api.client.post("/queues", json=QUEUE | change, headers=api.auth("admin"))
    error(r, status, code, field)
    r = await api.client.get("/queues/hours", headers=api.auth("admin"))
    error(r, 404, "NOT_FOUND")


async def _supervisor_token(api: Api) -> dict[str, str]:
    return await add_supervisor_token(api)


async def test_admin_changes_are_audited(api: Api) -> None:
    await post(api, "/calendars", OFFICE)
    api.clock.advance(60)
    r = await api.client.patch(
        "/agents/alice",
        json={"name": "Alice L.", "password": "secret-pass"},
        headers=api.auth("admin"),
    )
    assert r.status_code == 200, r.text
    r = await api.client.post(
        "/tokens", json={"name": "ci", "role": "integration"}, headers=api.auth("admin")
    )
    token_id = r.json()["id"]
    r = await api.client.delete(f"/tokens/{token_id}", headers=api.auth("admin"))
    assert r.status_code == 204
    sup = await _supervisor_token(api)
    r = await api.client.get("/audit", headers=sup)
    assert r.status_code == 200, r.text
    entries = r.json()
    assert [e["action"] for e in entries] == [
        "token.revoke",
        "token.create",
        "agent.update",
        "calendar.create",
    ]
    assert all(e["actor"] == "tok-admin" and e["role"] == "admin" for e in entries)
    update = entries[2]
    assert update["target_id"] == "alice"
    assert update["details"] == {"name": "Alice L.", "password": "***"}
    assert update["at"].startswith("2026-01-01T00:01:00")
    # Filters: by action, by target, by time, paging.
    r = await api.client.get("/audit", params={"action": "calendar.create"}, headers=sup)
    assert [e["target_id"] for e in r.json()] == ["office"]
    r = await api.client.get("/audit", params={"target_type": "token"}, headers=sup)
    assert len(r.json()) == 2
    since = "2026-01-01T00:00:30+00:00"
    r = await api.client.get("/audit", params={"since": since}, headers=sup)
    assert len(r.json()) == 3
    r = await api.client.get("/audit", params={"before_id": entries[1]["id"]}, headers=sup)
    assert [e["action"] for e in r.json()] == ["agent.update", "calendar.create"]
    r = await api.client.get("/audit", params={"limit": 0}, headers=sup)
    error(r, 422, "VALIDATION_ERROR", "limit")
    r = await api.client.get("/audit", params={"since": "2026-01-01T00:00:00"}, headers=sup)
    error(r, 422, "VALIDATION_ERROR", "since")
    r = await api.client.get("/audit", headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")


async def test_audit_retention(api: Api) -> None:
    await post(api, "/calendars", OFFICE)
    api.clock.advance(366 * 86_400)
    await post(api, "/calendars", OFFICE | {"id": "later"})
    r = await api.client.get("/audit", headers=api.auth("admin"))
    assert [e["target_id"] for e in r.json()] == ["later"]
