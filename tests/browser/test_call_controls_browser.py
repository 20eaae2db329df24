"""Call controls and the connector panel in Chromium, against a real Omniroute process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import REPO_ROOT, Server, Servers, free_port
from tests.seed import NOW

pytestmark = pytest.mark.timeout(120)

FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHOTS = REPO_ROOT / "tests" / ".output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    # The harness is served by page.route, which gives it no IP address; Chromium then counts
    # it as public and would block its frames on 127.0.0.1 (a served page is not affected).
    "--disable-features=LocalNetworkAccessChecks",
]
WAIT_MS = 10_000


@dataclass
class HarnessSite:
    """Omniroute, the provider's panel origin and an origin that is not allowed."""

    omniroute: Server
    panel_origin: str
    other_origin: str
    browser: Browser

    def api(self, method: str, path: str, who: str = "admin", **kw: Any) -> Any:
        """Call Omniroute's API and return the JSON answer, asserting success."""
        headers = {"Authorization": f"Bearer token-{who}"}
        r = httpx.request(method, f"{self.omniroute.api_url}{path}", headers=headers, **kw)
        assert r.status_code < 300, r.text
        return r.json()

    def harness(self, query: str = "") -> Page:
        """A page on Omniroute's origin with the harness, importing the real /static modules."""
        page = self.browser.new_page(viewport={"width": 1200, "height": 720})
        html = (FIXTURES / "harness" / "calls.html").read_text(encoding="utf-8")
        url = f"{self.omniroute.base_url}/harness/calls.html"
        page.route(url + "*", lambda route: route.fulfill(body=html, content_type="text/html"))
        page.goto(f"{url}?token=token-alice&agent=alice{query}")
        page.wait_for_function("window.harness && window.harness.ready", timeout=WAIT_MS)
        return page


def static_server(directory: Path, servers: Servers, name: str) -> str:
    """A plain static file server on its own port (its own origin); returns the origin."""
    port = free_port()
    log_path = servers.log_dir / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, "127.0.0.1", port, log_path)
    servers.started.append(server)
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(f"{server.base_url}/provider.html", timeout=1).raise_for_status()
            return server.base_url
        except httpx.HTTPError:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)


PRESENCE_MAP = {"available": "On Queue", "away": "Away", "offline": "Offline"}


def spoke_row(name: str, hook: str, secret: str) -> t.SpokeRow:
    """A webhook spoke with the presence map the simulator's states use."""
    settings = {"url": hook, "secret": secret, "timeout_s": 2}
    return t.SpokeRow(
        name=name,
        kind="webhook",
        settings=settings,
        presence_map=PRESENCE_MAP,
        created_at=NOW,
        updated_at=NOW,
    )


async def seed(url: str, hook: str) -> None:
    """The API seed and a spoke `acme` whose provider is not reachable; nobody is linked yet."""
    db = Database(url)
    try:
        await seed_api(db)
        async with db.session() as s, s.begin():
            s.add(spoke_row("acme", hook, "b" * 40))
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def calls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HarnessSite]:
    """Everything running once for this module's tests."""
    tmp = tmp_path_factory.mktemp("calls-browser")
    url = f"sqlite+aiosqlite:///{tmp / 'omniroute.db'}"
    migrate.upgrade(url)
    # Playwright's sync API may already run an event loop in this thread: seed from another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed(url, f"http://127.0.0.1:{free_port()}/hook")).result()
    servers = Servers(tmp / "logs")
    try:
        omniroute = servers.start(url)
        panel_origin = static_server(FIXTURES / "panel", servers, "panel")
        other_origin = static_server(FIXTURES / "panel", servers, "other")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            yield HarnessSite(omniroute, panel_origin, other_origin, browser)
            browser.close()
    finally:
        servers.close()


def connected(**over: Any) -> dict[str, Any]:
    """A call context as GET /interactions/{id}/call and the call.context event carry it."""
    return {
        "interaction_id": "int-1",
        "state": "connected",
        "kind": "inbound",
        "muted": False,
        "customer_number": "+44 20 7946 0123",
        "available_actions": ["hold", "mute", "transfer", "end"],
        "connected_at": (datetime.now(UTC) - timedelta(seconds=75)).isoformat(),
        "occurred_at": "2026-01-01T10:00:01+00:00",
    } | over


