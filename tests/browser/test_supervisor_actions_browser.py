"""Supervisor actions in Chromium: the per-agent table, a presence change with a reason, and
assigning and moving waiting work."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site
from tests.browser.test_supervisor_page import Driver, shot, supervisor_page


@pytest.mark.timeout(120)
def test_agent_table_and_presence_change(site: Site, chromium: Browser) -> None:
    driver = Driver(site)
    driver.call("PUT", "/agents/alice/presence", "alice", {"presence_id": "available"})
    driver.chat("support")
    with supervisor_page(chromium, site) as page:
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


@pytest.mark.timeout(120)
def test_assign_and_move_waiting_work(site: Site, chromium: Browser) -> None:
    driver = Driver(site)
    body = {"channel_id": "chat", "queue_id": "support"}
    first = driver.call("POST", "/interactions", "integration", body)["work_item_id"]
    second = driver.call("POST", "/interactions", "integration", body)["work_item_id"]
    with supervisor_page(chromium, site) as page:
        # Nobody is signed in: both chats wait. Show every waiting item, not only old ones.
        page.get_by_label("Waiting at least").select_option("0")
        waiting = page.locator("#stuck-list li.stuck")
        expect(waiting).to_have_count(2)
        row = page.locator(f"#stuck-list li[data-item='{first}']")
        expect(row).to_contain_text("support · chat")
        expect(row).to_contain_text("No agent available")
        row.get_by_label(f"Assign {first} to").select_option(label="Bob")
        expect(page.locator("#ops-status")).to_have_text("Assign: done.")
        # Offered to Bob, whatever his presence: it leaves the list, his row counts the offer.
        expect(waiting).to_have_count(1)
        bob = page.locator("#agents-table tr[data-agent=bob]")
        expect(bob.get_by_role("cell").nth(3)).to_have_text("1")
        row = page.locator(f"#stuck-list li[data-item='{second}']")
        moves = row.get_by_label(f"Move {second} to")
        # Only other queues serving chat are offered: vip, not support itself nor cases.
        expect(moves.locator("option")).to_have_text(["Move to…", "vip"])
        moves.select_option(label="vip")
        expect(page.locator("#ops-status")).to_have_text("Move: done.")
        expect(row).to_contain_text("vip · chat")
        shot(page, "assign-and-move")
    [offer] = driver.call("GET", "/agents/bob/offers", "bob")
    assert (
        driver.call("GET", f"/work-items/{offer['work_item_id']}", "admin")["previous_id"] == first
    )
    assert driver.call("GET", f"/work-items/{second}", "admin")["queue_id"] == "vip"
    [assign] = driver.call("GET", "/audit?action=supervisor.assign", "admin")
    [move] = driver.call("GET", "/audit?action=supervisor.move", "admin")
    assert (assign["actor"], assign["details"]["agent_id"]) == ("carol", "bob")
    assert (move["actor"], move["details"]) == (
        "carol",
        {"from_queue_id": "support", "queue_id": "vip"},
    )
