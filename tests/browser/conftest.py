"""Real Chromium (Debian's, driven by Playwright) against real Omniroute processes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import update

from omniroute.services.admin import hash_password
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import REPO_ROOT, Server, Servers

CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic would hit the closed network; keep it quiet and local.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SHOTS = REPO_ROOT / "tests" / ".output" / "screenshots"
PASSWORD = "browser-test-password"
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """A headless Chromium per test module.

    Playwright's sync API runs an event loop in this thread while it is open; closing it with
    the module keeps it from clashing with the async tests collected after.
    """
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


async def _prepare(url: str) -> None:
    migrate.upgrade(url)
    db = Database(url)
    try:
        await seed_api(db)
        digest = await hash_password(PASSWORD)
        async with db.session() as s, s.begin():
            await s.execute(update(t.AgentRow).values(password_hash=digest))
            await s.execute(
                update(t.AgentRow).where(t.AgentRow.id == "carol").values(supervisor=True)
            )
    finally:
        await db.dispose()


@dataclass
class Site:
    """A running Omniroute with seeded agents who can sign in, and an API client."""

    server: Server
    api: httpx.Client

    @property
    def url(self) -> str:
        """The server's root URL."""
        return self.server.base_url

    def auth(self, who: str) -> dict[str, str]:
        """Bearer headers for a token seeded by `seed_api`."""
        return {"Authorization": f"Bearer token-{who}"}


@contextmanager
def running_site(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[Site]:
    """A fresh Omniroute process on its own SQLite file, with extra settings."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    # Playwright's sync API keeps an event loop running in this thread: seed from another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _prepare(url)).result()
    servers = Servers(tmp_path / "logs")
    try:
        server = servers.start(url, env=env)
        with httpx.Client(base_url=server.api_url, timeout=10) as client:
            yield Site(server, client)
    finally:
        servers.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A fresh Omniroute process."""
    with running_site(tmp_path) as running:
        yield running


def sign_in(chromium: Browser, site: Site, agent: str) -> Page:
    """A new browser window with the agent signed in to the workspace, live."""
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.goto(f"{site.url}/workspace")
    page.get_by_label("Email").fill(f"{agent}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_text("Live")
    return page


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page under the test run's output folder."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
