"""The everyday toolkit in browsers: canned responses by "/", notes, files both ways, search."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, shot, sign_in
from tests.browser.test_scenario_chat import start_chat
from tests.browser.test_workspace import set_presence

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def toolkit_shot(page: Page, name: str) -> None:
    """A screenshot in the run's folder and, for a person to look at, under /tmp/shots-wst."""
    shot(page, name)
    folder = Path("/tmp/shots-wst")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def test_canned_note_files_both_ways_and_search(chromium: Browser, site: Site) -> None:
    r = site.api.post(
        "/canned-responses",
        headers=site.auth("admin"),
        json={
            "title": "Greeting",
            "shortcut": "greet",
            "body": "Hi {customer name}, this is {agent name}. How can I help?",
        },
    )
    assert r.status_code == 201, r.text
    alice = sign_in(chromium, site, "alice")
    set_presence(alice, "available")
    customer = start_chat(chromium, site)
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(customer.get_by_text("You're chatting with Alice")).to_be_visible()

    # A canned response by typing "/": the menu filters, Enter inserts it with names filled in.
    reply = alice.get_by_label("Message to the customer")
    reply.press_sequentially("/gre")
    menu = alice.locator(".canned-menu")
    expect(menu.get_by_role("option")).to_have_count(1)
    toolkit_shot(alice, "toolkit-canned-slash")
    reply.press("Enter")
    expect(reply).to_have_value("Hi Ann Lee, this is Alice. How can I help?")
    expect(menu).to_be_hidden()
    reply.press("Enter")
    expect(customer.get_by_text("Hi Ann Lee, this is Alice. How can I help?")).to_be_visible()

    # An internal note lands in the timeline; the customer never sees it.
    alice.get_by_text("Add an internal note").click()
    alice.get_by_label("Internal note").fill("VIP customer: second late order this month")
    alice.get_by_role("button", name="Add note").click()
    note = alice.locator(".transcript .note")
    expect(note).to_contain_text("VIP customer: second late order this month")
    expect(customer.get_by_text("VIP customer")).to_have_count(0)

    # A colleague's note reaches the open timeline at once, without a reload.
    opened = alice.evaluate("location.hash").split("/")
    assert opened[0] == "#interaction", opened
    r = site.api.post(
        f"/interactions/{opened[1]}/notes",
        headers=site.auth("admin"),
        json={"body": "Refund approved by the team lead"},
    )
    assert r.status_code == 201, r.text
    pushed = alice.locator(".transcript .note", has_text="Refund approved by the team lead")
    expect(pushed).to_have_count(1)
    expect(pushed).to_contain_text("Administrator")
    expect(customer.get_by_text("Refund approved")).to_have_count(0)

    # The customer sends a photo; Alice sees it and downloads it.
    customer.locator("#file").set_input_files(
        {"name": "boots.png", "mimeType": "image/png", "buffer": PNG}
    )
    link = alice.locator(".transcript .attachment", has_text="boots.png")
    expect(link).to_be_visible()
    with alice.expect_download() as got:
        link.click()
    assert got.value.suggested_filename == "boots.png"
    assert Path(got.value.path()).read_bytes() == PNG

    # Alice sends a return label; the customer downloads it from the widget.
    alice.locator("#chat-file").set_input_files(
        {"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 label"}
    )
    file_button = customer.get_by_role("button", name="Download return-label.pdf")
    expect(file_button).to_be_visible()
    with customer.expect_download() as got:
        file_button.click()
    assert got.value.suggested_filename == "return-label.pdf"
    assert Path(got.value.path()).read_bytes() == b"%PDF-1.4 label"
    toolkit_shot(alice, "toolkit-chat-files-note")
    toolkit_shot(customer, "toolkit-widget-files")

    # Search finds the chat by words the customer wrote, and opens it.
    customer.get_by_label("Message").fill("The heel came off the left boot.")
    customer.keyboard.press("Enter")
    expect(alice.locator(".transcript .msg-customer .msg-body").last).to_have_text(
        "The heel came off the left boot."
    )
    alice.get_by_role("button", name="Search").click()
    alice.get_by_role("searchbox", name="Search").fill("heel")
    alice.get_by_role("searchbox", name="Search").press("Enter")
    result = alice.locator(".search-results .result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("My boots have not arrived yet.")
    toolkit_shot(alice, "toolkit-search")
    result.click()
    expect(alice.locator(".conv-head h1")).to_have_text("Ann Lee")

    # The customer card: create the profile; the history panel is there.
    alice.get_by_role("button", name="Create profile").click()
    alice.get_by_label("Phone").fill("+44 20 7946 0000")
    alice.get_by_label("Custom attributes").fill("tier = gold")
    alice.get_by_role("button", name="Save").click()
    expect(alice.locator(".customer-card")).to_contain_text("+44 20 7946 0000")
    expect(alice.locator(".customer-card")).to_contain_text("gold")
    toolkit_shot(alice, "toolkit-customer")

    # A customer found by search opens its profile, and its history opens the chat.
    alice.get_by_role("button", name="Search").click()
    alice.get_by_role("searchbox", name="Search").fill("Ann")
    alice.get_by_role("searchbox", name="Search").press("Enter")
    alice.locator(".search-results button.result-customer", has_text="Ann Lee").click()
    profile = alice.locator("dialog .customer-profile")
    expect(profile.locator(".customer-card")).to_contain_text("+44 20 7946 0000")
    past = profile.get_by_role("button", name="My boots have not arrived yet.")
    expect(past).to_be_enabled()
    toolkit_shot(alice, "toolkit-search-customer")
    alice.locator(".conv-head h1").evaluate("el => el.textContent = ''")
    past.click()
    expect(profile).to_have_count(0)
    expect(alice.locator(".conv-head h1")).to_have_text("Ann Lee")


def test_case_view_and_transfer_with_a_note(chromium: Browser, site: Site) -> None:
    alice = sign_in(chromium, site, "alice")
    bob = sign_in(chromium, site, "bob")
    set_presence(alice, "available")
    r = site.api.post(
        "/cases",
        headers=site.auth("integration"),
        json={
            "channel_id": "case",
            "queue_id": "cases",
            "subject": "Kettle lid cracked",
            "description": "The lid cracked on first use.",
            "customer_name": "Maya Lopez",
            "customer_email": "maya@customer.test",
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(alice.locator(".case-ref").first).to_have_text(case["reference"])
    alice.get_by_label("Priority").select_option("urgent")
    expect(alice.get_by_text("Case updated.")).to_be_visible()
    alice.get_by_text("Add an internal note").click()
    alice.get_by_label("Internal note").fill("Courier collects the kettle on Friday")
    alice.get_by_role("button", name="Add note").click()
    expect(alice.locator(".thread .note")).to_contain_text("Courier collects the kettle")
    toolkit_shot(alice, "toolkit-case")

    # An email reply from the case carries a file (no relay here: it is kept as not sent).
    alice.locator("#case-file").set_input_files(
        {"name": "label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 case label"}
    )
    expect(alice.locator(".composer-email .attachments.pending")).to_contain_text("label.pdf")
    alice.locator("#case-reply").fill("Your return label is attached.")
    alice.get_by_role("button", name="Send email").click()
    sent = alice.locator(".thread .mail-outbound", has_text="Your return label is attached.")
    expect(sent.locator("a", has_text="label.pdf")).to_be_visible()
    assert site.api.get(f"/cases/{case['id']}", headers=site.auth("admin")).json()["priority"] == (
        "urgent"
    )

    # A chat handed over to Bob with a note: the dialog shows queue waits, his card the note.
    chat = site.api.post(
        "/interactions",
        headers=site.auth("integration"),
        json={"channel_id": "chat", "queue_id": "support", "customer_name": "Ann Lee"},
    ).json()
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(alice.locator(".conv-head h1")).to_have_text("Ann Lee")
    set_presence(bob, "available")
    alice.get_by_role("button", name="Transfer…").click()
    dialog = alice.get_by_role("dialog", name="Transfer")
    dialog.get_by_role("radio", name="Bob").check()
    dialog.get_by_label("Handover note").fill("Wants a refund for order 1042")
    dialog.get_by_text("A queue").click()
    expect(dialog.locator(".queue-waiting").first).to_contain_text("waiting")
    toolkit_shot(alice, "toolkit-transfer-dialog")
    dialog.get_by_text("An agent").click()
    dialog.get_by_role("button", name="Start transfer").click()
    card = bob.locator(".offer-card")
    expect(card.locator(".handover")).to_contain_text("Transfer from Alice")
    expect(card.locator(".handover-note")).to_contain_text("Wants a refund for order 1042")
    toolkit_shot(bob, "toolkit-transfer-offer")
    assert chat["id"]
