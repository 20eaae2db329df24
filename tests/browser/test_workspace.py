"""The agent workspace in Chromium: offers, reject and accept, transfers, wrap-up, reconnects."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, shot, sign_in


def set_presence(page: Page, presence: str) -> None:
    page.get_by_label("Presence").select_option(presence)
    expect(page.locator("#presence-dot")).to_have_class(
        "presence-dot on" if presence == "available" else "presence-dot off"
    )


def create_chat(site: Site, name: str, subject: str, queue: str = "support") -> dict[str, Any]:
    r = site.api.post(
        "/interactions",
        headers=site.auth("integration"),
        json={
            "channel_id": "chat",
            "queue_id": queue,
            "customer_name": name,
            "customer_email": f"{name.split(maxsplit=1)[0].lower()}@customer.test",
            "subject": subject,
        },
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def interaction(site: Site, interaction_id: str) -> dict[str, Any]:
    r = site.api.get(f"/interactions/{interaction_id}", headers=site.auth("admin"))
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_offer_reject_accept_transfers_and_wrap_up(chromium: Browser, site: Site) -> None:
    alice = sign_in(chromium, site, "alice")
    bob = sign_in(chromium, site, "bob")
    carol = sign_in(chromium, site, "carol")
    set_presence(alice, "available")
    chat = create_chat(site, "Maya Lopez", "My parcel never arrived")

    # Alice gets the card with the customer, the queue and a running countdown.
    card = alice.locator(".offer-card")
    expect(card).to_have_count(1)
    expect(card.locator(".card-customer")).to_have_text("Maya Lopez")
    expect(card.locator(".card-queue")).to_have_text("support")
    expect(card.locator(".countdown-text")).to_contain_text("left")
    shot(alice, "workspace-offer")

    # She rejects it with a reason from the chat channel's list.
    card.get_by_role("button", name="Reject").click()
    dialog = alice.get_by_role("dialog", name="Reject this offer?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Reject offer").click()
    expect(dialog.locator(".form-error")).to_have_text("Choose why you reject this offer.")
    dialog.get_by_label("Reason").select_option("wrong")
    shot(alice, "workspace-reject-dialog")
    dialog.get_by_role("button", name="Reject offer").click()
    expect(card).to_have_count(0)

    # Bob comes on queue and accepts; the conversation opens in his workspace.
    set_presence(bob, "available")
    bob.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(bob.locator(".conv-title h1")).to_have_text("Maya Lopez")
    expect(bob.locator(".conv-title .pill")).to_have_text("In progress")
    assert interaction(site, chat["id"])["agent_id"] == "bob"

    # A transfer to Carol, started and cancelled while her card is up.
    set_presence(carol, "available")
    bob.get_by_role("button", name="Transfer…").click()
    transfer = bob.get_by_role("dialog", name="Transfer")
    transfer.get_by_role("radio", name="Carol").check()
    shot(bob, "workspace-transfer-dialog")
    transfer.get_by_role("button", name="Start transfer").click()
    expect(carol.locator(".offer-card")).to_have_count(1)
    expect(bob.locator(".conv-banner")).to_contain_text("Offered to Carol")
    shot(bob, "workspace-transfer-pending")
    bob.get_by_role("button", name="Cancel transfer").click()
    expect(bob.locator(".conv-banner")).to_contain_text("Transfer cancelled")
    expect(carol.locator(".offer-card")).to_have_count(0)

    # A transfer to the queue: Carol steps away, so Alice takes it.
    set_presence(carol, "away")
    bob.get_by_role("button", name="Transfer…").click()
    transfer = bob.get_by_role("dialog", name="Transfer")
    transfer.get_by_text("A queue").click()
    transfer.get_by_role("radio", name="support").check()
    transfer.get_by_role("button", name="Start transfer").click()
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(alice.locator(".conv-title h1")).to_have_text("Maya Lopez")
    expect(bob.locator(".work-row")).to_have_count(0)
    expect(bob.locator(".placeholder")).to_be_visible()
    assert interaction(site, chat["id"])["agent_id"] == "alice"

    # Alice ends the chat and wraps up with a code and notes.
    alice.get_by_role("button", name="End chat").click()
    expect(alice.locator(".conv-title .pill")).to_have_text("Wrap-up")
    expect(alice.locator(".wrapup-timer")).to_contain_text("in wrap-up")
    alice.get_by_role("button", name="Submit wrap-up").click()
    expect(alice.locator(".wrapup-form .form-error")).to_have_text("Choose a wrap-up code.")
    alice.get_by_label("Wrap-up code").select_option("resolved")
    alice.get_by_label("Notes").fill("Parcel re-sent with tracking.")
    shot(alice, "workspace-wrap-up")
    alice.get_by_role("button", name="Submit wrap-up").click()
    expect(alice.locator(".work-row")).to_have_count(0)
    done = interaction(site, chat["id"])
    assert done["state"] == "closed_complete"
    assert done["wrap_up_code_id"] == "resolved"
    assert done["wrap_up_notes"] == "Parcel re-sent with tracking."


def test_reject_is_hidden_when_the_offer_cannot_be_declined(chromium: Browser, site: Site) -> None:
    alice = sign_in(chromium, site, "alice")
    set_presence(alice, "available")
    create_chat(site, "Ravi Patel", "VIP: invoice question", queue="vip")
    card = alice.locator(".offer-card")
    expect(card.get_by_role("button", name="Accept")).to_be_visible()
    expect(card.get_by_role("button", name="Reject")).to_have_count(0)
    expect(card).to_contain_text("This work cannot be declined")
    expect(card).to_contain_text("No time limit")


def test_a_withdrawn_offer_disappears_at_once(chromium: Browser, site: Site) -> None:
    alice = sign_in(chromium, site, "alice")
    set_presence(alice, "available")
    chat = create_chat(site, "Lena Berg", "Where is my refund?")
    expect(alice.locator(".offer-card")).to_have_count(1)
    r = site.api.post(f"/interactions/{chat['id']}/end", headers=site.auth("integration"), json={})
    assert r.status_code == 200, r.text
    expect(alice.locator(".offer-card")).to_have_count(0)
    expect(alice.locator(".toast")).to_contain_text("An offer was withdrawn")


def test_reconnects_after_a_drop_and_shows_what_it_missed(chromium: Browser, site: Site) -> None:
    alice = sign_in(chromium, site, "alice")
    set_presence(alice, "available")
    alice.context.set_offline(True)
    # Chromium's offline mode does not cut open sockets: drop the feed socket as a network would.
    alice.evaluate("window.omniroute.feed.ws.close()")
    expect(alice.locator("#connection")).to_have_text("Reconnecting…")
    create_chat(site, "Omar Haddad", "Login fails")
    alice.context.set_offline(False)
    expect(alice.locator("#connection")).to_have_text("Live")
    expect(alice.locator("#missed-banner")).to_contain_text("1 new offer")
    expect(alice.locator(".offer-card .card-customer")).to_have_text("Omar Haddad")
    shot(alice, "workspace-reconnected")


def test_sign_in_errors_and_keyboard_only_use(chromium: Browser, site: Site) -> None:
    page = chromium.new_page(viewport={"width": 1360, "height": 860})
    page.goto(f"{site.url}/workspace")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type("alice@example.test")
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("the email or the password is wrong")
    shot(page, "workspace-sign-in-error")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("browser-test-password")
    page.keyboard.press("Enter")
    expect(page.locator("#connection")).to_have_text("Live")
    # The presence selector and the offer's buttons are reachable and usable by keyboard.
    page.get_by_label("Presence").focus()
    page.keyboard.press(
        "ArrowDown" if page.get_by_label("Presence").input_value() != "available" else "Home"
    )
    page.get_by_label("Presence").select_option("available")
    create_chat(site, "Kim Ng", "Keyboard test")
    accept = page.locator(".offer-card").get_by_role("button", name="Accept")
    accept.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".conv-title h1")).to_have_text("Kim Ng")
