"""The day/week chart in Chromium: its figures agree with the report API for seeded history."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.browser.conftest import Site
from tests.browser.test_supervisor_page import Driver, shot, supervisor_page

# Kolkata is UTC+05:30: local hours are not report (UTC) hours, and its day starts at 18:30 UTC.
ZONE = ZoneInfo("Asia/Kolkata")
# (queue, created, seconds to the accept or None, seconds to the end, offer state)
HISTORY = [
    ("support", time(9, 5), 10, 300, "accepted"),
    ("support", time(9, 7), 40, 700, "accepted"),
    ("support", time(9, 20), None, 300, "rejected"),
    ("vip", time(14, 0), 5, 1800, "accepted"),
]


def rows_of(day: date) -> list[tuple[Any, Any, Any]]:
    """One closed interaction, its work item and its offer per entry of HISTORY, on a day."""
    out = []
    for n, (queue, at, accept_s, end_s, offer_state) in enumerate(HISTORY):
        created = datetime.combine(day, at, ZONE).astimezone(UTC)
        accepted = None if accept_s is None else created + timedelta(seconds=accept_s)
        ended = created + timedelta(seconds=end_s)
        doc, item = f"hist-i{n}", f"hist-w{n}"
        out.append(
            (
                t.InteractionRow(
                    id=doc,
                    channel_id="chat",
                    state="closed_complete" if accepted else "closed_abandoned",
                    agent_id="alice" if accepted else None,
                    work_item_id=item,
                    created_at=created,
                    updated_at=ended,
                    ended_at=ended,
                    closed_at=ended,
                ),
                t.WorkItemRow(
                    id=item,
                    document_type="interaction",
                    document_id=doc,
                    queue_id=queue,
                    channel_id="chat",
                    state="closed" if accepted else "cancelled",
                    cancel_reason=None if accepted else "document_closed",
                    priority=10,
                    offer_count=1,
                    skills=[],
                    excluded_agents=[],
                    agent_id="alice" if accepted else None,
                    created_at=created,
                    updated_at=ended,
                    accepted_at=accepted,
                    ended_at=ended,
                ),
                t.OfferRow(
                    id=f"hist-o{n}",
                    work_item_id=item,
                    agent_id="alice",
                    state=offer_state,
                    created_at=created,
                    allowed_to_decline=True,
                    auto_accept=False,
                    ended_at=accepted or created + timedelta(seconds=30),
                ),
            )
        )
    return out


async def seed_history(url: str, day: date) -> None:
    """Write the history straight into the store, as if the server had routed it that day."""
    db = Database(url)
    try:
        for interaction, item, offer in rows_of(day):
            async with db.session() as s, s.begin():
                s.add(interaction)
                await s.flush()
                s.add(item)
                await s.flush()
                s.add(offer)
    finally:
        await db.dispose()


def table_rows(page: Page) -> list[list[str]]:
    """The chart's data table: start of each row, then its cells."""
    rows = page.locator("#history-data tbody tr")
    return [
        [
            rows.nth(i).get_attribute("data-start") or "",
            *rows.nth(i).locator("td").all_inner_texts(),
        ]
        for i in range(rows.count())
    ]


def api_buckets(driver: Driver, since: datetime, until: datetime, **params: Any) -> dict[str, Any]:
    """The report API's 15-minute rows of every queue, added up per start."""
    query = {"since": since.isoformat(), "until": until.isoformat(), "bucket": "15m"} | params
    r = driver.site.api.get("/reports/queues", params=query, headers=driver.site.auth("admin"))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = {}
    for row in r.json():
        b = out.setdefault(row["start"], dict.fromkeys(("offered", "accepted", "abandoned"), 0))
        b |= {"within": b.get("within", 0) + row["answered_within"]}
        b |= {"resolved": b.get("resolved", 0) + row["answered"] + row["abandoned"]}
        for key in ("offered", "accepted", "abandoned"):
            b[key] += row[key]
    return out


