"""In Chromium: a customer chats through the widget on the demo shop; the case form files a case."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import procs
from tests.channels.chat_helpers import auth, seed_chat_server
from tests.procs import Server, Servers

SCREENSHOTS = procs.REPO_ROOT / "tests" / ".output" / "screenshots"
DEADLINE_S = 15.0


@dataclass
class ChatSite:
    """A seeded server process, its database and a way to restart it on the same port."""

    server: Server
    url: str
    servers: Servers

    def restart(self) -> None:
        """Kill the process (no clean shutdown) and start a new one on the same port."""
        self.server.kill()
        self.server = self.servers.start(self.url, port=self.server.port)


@pytest.fixture
def chat_site(tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch) -> ChatSite:
    """A seeded server process whose case form files into the 'cases' queue."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    # Playwright's sync API runs a loop in this thread: seed from another one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed_chat_server(url)).result()
    plain_env: Callable[..., dict[str, str]] = procs.server_env
    monkeypatch.setattr(
        procs,
        "server_env",
        lambda *a, **k: plain_env(*a, **k) | {"OMNIROUTE_CASE_FORM_QUEUE_ID": "cases"},
    )
    return ChatSite(servers.start(url), url, servers)


def eventually(probe: Callable[[], Any], what: str) -> Any:
    """Poll until the probe returns something truthy."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def shot(page: Page, name: str) -> None:
    """Save a screenshot for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_customer_chats_with_an_agent(chat_site: ChatSite, chromium: Browser) -> None:
    chat_server = chat_site.server
    api = httpx.Client(base_url=chat_server.api_url, timeout=10.0)
    r = api.put("/agents/alice/presence", json={"presence_id": "available"}, headers=auth("alice"))
    assert r.status_code == 200, r.text
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{chat_server.base_url}/widget/demo")
    launcher = page.get_by_role("button", name="Chat with us: Northwind Outfitters")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.get_by_role("button", name="Start chat").click()
    expect(page.get_by_text("Enter your name.")).to_be_visible()
    page.get_by_label("Your name").fill("Ann Lee")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("How can we help?").fill("My boots have not arrived yet.")
    shot(page, "chat-widget-form")
    page.get_by_role("button", name="Start chat").click()
    expect(page.get_by_text("Waiting for the next available agent…")).to_be_visible()
    expect(page.get_by_text("My boots have not arrived yet.")).to_be_visible()

    offers = eventually(
        lambda: api.get("/agents/alice/offers", headers=auth("alice")).json(), "the offer"
    )
    item = api.get(f"/work-items/{offers[0]['work_item_id']}", headers=auth("admin")).json()
    interaction_id = item["document_id"]
    r = api.post(f"/offers/{offers[0]['id']}/accept", headers=auth("alice"))
    assert r.status_code == 200, r.text
    expect(page.get_by_text("You're chatting with Alice")).to_be_visible()
    expect(page.get_by_text("Alice joined the chat")).to_be_visible()
    expect(page.get_by_role("img", name="Delivered")).to_have_count(1)

    page.get_by_label("Message").fill("The order number is 1042.")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The order number is 1042.")).to_be_visible()
    expect(page.get_by_role("img", name="Delivered")).to_have_count(2)
    path = f"/interactions/{interaction_id}"
    assert api.post(f"{path}/typing", headers=auth("alice")).status_code == 204
    expect(page.get_by_text("Alice is typing…")).to_be_visible()
    reply = "Thanks Ann! Order 1042 left our warehouse this morning."
    r = api.post(f"{path}/messages", json={"body": reply}, headers=auth("alice"))
    assert r.status_code == 201, r.text
    expect(page.get_by_text(reply)).to_be_visible()
    shot(page, "chat-widget-live")

    # The server dies; the widget says so, reconnects when it is back and shows what it missed.
    chat_site.restart()
    expect(page.get_by_text("Connection lost")).to_be_visible()
    missed = "Tracking number: NW-7781."
    r = api.post(f"{path}/messages", json={"body": missed}, headers=auth("alice"))
    assert r.status_code == 201, r.text
    expect(page.get_by_text(missed)).to_be_visible()
    expect(page.get_by_text("Connection lost")).to_be_hidden()
    expect(page.get_by_text(reply)).to_have_count(1)

    transcript = api.get(f"{path}/messages", headers=auth("alice")).json()["items"]
    assert [m["body"] for m in transcript] == [
        "My boots have not arrived yet.",
        "The order number is 1042.",
        reply,
        missed,
    ]
    r = api.post(f"{path}/end", json={"wrap_up_code_id": "resolved"}, headers=auth("alice"))
    assert r.status_code == 200, r.text
    expect(page.get_by_text("This chat has ended.")).to_be_visible()
    expect(page.get_by_label("Message")).to_be_hidden()
    shot(page, "chat-widget-ended")


