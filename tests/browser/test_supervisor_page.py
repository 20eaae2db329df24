"""The supervisor page in Chromium against a real server: sign-in, tiles, live updates."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, SHOTS, Site
from tests.procs import start_server

DEADLINE_S = 15.0


class Driver:
    """Plays the scenario over the site's HTTP API as the admin, the integration and agents."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def call(self, method: str, path: str, who: str, body: Any = None) -> Any:
        """Call the API as a seeded token and return the JSON of a successful answer."""
        r = self.site.api.request(method, path, json=body, headers=self.site.auth(who))
        assert r.is_success, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def chat(self, queue: str) -> None:
        """Create a chat in a queue."""
        self.call("POST", "/interactions", "integration", {"channel_id": "chat", "queue_id": queue})

    def only_offer(self, agent: str) -> str:
        """The id of the agent's single pending offer."""
        [offer] = self.call("GET", f"/agents/{agent}/offers", agent)
        offer_id: str = offer["id"]
        return offer_id

    def until(self, what: str, probe: Callable[[], bool]) -> None:
        """Poll until the probe holds, failing after the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        while not probe():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.05)

    def configure(self) -> None:
        """A queue whose offers time out after 1 s."""
        rule = {"id": "quick", "name": "Quick", "offer_timeout_s": 1}
        self.call("POST", "/rules", "admin", rule | {"presence_after_timeout": "away"})
        queue = {"id": "callbacks", "name": "callbacks", "channels": ["chat"], "priority": 50}
        self.call("POST", "/queues", "admin", queue | {"rule_id": "quick"})

    def scenario(self) -> None:
        """One answered fast, one rejected (still waiting), one timed out (still waiting)."""
        self.call("PUT", "/agents/alice/presence", "alice", {"presence_id": "available"})
        self.chat("support")
        self.call("POST", f"/offers/{self.only_offer('alice')}/accept", "alice")
        self.chat("support")
        body = {"reason_id": "wrong"}
        self.call("POST", f"/offers/{self.only_offer('alice')}/reject", "alice", body)
        self.chat("callbacks")
        self.until(
            "the callback offer to time out",
            lambda: self.call("GET", "/agents/alice/presence", "alice")["presence_id"] == "away",
        )


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"supervisor-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_as_supervisor(page: Page) -> None:
    """Try an agent's API token (refused), then sign in as carol, a supervisor."""
    expect(page.get_by_label("Email")).to_be_focused()
    shot(page, "sign-in")
    page.get_by_text("Use an API token instead").click()
    page.get_by_label("API token").fill("token-alice")
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("alert")).to_contain_text("supervisor")
    page.get_by_label("Email").fill("carol@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.locator("#who")).to_have_text("Carol")


@contextmanager
def supervisor_page(chromium: Browser, site: Site, **options: Any) -> Iterator[Page]:
    """A new browser window signed in to the supervisor page as carol; no script errors."""
    context = chromium.new_context(**({"viewport": {"width": 1360, "height": 1100}} | options))
    page = context.new_page()
    crashes: list[str] = []
    page.on("pageerror", lambda err: crashes.append(str(err)))
    try:
        page.goto(f"{site.url}/supervisor")
        sign_in_as_supervisor(page)
        yield page
    finally:
        context.close()
    assert crashes == []


@pytest.mark.timeout(120)
def test_supervisor_page_shows_the_scenario_live(
    site: Site, chromium: Browser, tmp_path: Path
) -> None:
    driver = Driver(site)
    driver.configure()
    driver.scenario()
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    crashes: list[str] = []
    page.on("pageerror", lambda err: crashes.append(str(err)))
    page.goto(f"{site.url}/supervisor")
    sign_in_as_supervisor(page)

    expect(page.locator("#live")).to_have_text("Live")
    expect(page.get_by_test_id("tile-depth")).to_have_text("2")
    expect(page.get_by_test_id("tile-offers")).to_have_text("3")
    expect(page.get_by_test_id("tile-sl")).to_have_text("100%")
    expect(page.get_by_test_id("tile-agents")).to_have_text("1 busy")
    expect(page.locator("#t-agents-sub")).to_have_text("0 idle · 2 not available · 3 in all")
    expect(page.locator("#t-offers-list")).to_contain_text("Timed out1")
    expect(page.locator("#announce")).to_have_text(
        "2 items in queue, service level 100%, 0 idle agents."
    )
    support = page.get_by_role("row", name="support internal")
    expect(support.get_by_role("cell").nth(0)).to_have_text("1")
    expect(page.locator("#chart-offers rect.bar")).to_have_count(3)
    # The longest wait ticks in the browser between updates.
    wait = page.get_by_test_id("tile-wait")
    first = wait.inner_text()
    expect(wait).not_to_have_text(first)

    driver.chat("support")
    expect(page.get_by_test_id("tile-depth")).to_have_text("3")
    page.get_by_text("Show the data as a table").first.click()
    shot(page, "live")

    # The server goes away and comes back on the same port: the page reconnects by itself.
    site.server.terminate()
    expect(page.locator("#live")).to_have_text("Reconnecting…")
    shot(page, "reconnecting")
    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    again = start_server(url, tmp_path / "logs" / "restarted.log", port=site.server.port)
    try:
        expect(page.locator("#live")).to_have_text("Live", timeout=30_000)
        expect(page.get_by_test_id("tile-depth")).to_have_text("3")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Email")).to_be_visible()
        page.reload()
        expect(page.get_by_label("Email")).to_be_focused()
    finally:
        again.terminate()
        context.close()
    assert crashes == []
