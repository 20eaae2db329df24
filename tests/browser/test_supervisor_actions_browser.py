"""Supervisor actions in Chromium: the per-agent table and a presence change with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site
from tests.browser.test_supervisor_page import Driver, shot, sign_in_as_supervisor


@pytest.mark.timeout(120)
def test_agent_table_and_presence_change(site: Site, chromium: Browser) -> None:
    driver = Driver(site)
    driver.call("PUT", "/agents/alice/presence", "alice", {"presence_id": "available"})
    driver.chat("support")
    context = chromium.new_context(viewport={"width": 1360, "height": 1100})
    page = context.new_page()
    crashes: list[str] = []
    page.on("pageerror", lambda err: crashes.append(str(err)))
    try:
        page.goto(f"{site.url}/supervisor")
        sign_in_as_supervisor(page)
        alice = page.locator("#agents-table tr[data-agent=alice]")
        expect(alice.get_by_role("cell").nth(0)).to_have_text("Available")
        expect(alice.get_by_role("cell").nth(3)).to_have_text("1")
        expect(page.locator("#agents-table tbody tr")).to_have_count(3)
        alice.get_by_label("New presence for Alice").select_option("away")
        alice.get_by_role("button", name="Set").click()
        expect(page.locator("#ops-status")).to_contain_text("reason")
        alice.get_by_label("Reason for Alice").fill("Team meeting")
        alice.get_by_role("button", name="Set").click()
        expect(page.locator("#ops-status")).to_have_text("Presence of Alice: done.")
        expect(alice.get_by_role("cell").nth(0)).to_have_text("Away")
        shot(page, "agents")
        driver.until(
            "alice to be away",
            lambda: driver.call("GET", "/agents/alice/presence", "alice")["presence_id"] == "away",
        )
        [entry] = driver.call("GET", "/audit?action=supervisor.presence", "admin")
        assert (entry["actor"], entry["details"]["reason"]) == ("carol", "Team meeting")
    finally:
        context.close()
    assert crashes == []
