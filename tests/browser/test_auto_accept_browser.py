"""Auto-accepted work in the workspace: a card only, or the card and its tab opened at once."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, shot, sign_in
from tests.browser.test_workspace import set_presence

SECRET = "browser-webhook-secret-0123456789abcdefghij"


def external_queue(site: Site) -> None:
    """A webhook spoke and an external queue of it (its provider is never reached)."""
    spoke = {
        "name": "acme",
        "kind": "webhook",
        "settings": {"url": "http://127.0.0.1:9/hook", "secret": SECRET},
    }
    r = site.api.post("/spokes", headers=site.auth("admin"), json=spoke)
    assert r.status_code == 201, r.text
    queue = {
        "id": "ext",
        "name": "External",
        "channels": ["chat"],
        "rule_id": "standard",
        "routing_mode": "external",
        "spoke": "acme",
        "provider_queue_id": "PQ1",
    }
    r = site.api.post("/queues", headers=site.auth("admin"), json=queue)
    assert r.status_code == 201, r.text


def auto_accepted(site: Site, name: str, display_option: str) -> dict[str, Any]:
    """A chat in the external queue that the provider gives Alice with auto_accept."""
    r = site.api.post(
        "/interactions",
        headers=site.auth("integration"),
        json={"channel_id": "chat", "queue_id": "ext", "customer_name": name, "subject": "Hi"},
    )
    assert r.status_code == 201, r.text
    chat: dict[str, Any] = r.json()
    body = {
        "document_id": chat["id"],
        "agent_id": "alice",
        "auto_accept": True,
        "display_option": display_option,
    }
    r = site.api.post("/work-offers", headers=site.auth("integration"), json=body)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "accepted"
    return chat


def test_card_only_waits_for_open_and_card_and_tab_opens_at_once(
    chromium: Browser, site: Site
) -> None:
    external_queue(site)
    alice = sign_in(chromium, site, "alice")
    set_presence(alice, "available")

    auto_accepted(site, "Noor Haddad", "card_only")
    card = alice.locator(".assigned-card")
    expect(card).to_have_count(1)
    expect(card.locator(".card-customer")).to_have_text("Noor Haddad")
    expect(card.locator(".assigned-badge")).to_have_text("Assigned to you")
    expect(alice.locator(".offer-card")).to_have_count(0)
    expect(alice.locator(".work-row")).to_have_count(1)
    expect(alice.locator(".work-row.selected")).to_have_count(0)
    shot(alice, "workspace-auto-accepted-card")
    card.get_by_role("button", name="Open").click()
    expect(alice.locator(".conv-title h1")).to_have_text("Noor Haddad")
    expect(card).to_have_count(0)

    auto_accepted(site, "Ivo Petrov", "card_and_tab")
    expect(alice.locator(".conv-title h1")).to_have_text("Ivo Petrov")
    expect(alice.locator(".assigned-card .card-customer")).to_have_text("Ivo Petrov")
    expect(alice.locator(".work-row")).to_have_count(2)
    alice.locator(".assigned-card").get_by_role("button", name="Dismiss").click()
    expect(alice.locator(".assigned-card")).to_have_count(0)
    expect(alice.locator(".conv-title h1")).to_have_text("Ivo Petrov")