def buttons(page: Page) -> list[str]:
    return page.locator("#controls .cc-buttons button").all_inner_texts()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_buttons_follow_the_context_and_invoke_actions(calls_site: HarnessSite) -> None:
    page = calls_site.harness()
    expect(page.locator("#controls")).to_contain_text("No call on this interaction")
    page.evaluate("ctx => harness.setContext(ctx)", connected())
    assert buttons(page) == ["Hold", "Mute", "Transfer…", "End call"]
    expect(page.locator("#controls .cc-state")).to_have_text("Connected")
    expect(page.locator("#controls .cc-timer")).to_have_text(re.compile(r"^1:\d\d$"))
    shot(page, "call-controls-connected")
    page.get_by_role("button", name="Hold").click()
    assert page.evaluate("harness.invoked") == [{"action": "hold", "params": {}}]
    # A context that happened before the current one changes nothing.
    ringing = connected(
        state="alerting", available_actions=["answer"], occurred_at="2026-01-01T09:59:00+00:00"
    )
    page.evaluate("ctx => harness.setContext(ctx)", ringing)
    assert buttons(page) == ["Hold", "Mute", "Transfer…", "End call"]

    held = connected(state="held", muted=True, available_actions=["resume", "transfer", "end"])
    page.evaluate("ctx => harness.setContext(ctx)", held)
    assert buttons(page) == ["Resume", "Transfer…", "End call"]
    # Hold had the focus and is gone: the focus stays in the controls, on the first action.
    expect(page.get_by_role("button", name="Resume")).to_be_focused()
    expect(page.locator("#controls .cc-status")).to_contain_text("On hold")
    expect(page.locator("#controls .cc-status")).to_contain_text("Muted")
    # Keyboard only: Tab to Transfer, Enter opens the labelled field, Enter sends.
    page.get_by_role("button", name="Resume").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    target = page.get_by_label("Transfer to")
    expect(target).to_be_focused()
    shot(page, "call-controls-held-transfer")
    page.keyboard.type("+44 800 123")
    page.keyboard.press("Enter")
    assert page.evaluate("harness.invoked")[-1] == {
        "action": "transfer",
        "params": {"target": "+44 800 123"},
    }

    callback = connected(
        state="scheduled", kind="callback", connected_at=None, available_actions=["dial", "end"]
    )
    page.evaluate("ctx => harness.setContext(ctx)", callback)
    assert buttons(page) == ["Dial", "End call"]
    expect(page.locator("#controls .cc-timer")).to_be_hidden()
    page.get_by_role("button", name="Dial").click()
    expect(page.get_by_label("Number to dial")).to_have_value("+44 20 7946 0123")
    page.get_by_role("button", name="Dial", exact=True).last.click()
    assert page.evaluate("harness.invoked")[-1] == {
        "action": "dial",
        "params": {"number": "+44 20 7946 0123"},
    }

    page.evaluate("harness.failNext = 'the phone system is unreachable'")
    page.get_by_role("button", name="End call").click()
    expect(page.get_by_role("alert")).to_contain_text("End call failed")
    page.evaluate("ctx => harness.setContext(ctx)", connected(state="ended", available_actions=[]))
    assert buttons(page) == []
    expect(page.locator("#controls")).to_contain_text("No actions available")
    page.close()


def test_panel_exchange_with_the_provider_page(calls_site: HarnessSite) -> None:
    host = calls_site.omniroute.base_url
    elsewhere = f"{calls_site.other_origin}/elsewhere.html?host={quote(host, safe='')}"
    panel_url = (
        f"{calls_site.panel_origin}/provider.html?host={quote(host, safe='')}"
        f"&elsewhere={quote(elsewhere, safe='')}"
    )
    calls_site.api(
        "PUT", "/spokes/acme/panel", json={"panel_url": panel_url, "title": "Acme Voice"}
    )
    intruder = f"{calls_site.panel_origin}/elsewhere.html?host={quote(host, safe='')}"
    page = calls_site.harness(f"&panel=1&spoke=acme&intruder={quote(intruder, safe='')}")
    panel = page.frame_locator("iframe.cn-frame")
    expect(panel.locator("#agent")).to_have_text("alice", timeout=WAIT_MS)
    expect(panel.locator("#presence")).to_have_text("Offline")
    # A frame of an allowed origin that is not the panel is ignored: wrong source.
    page.wait_for_function(
        "harness.ignored.filter(i => i.reason === 'source').length >= 2", timeout=WAIT_MS
    )

    panel.get_by_label("Acme agent id").fill("P-alice")
    panel.get_by_role("button", name="Sign in").click()
    expect(panel.locator("#last-result")).to_contain_text('"outcome":"linked"', timeout=WAIT_MS)
    expect(page.locator(".cn-status")).to_have_text("Connected as P-alice")
    [config] = calls_site.api("GET", "/agents/alice/connector-panels", "alice")
    assert config["provider_agent_id"] == "P-alice"

    panel.get_by_label("State").select_option("Away")
    panel.get_by_role("button", name="Set state").click()
    expect(panel.locator("#last-result")).to_contain_text('"presence_id":"away"', timeout=WAIT_MS)
    assert calls_site.api("GET", "/agents/alice/presence", "alice")["presence_id"] == "away"

    page.evaluate(
        """() => {
        harness.panel.notify("work.offered", {offer_id: "of-1", document_id: "int-1",
          channel_id: "voice", queue_id: "phones", expires_at: null});
        harness.panel.notify("presence.changed", {presence_id: "available"});
        harness.panel.notify("wrapup.submitted", {document_id: "int-1",
          wrap_up_code_id: "resolved", notes: ""});
    }"""
    )
    received = panel.locator("#received")
    expect(received.locator("li[data-type='work.offered']")).to_contain_text("of-1")
    expect(received.locator("li[data-type='wrapup.submitted']")).to_contain_text("resolved")
    expect(panel.locator("#presence")).to_have_text("On Queue")

    panel.get_by_label("Interaction").fill("no-such-call")
    panel.get_by_role("button", name="Send").click()
    expect(panel.locator("#last-result")).to_contain_text("error NOT_FOUND", timeout=WAIT_MS)
    shot(page, "connector-panel")

    # The panel frame goes to a page of an origin that is not allowed: it is not obeyed.
    panel.get_by_role("link", name="Open the other page").click()
    page.wait_for_function(
        "harness.ignored.filter(i => i.reason === 'origin').length >= 2", timeout=WAIT_MS
    )
    origins = {i["origin"] for i in page.evaluate("harness.ignored") if i["reason"] == "origin"}
    assert origins == {calls_site.other_origin}
    assert len(page.evaluate("harness.signedIn")) == 1
    assert calls_site.api("GET", "/agents/alice/presence", "alice")["presence_id"] == "away"
    [config] = calls_site.api("GET", "/agents/alice/connector-panels", "alice")
    assert config["provider_agent_id"] == "P-alice"
    page.close()