def as_rows(buckets: dict[str, Any], zone: ZoneInfo, size: timedelta) -> list[list[str]]:
    """API buckets added up into local buckets of a size, as the page's table writes them."""
    local: dict[datetime, dict[str, int]] = {}
    for start, b in buckets.items():
        at = datetime.fromisoformat(start).astimezone(zone)
        key = at.replace(minute=0) if size == timedelta(hours=1) else at
        if size == timedelta(days=1):
            key = at.replace(hour=0, minute=0)
        acc = local.setdefault(key, dict.fromkeys(b, 0))
        for k, v in b.items():
            acc[k] += v
    out = []
    for at, b in sorted(local.items()):
        if not (b["offered"] or b["accepted"] or b["abandoned"] or b["resolved"]):
            continue
        sl = "—" if b["resolved"] == 0 else f"{round(100 * b['within'] / b['resolved'])}%"
        iso = at.astimezone(UTC).isoformat().replace("+00:00", ".000Z")
        out.append([iso, str(b["offered"]), str(b["accepted"]), str(b["abandoned"]), sl])
    return out


@pytest.mark.timeout(120)
def test_day_and_week_chart_agree_with_the_report_api(
    site: Site, chromium: Browser, tmp_path: Path
) -> None:
    driver = Driver(site)
    yesterday = datetime.now(ZONE).date() - timedelta(days=1)
    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed_history(url, yesterday)).result()
    since = datetime.combine(yesterday, time(0), ZONE)
    until = datetime.combine(yesterday + timedelta(days=1), time(0), ZONE)
    buckets = api_buckets(driver, since, until)
    quarter = as_rows(buckets, ZONE, timedelta(minutes=15))
    # The report API itself says what the seeded day was (and the page must say the same).
    assert [r[1:] for r in quarter] == [
        ["2", "2", "0", "50%"],
        ["1", "0", "1", "0%"],
        ["1", "1", "0", "100%"],
    ]

    zone = {"locale": "en-GB", "timezone_id": "Asia/Kolkata"}
    with supervisor_page(chromium, site, **zone, viewport={"width": 1360, "height": 1400}) as page:
        page.get_by_label("Ending", exact=True).fill(yesterday.isoformat())
        page.locator("#history").get_by_text("Show the data as a table").click()
        expect(page.locator("#history-data tbody tr")).to_have_count(3)
        assert table_rows(page) == quarter
        # Local labels: 09:00 in Kolkata is 03:30 UTC.
        expect(page.locator("#history-data tbody th").first).to_have_text("09:00")
        bars = page.locator("#chart-history g[data-start]")
        expect(bars).to_have_count(3)
        expect(bars.first.locator("title")).to_have_text(
            "09:00: offered 2, accepted 2, abandoned 0"
        )
        expect(page.locator("#chart-history-sl circle.dot")).to_have_count(3)
        expect(page.locator("#chart-history-desc")).to_have_text(
            "Grouped bars per 15 minutes: 4 offered, 3 accepted, 1 abandoned."
        )
        shot(page, "history-day")

        page.get_by_label("Queue", exact=True).select_option("vip")
        expect(page.locator("#history-data tbody tr")).to_have_count(1)
        vip = as_rows(
            api_buckets(driver, since, until, queue_id="vip"), ZONE, timedelta(minutes=15)
        )
        assert table_rows(page) == vip == [quarter[2]]

        page.get_by_label("Queue", exact=True).select_option("")
        page.get_by_label("Show", exact=True).select_option("week")
        expect(page.get_by_label("Per", exact=True)).to_be_enabled()
        week_since = since - timedelta(days=6)
        week = api_buckets(driver, week_since, until)
        expect(page.locator("#history-data tbody tr")).to_have_count(2)
        hourly = as_rows(week, ZONE, timedelta(hours=1))
        assert [r[1:] for r in hourly] == [["3", "2", "1", "33%"], ["1", "1", "0", "100%"]]
        assert table_rows(page) == hourly
        page.get_by_label("Per", exact=True).select_option("day")
        expect(page.locator("#history-data tbody tr")).to_have_count(1)
        daily = as_rows(week, ZONE, timedelta(days=1))
        assert [r[1:] for r in daily] == [["4", "3", "1", "50%"]]
        assert table_rows(page) == daily
        shot(page, "history-week")
