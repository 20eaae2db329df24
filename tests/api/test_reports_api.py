"""Interval reports per queue and per agent, computed from stored rows, on a manual clock."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_agents_api import interaction, offers, presence
from tests.api.test_escalation_api import later, reject

HOUR = {"since": "2026-01-01T00:00:00+00:00", "until": "2026-01-01T01:00:00+00:00"}


async def day_of_work(api: Api) -> None:
    """One chat answered in 10 s and handled for 300 s; one rejected, then abandoned."""
    await presence(api, "alice")
    first = await interaction(api)
    await later(api, 10)
    [pending] = await offers(api, "alice")
    r = await api.client.post(f"/offers/{pending['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    await later(api, 300)
    r = await api.client.post(
        f"/interactions/{first['id']}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    second = await interaction(api)
    await later(api, 10)
    await reject(api, "alice", "wrong")
    await later(api, 700)
    r = await api.client.post(
        f"/interactions/{second['id']}/end", json={}, headers=api.auth("integration")
    )
    assert r.status_code == 200, r.text
    await later(api, 3600)


async def get(api: Api, path: str, **params: Any) -> Any:
    """A report as the administrator."""
    r = await api.client.get(path, params=params, headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_queue_and_agent_figures(api: Api) -> None:
    await day_of_work(api)
    [support] = await get(api, "/reports/queues", **HOUR, queue_id="support")
    assert support["start"] == "2026-01-01T00:00:00Z"
    figures = {k: support[k] for k in ("offered", "accepted", "rejected", "timed_out")}
    assert figures == {"offered": 2, "accepted": 1, "rejected": 1, "timed_out": 0}
    assert (support["answered"], support["abandoned"], support["handled"]) == (1, 1, 1)
    assert support["service_level"] == 0.5
    assert (support["asa_s"], support["aht_s"]) == (10.0, 300.0)
    assert support["longest_wait_s"] == 710.0
    agents = await get(api, "/reports/agents", **HOUR)
    [alice] = [a for a in agents if a["key"] == "alice"]
    assert (alice["offered"], alice["accepted"], alice["rejected"], alice["handled"]) == (
        2,
        1,
        1,
        1,
    )
    assert alice["presence_s"] == {"available": 3600.0}
    assert alice["occupancy"] == pytest.approx(300 / 3600)
    [bob] = [a for a in agents if a["key"] == "bob"]
    assert bob["presence_s"] == {"offline": 3600.0}
    assert bob["occupancy"] is None


async def test_buckets_and_csv(api: Api) -> None:
    await day_of_work(api)
    rows = await get(api, "/reports/queues", **HOUR, bucket="15m", queue_id="support")
    assert [r["start"][11:16] for r in rows] == ["00:00", "00:15"]
    assert [r["offered"] for r in rows] == [2, 0]
    assert [r["abandoned"] for r in rows] == [0, 1]
    r = await api.client.get(
        "/reports/agents",
        params=HOUR | {"format": "csv", "agent_id": "alice"},
        headers=api.auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert (row["agent_id"], row["offered"], row["presence_available_s"]) == (
        "alice",
        "2",
        "3600.0",
    )
    # A day bucket and the whole range agree with the 15-minute rows.
    [day] = await get(
        api,
        "/reports/queues",
        since="2026-01-01T00:00:00+00:00",
        until="2026-01-03T00:00:00+00:00",
        bucket="day",
        queue_id="support",
    )
    assert (day["offered"], day["abandoned"], day["handled"]) == (2, 1, 1)


async def test_figures_survive_a_day_boundary_in_daily_rows(api: Api) -> None:
    await day_of_work(api)
    await later(api, 2 * 86_400)
    [total] = await get(
        api,
        "/reports/queues",
        since="2025-12-31T12:00:00+00:00",
        until="2026-01-03T00:00:00+00:00",
        queue_id="support",
    )
    assert (total["offered"], total["answered"], total["asa_s"]) == (2, 1, 10.0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": HOUR["until"], "until": HOUR["since"]}, "until"),
        ({"since": "2025-01-01T00:00:00+00:00", "until": HOUR["until"]}, "since"),
        ({"since": "2025-11-01T00:00:00+00:00", "until": HOUR["until"], "bucket": "15m"}, "bucket"),
        ({"since": "2026-01-01T00:00:00", "until": HOUR["until"]}, "since"),
        ({**HOUR, "bucket": "week"}, "bucket"),
        ({**HOUR, "format": "xml"}, "format"),
    ],
)
async def test_report_validation(api: Api, params: dict[str, str], field: str) -> None:
    r = await api.client.get("/reports/queues", params=params, headers=api.auth("admin"))
    error(r, 422, "VALIDATION_ERROR", field)


async def test_reports_are_for_supervisors(api: Api) -> None:
    r = await api.client.get("/reports/agents", params=HOUR, headers=api.auth("alice"))
    error(r, 403, "FORBIDDEN")