def test_case_form_files_a_case(chat_site: ChatSite, chromium: Browser) -> None:
    chat_server = chat_site.server
    page = chromium.new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{chat_server.base_url}/support/case")
    page.get_by_label("Your name").fill("Ann Lee")
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_role("button", name="Send to support").click()
    expect(page.get_by_role("alert")).to_contain_text("Please fix 3 things")
    expect(page.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your name")).to_have_value("Ann Lee")
    shot(page, "case-form-errors")
    page.get_by_label("Email address").fill("ann@example.com")
    page.get_by_label("Subject").fill("Wrong size delivered")
    page.get_by_label("How can we help?").fill("I ordered boots in 41 and received 44.")
    shot(page, "case-form")
    page.get_by_role("button", name="Send to support").click()
    expect(page.get_by_role("heading", name="Thank you, we have your request")).to_be_visible()
    reference = page.locator(".ref").inner_text()
    shot(page, "case-form-sent")
    api = httpx.Client(base_url=chat_server.api_url, timeout=10.0)
    case = api.get(f"/cases/{reference}", headers=auth("admin")).json()
    assert case["subject"] == "Wrong size delivered"
    assert case["customer_email"] == "ann@example.com"
    assert reference == case["reference"] == f"CS-{case['number']}"
    items = api.get("/work-items", params={"document_id": case["id"]}, headers=auth("admin")).json()
    assert [i["queue_id"] for i in items] == ["cases"]


def test_widget_outside_hours_takes_a_message(chat_site: ChatSite, chromium: Browser) -> None:
    api = httpx.Client(base_url=chat_site.server.api_url, timeout=10.0)
    # Open one hour tomorrow (UTC) only: closed now, whatever the time.
    tomorrow = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(time.gmtime().tm_wday + 1) % 7]
    calendar = {
        "id": "office",
        "name": "Office",
        "tz": "UTC",
        "weekly": {tomorrow: ["10:00-11:00"]},
    }
    r = api.post("/calendars", json=calendar, headers=auth("admin"))
    assert r.status_code == 201, r.text
    closed = "We are closed. Leave a message and we will email you."
    settings = {
        "calendar_id": "office",
        "out_of_hours_action": "answer",
        "out_of_hours_message": closed,
    }
    r = api.patch("/queues/support", json=settings, headers=auth("admin"))
    assert r.status_code == 200, r.text
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{chat_site.server.base_url}/widget/demo")
    launcher = page.get_by_role("button", name="Chat with us: Northwind Outfitters")
    expect(launcher).to_contain_text("Leave us a message")
    launcher.click()
    expect(page.get_by_text(closed)).to_be_visible()
    expect(page.locator("#omniroute-chat-demo").locator("#status")).to_contain_text(
        "We're closed right now · we open"
    )
    page.get_by_label("Your name").fill("Ann Lee")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("How can we help?").fill("Do you ship to Norway?")
    shot(page, "chat-widget-closed")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you — we have your message")).to_be_visible()
    filed = eventually(
        lambda: [
            i
            for i in api.get("/interactions", headers=auth("admin")).json()
            if i["customer_email"] == "ann@example.com"
        ],
        "the filed message",
    )
    assert (filed[0]["channel_id"], filed[0]["subject"]) == ("email", "Do you ship to Norway?")
    # Nobody is offered it while the queue is closed.
    r = api.put("/agents/alice/presence", json={"presence_id": "available"}, headers=auth("alice"))
    assert r.status_code == 200, r.text
    assert api.get("/agents/alice/offers", headers=auth("alice")).json() == []
