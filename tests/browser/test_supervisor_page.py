"""The supervisor page in Chromium against a real server: sign-in, tiles, live updates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import update

from omniroute.auth_tokens import hash_token
from omniroute.services.admin import hash_password
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import REPO_ROOT, Server, Servers
from tests.seed import NOW, add_queue, add_rule

SHOTS = REPO_ROOT / "tests" / ".output" / "screenshots"
DEADLINE_S = 15.0
PASSWORD = "supervisor-password-for-tests"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]


async def seed(url: str) -> None:
    """The API seed, a queue whose offers time out after 1 s, carol as supervisor, a token."""
    db = Database(url)
    try:
        await seed_api(db)
        await add_rule(db, "quick", offer_timeout_s=1, presence_after_timeout="away")
        await add_queue(db, "callbacks", ["chat"], rule_id="quick", priority=50)
        digest = await hash_password(PASSWORD)
        async with db.session() as s, s.begin():
            await s.execute(
                update(t.AgentRow)
                .where(t.AgentRow.id == "carol")
                .values(password_hash=digest, supervisor=True)
            )
            s.add(
                t.ApiTokenRow(
                    id="tok-sup",
                    name="sup",
                    token_hash=hash_token("token-sup"),
                    role="supervisor",
                    created_at=NOW,
                )
            )
    finally:
        await db.dispose()


class Driver:
    """Plays the scenario over HTTP as the integration and the agents."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.api_url, timeout=10.0)

    def call(self, method: str, path: str, who: str, body: Any = None) -> Any:
        """Call the API as a seeded token and return the JSON of a successful answer."""
        headers = {"Authorization": f"Bearer token-{who}"}
        r = self.http.request(method, path, json=body, headers=headers)
        assert r.is_success, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def chat(self, queue: str) -> dict[str, Any]:
        """Create a chat in a queue."""
        body = {"channel_id": "chat", "queue_id": queue}
        result: dict[str, Any] = self.call("POST", "/interactions", "integration", body)
        return result

    def only_offer(self, agent: str) -> str:
        """The id of the agent's single pending offer."""
        [offer] = self.call("GET", f"/agents/{agent}/offers", agent)
        offer_id: str = offer["id"]
        return offer_id

    def until(self, what: str, probe: Any) -> None:
        """Poll until the probe holds, failing after the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        while not probe():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.05)

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


@pytest.fixture
def played(server_db_url: str, servers: Servers) -> Iterator[tuple[Server, Driver]]:
    """A real server on a seeded SQLite database, after the scenario was played."""
    if not server_db_url.startswith("sqlite"):
        pytest.skip("the browser test runs on SQLite only")
    migrate.upgrade(server_db_url)
    asyncio.run(seed(server_db_url))
    server = servers.start(server_db_url)
    driver = Driver(server)
    try:
        driver.scenario()
        yield server, driver
    finally:
        driver.http.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"supervisor-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.timeout(120)
def test_supervisor_page_shows_the_scenario_live(
    played: tuple[Server, Driver], servers: Servers, server_db_url: str, browser: Browser
) -> None:
    server, driver = played

    page = browser.new_page(viewport={"width": 1360, "height": 900})
    crashes: list[str] = []
    page.on("pageerror", lambda err: crashes.append(str(err)))
    page.goto(f"{server.base_url}/supervisor")
    expect(page.get_by_label("Email")).to_be_focused()
    shot(page, "sign-in")
    # An agent's API token is refused with a message that says what is needed.
    page.get_by_text("Use an API token instead").click()
    page.get_by_label("API token").fill("token-alice")
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("alert")).to_contain_text("supervisor")
    page.get_by_label("Email").fill("carol@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.locator("#who")).to_have_text("Carol")

    expect(page.locator("#live")).to_have_text("Live", timeout=DEADLINE_S * 1000)
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
    expect(wait).not_to_have_text(first, timeout=DEADLINE_S * 1000)

    driver.chat("support")
    expect(page.get_by_test_id("tile-depth")).to_have_text("3", timeout=DEADLINE_S * 1000)
    page.get_by_text("Show the data as a table").first.click()
    shot(page, "live")

    server.terminate()
    expect(page.locator("#live")).to_have_text("Reconnecting…", timeout=DEADLINE_S * 1000)
    shot(page, "reconnecting")
    servers.start(server_db_url, port=server.port)
    expect(page.locator("#live")).to_have_text("Live", timeout=30_000)
    expect(page.get_by_test_id("tile-depth")).to_have_text("3")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Email")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Email")).to_be_focused()
    assert crashes == []
