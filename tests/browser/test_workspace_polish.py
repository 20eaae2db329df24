"""The workspace for a full working day: alerts, Away explained, shortcuts, reloads, phones."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PASSWORD, Site, shot
from tests.browser.test_workspace import create_chat, interaction, set_presence

# Every desktop notification the page creates is recorded (and still shown).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: options && options.body });
    }
  }
  window.Notification = Recorded;
})();
"""


def admin(site: Site, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    r = site.api.request(method, path, json=body, headers=site.auth("admin"))
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def notified(page: Page) -> list[dict[str, str]]:
    found: list[dict[str, str]] = page.evaluate("window.__notifications")
    return found


def alerting_context(chromium: Browser, site: Site) -> BrowserContext:
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    context.grant_permissions(["notifications"], origin=site.url)
    context.add_init_script(RECORD_NOTIFICATIONS)
    return context


def sign_in_page(page: Page, site: Site, agent: str) -> None:
    page.goto(f"{site.url}/workspace")
    page.get_by_label("Email").fill(f"{agent}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#connection")).to_have_text("Live")


def test_a_new_offer_raises_every_alert_the_agent_keeps_on(chromium: Browser, site: Site) -> None:
    admin(
        site,
        "POST",
        "/rules",
        {"id": "quick", "name": "Quick", "offer_timeout_s": 3, "presence_after_timeout": "away"},
    )
    admin(
        site,
        "POST",
        "/queues",
        {"id": "quick", "name": "Quick", "channels": ["chat"], "rule_id": "quick", "priority": 5},
    )
    page = alerting_context(chromium, site).new_page()
    sign_in_page(page, site, "alice")
    base_title = page.title()
    set_presence(page, "available")

    create_chat(site, "Maya Lopez", "My parcel never arrived")
    expect(page.locator(".offer-card .card-customer")).to_have_text("Maya Lopez")
    expect(page).to_have_title(f"(1) New offer · {base_title}")
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_attribute("href", re.compile(r"^data:image/png;base64,"))
    page.wait_for_function("window.__notifications.length === 1")
    [note] = notified(page)
    assert note["title"] == "New Chat offer"
    assert note["body"] == "Maya Lopez · My parcel never arrived"
    [alert] = page.evaluate("window.omniroute.attention.log")
    assert sorted(alert["alerts"]) == sorted(
        ["sound", "desktop_notification", "tab_title", "favicon_badge"]
    )
    shot(page, "workspace-alert-new-offer")

    # Accepting clears the title and the badge.
    page.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(page.locator(".conv-title h1")).to_have_text("Maya Lopez")
    expect(page).to_have_title(base_title)
    expect(icon).to_have_attribute("href", "data:,")

    # The agent turns the tab title and the sound off; the server keeps it across a reload.
    page.get_by_role("button", name="Alerts").click()
    dialog = page.get_by_role("dialog", name="Alerts")
    dialog.get_by_label("Tab title").uncheck()
    dialog.get_by_label("Sound").uncheck()
    shot(page, "workspace-alert-settings")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    prefs = site.api.get("/agents/alice/preferences", headers=site.auth("alice")).json()
    assert (prefs["tab_title"], prefs["sound"], prefs["favicon_badge"]) == (False, False, True)
    page.reload()
    expect(page.locator("#connection")).to_have_text("Live")
    page.get_by_role("button", name="Alerts").click()
    expect(page.get_by_role("dialog", name="Alerts").get_by_label("Tab title")).not_to_be_checked()
    page.keyboard.press("Escape")

    # A missed offer: the agent is told they are Away and why, and gets back in one click.
    create_chat(site, "Omar Haddad", "Wrong size", queue="quick")
    expect(page.locator(".offer-card .card-customer")).to_have_text("Omar Haddad")
    expect(icon).to_have_attribute("href", re.compile(r"^data:image/png"))
    expect(page).to_have_title(base_title)
    notice = page.locator("#away-notice")
    expect(notice).to_contain_text("You are now Away.", timeout=20_000)
    expect(notice).to_contain_text("An offer timed out before you answered it")
    expect(page.locator(".offer-card")).to_have_count(0)
    shot(page, "workspace-away-notice")
    notice.get_by_role("button", name="Back to Available").click()
    expect(page.locator("#presence-dot")).to_have_class("presence-dot on")
    expect(notice).to_have_count(0)
    presence = site.api.get("/agents/alice/presence", headers=site.auth("alice")).json()
    assert presence["presence_id"] == "available"


