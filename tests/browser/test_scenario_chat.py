"""The whole story in real browsers: a customer in the widget, three agents in their workspaces."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, shot, sign_in
from tests.browser.test_workspace import interaction, set_presence


def start_chat(chromium: Browser, site: Site) -> Page:
    customer = chromium.new_context(viewport={"width": 1200, "height": 800}).new_page()
    customer.goto(f"{site.url}/widget/demo")
    customer.get_by_role("button", name="Chat with us: Northwind Outfitters").click()
    customer.get_by_label("Your name").fill("Ann Lee")
    customer.get_by_label("Email").fill("ann@example.com")
    customer.get_by_label("How can we help?").fill("My boots have not arrived yet.")
    customer.get_by_role("button", name="Start chat").click()
    expect(customer.get_by_text("Waiting for the next available agent…")).to_be_visible()
    return customer


def transcript(page: Page) -> list[str]:
    return page.locator(".transcript .msg-body").all_inner_texts()


def test_widget_chat_rejected_accepted_transferred_and_wrapped_up(
    chromium: Browser, site: Site
) -> None:
    alice = sign_in(chromium, site, "alice")
    bob = sign_in(chromium, site, "bob")
    carol = sign_in(chromium, site, "carol")
    set_presence(alice, "available")
    customer = start_chat(chromium, site)

    # Alice gets the card and rejects it; Bob comes on queue and accepts.
    card = alice.locator(".offer-card")
    expect(card.locator(".card-customer")).to_have_text("Ann Lee")
    expect(card.locator(".card-subject")).to_have_text("My boots have not arrived yet.")
    card.get_by_role("button", name="Reject").click()
    alice.get_by_label("Reason").select_option("wrong")
    alice.get_by_role("button", name="Reject offer").click()
    expect(card).to_have_count(0)
    set_presence(bob, "available")
    bob.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(customer.get_by_text("Bob joined the chat")).to_be_visible()
    expect(customer.get_by_text("You're chatting with Bob")).to_be_visible()

    # They exchange messages, with typing and delivery both ways.
    expect(bob.locator(".transcript .msg-customer .msg-body")).to_have_text(
        ["My boots have not arrived yet."]
    )
    customer.get_by_label("Message").fill("The order number is 1042.")
    expect(bob.locator(".typing")).to_have_text("Ann Lee is typing…")
    customer.keyboard.press("Enter")
    expect(bob.locator(".transcript .msg-customer .msg-body").last).to_have_text(
        "The order number is 1042."
    )
    bob.get_by_label("Message to the customer").fill("Thanks Ann, let me check order 1042.")
    expect(customer.get_by_text("Bob is typing…")).to_be_visible()
    bob.get_by_role("button", name="Send").click()
    expect(customer.get_by_text("Thanks Ann, let me check order 1042.")).to_be_visible()
    expect(bob.locator(".msg-agent .ticks")).to_have_attribute("aria-label", "delivered")
    shot(bob, "scenario-agent-chat")
    shot(customer, "scenario-customer-chat")

    # A transfer to Carol is started and cancelled.
    set_presence(carol, "available")
    bob.get_by_role("button", name="Transfer…").click()
    dialog = bob.get_by_role("dialog", name="Transfer")
    dialog.get_by_role("radio", name="Carol").check()
    dialog.get_by_role("button", name="Start transfer").click()
    expect(carol.locator(".offer-card .card-customer")).to_have_text("Ann Lee")
    bob.get_by_role("button", name="Cancel transfer").click()
    expect(carol.locator(".offer-card")).to_have_count(0)
    expect(bob.locator(".conv-banner")).to_contain_text("Transfer cancelled")

    # A transfer to the queue completes: Alice takes over with the whole transcript.
    set_presence(carol, "away")
    bob.get_by_role("button", name="Transfer…").click()
    dialog = bob.get_by_role("dialog", name="Transfer")
    dialog.get_by_text("A queue").click()
    dialog.get_by_role("radio", name="support").check()
    dialog.get_by_role("button", name="Start transfer").click()
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(alice.locator(".transcript .msg-body")).to_have_count(3)
    expect(bob.locator(".work-row")).to_have_count(0)
    expect(customer.get_by_text("You're chatting with Alice")).to_be_visible()
    alice.get_by_label("Message to the customer").fill("Hi Ann, Alice here. It ships today.")
    alice.get_by_role("button", name="Send").click()
    expect(customer.get_by_text("Hi Ann, Alice here. It ships today.")).to_be_visible()

    # Alice ends the chat: the customer sees it ended; Alice wraps up with a code.
    alice.get_by_role("button", name="End chat").click()
    expect(customer.get_by_text("This chat has ended.")).to_be_visible()
    alice.get_by_label("Wrap-up code").select_option("resolved")
    alice.get_by_label("Notes").fill("Order 1042 ships today.")
    alice.get_by_role("button", name="Submit wrap-up").click()
    expect(alice.locator(".work-row")).to_have_count(0)
    shot(customer, "scenario-customer-ended")

    rows = site.api.get("/interactions", headers=site.auth("admin")).json()
    [chat] = [r for r in rows if r["customer_email"] == "ann@example.com"]
    done = interaction(site, chat["id"])
    assert (done["state"], done["agent_id"], done["wrap_up_code_id"]) == (
        "closed_complete",
        "alice",
        "resolved",
    )
    # Carol, a supervisor, sees exactly those offers: two accepted, one rejected, none timed out
    # (the cancelled transfer's offer was withdrawn, which is none of the three).
    carol.goto(f"{site.url}/supervisor")
    expect(carol.locator("#live")).to_have_text("Live")
    expect(carol.get_by_test_id("tile-offers")).to_have_text("3")
    offers = carol.locator("#t-offers-list")
    expect(offers).to_contain_text("Accepted2")
    expect(offers).to_contain_text("Rejected1")
    expect(offers).to_contain_text("Timed out0")
    expect(carol.get_by_test_id("tile-depth")).to_have_text("0")
    shot(carol, "scenario-supervisor")

    kept = site.api.get(f"/interactions/{chat['id']}/messages", headers=site.auth("admin"))
    bodies = [m["body"] for m in kept.json()["items"] if m["sender"] != "system"]
    assert bodies == [
        "My boots have not arrived yet.",
        "The order number is 1042.",
        "Thanks Ann, let me check order 1042.",
        "Hi Ann, Alice here. It ships today.",
    ]