def test_keyboard_only_accept_and_a_reload_keeps_the_conversation(
    chromium: Browser, site: Site
) -> None:
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.goto(f"{site.url}/workspace")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type("alice@example.test")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#connection")).to_have_text("Live")
    page.keyboard.press("?")
    keys = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(keys).to_be_visible()
    for text in ("Accept the oldest offer", "Reject the oldest offer", "next item", "canned"):
        expect(keys).to_contain_text(text)
    shot(page, "workspace-shortcuts")
    page.keyboard.press("Escape")
    expect(keys).to_be_hidden()

    site.api.put(
        "/agents/alice/presence", headers=site.auth("alice"), json={"presence_id": "available"}
    )
    first = create_chat(site, "Maya Lopez", "Parcel")
    expect(page.locator(".offer-card")).to_have_count(1)
    page.keyboard.press("a")
    expect(page.locator(".conv-title h1")).to_have_text("Maya Lopez")
    assert interaction(site, first["id"])["agent_id"] == "alice"
    expect(page).to_have_url(re.compile(rf"#interaction/{first['id']}$"))

    second = create_chat(site, "Ken Ito", "Invoice")
    expect(page.locator(".offer-card")).to_have_count(1)
    page.locator("body").press("a")
    expect(page.locator(".conv-title h1")).to_have_text("Ken Ito")
    page.keyboard.press("j")
    expect(page.locator(".conv-title h1")).to_have_text("Maya Lopez")
    page.keyboard.press("c")
    expect(page.locator("#chat-input")).to_be_focused()
    page.keyboard.type("Hello Maya, let me check.")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-agent .msg-body")).to_have_text(["Hello Maya, let me check."])

    # A reload opens the same conversation again.
    page.reload()
    expect(page.locator(".conv-title h1")).to_have_text("Maya Lopez")
    expect(page.locator(".msg-agent .msg-body")).to_have_text(["Hello Maya, let me check."])
    page.keyboard.press("k")
    expect(page.locator(".conv-title h1")).to_have_text("Ken Ito")
    expect(page).to_have_url(re.compile(rf"#interaction/{second['id']}$"))

    # Wrap-up keeps the newest messages in view.
    for n in range(14):
        site.api.post(
            f"/interactions/{second['id']}/messages",
            headers=site.auth("alice"),
            json={"body": f"Line {n} of a long answer"},
        )
    expect(page.locator(".msg-agent")).to_have_count(14)
    page.get_by_role("button", name="End chat").click()
    expect(page.locator("#wrapup-code")).to_be_visible()
    last = page.locator(".msg-agent").last
    expect(last).to_be_in_viewport()
    box = page.locator(".transcript").bounding_box()
    assert box is not None
    assert box["height"] >= 120, box
    shot(page, "workspace-wrap-up-transcript")


def test_phone_sized_screen_has_no_sideways_scroll(chromium: Browser, site: Site) -> None:
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    sign_in_page(page, site, "alice")
    set_presence(page, "available")
    width = "document.documentElement.scrollWidth"
    assert page.evaluate(width) <= 390
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    shot(page, "workspace-390-idle")
    create_chat(site, "Maya Lopez", "My parcel never arrived, order 1042, shipped to Lisbon")
    page.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(page.locator(".conv-title h1")).to_have_text("Maya Lopez")
    top = page.locator(".conv-title").bounding_box()
    assert top is not None
    assert top["y"] < 300, top
    page.locator("#chat-input").fill("A long line " * 20)
    page.keyboard.press("Enter")
    expect(page.locator(".msg-agent")).to_have_count(1)
    assert page.evaluate(width) <= 390
    shot(page, "workspace-390-conversation")
