"""In Chromium: a follow-up email arriving live through the demo mailbox, /docs with no
network, and the supervisor's queue table at 1,440 px in the browser's own time format."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.conftest import PASSWORD, Site, running_site, shot, sign_in
from tests.browser.test_workspace import create_chat, set_presence
from tests.procs import free_port

SUPPORT = "support@omniroute.test"
RENDER_MS = 90_000


@pytest.fixture
def demo_mail_site(tmp_path: Path) -> Iterator[tuple[Site, int]]:
    """Email on, and replies caught by the demo mailbox's relay."""
    smtp_port, relay_port = free_port(), free_port()
    env = {
        "OMNIROUTE_EMAIL_ENABLED": "1",
        "OMNIROUTE_SMTP_LISTEN_PORT": str(smtp_port),
        "OMNIROUTE_EMAIL_QUEUE_ID": "support",
        "OMNIROUTE_EMAIL_FROM_ADDRESS": SUPPORT,
        "OMNIROUTE_SMTP_RELAY_HOST": "127.0.0.1",
        "OMNIROUTE_SMTP_RELAY_PORT": str(relay_port),
        "OMNIROUTE_DEMO_MAILBOX_PORT": str(relay_port),
        "OMNIROUTE_DEMO_MAILBOX_DIR": str(tmp_path / "demo-mail"),
    }
    with running_site(tmp_path, env) as site:
        yield site, smtp_port


def send_mail(port: int) -> None:
    msg = EmailMessage()
    msg["From"] = "Dana Customer <dana@customer.test>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Refund for order 1042"
    msg["Message-ID"] = "<refund-1042@customer.test>"
    msg.set_content("Please refund order 1042, the jacket was too small.")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as client:
        client.send_message(msg)


def test_a_follow_up_email_appears_live_marked_new(
    chromium: Browser, demo_mail_site: tuple[Site, int]
) -> None:
    site, smtp_port = demo_mail_site
    alice = sign_in(chromium, site, "alice")
    set_presence(alice, "available")
    send_mail(smtp_port)
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    thread = alice.locator(".thread .mail")
    expect(thread).to_have_count(1)
    alice.get_by_label("Reply to dana@customer.test").fill("Refunded today, sorry for the size.")
    alice.keyboard.press("Control+Enter")
    expect(thread).to_have_count(2)

    # The operator reads the reply in the demo mailbox and answers as the customer.
    mailbox = alice.context.new_page()
    mailbox.goto(f"{site.url}/demo/mailbox")
    expect(mailbox.get_by_role("heading", name="Demo mailbox")).to_be_visible()
    letter = mailbox.get_by_role("link", name=re.compile("Re: Refund for order 1042"))
    expect(letter).to_have_count(1)
    expect(letter).not_to_contain_text("UTC")
    shot(mailbox, "demo-mailbox")
    letter.click()
    expect(mailbox.locator(".body")).to_contain_text("Refunded today")
    mailbox.get_by_label("Your answer").fill("Thank you! Received it.")
    shot(mailbox, "demo-mailbox-letter")
    mailbox.get_by_role("button", name=re.compile("^Send as")).click()
    expect(mailbox.get_by_role("status")).to_have_text("Your answer was sent to Omniroute.")

    # No reload: the follow-up shows in the open thread, marked new.
    expect(thread).to_have_count(3)
    expect(thread.nth(2)).to_contain_text("Thank you! Received it.")
    expect(thread.nth(2).locator(".pill-new")).to_have_text("New")
    shot(alice, "workspace-email-follow-up-live")
    thread.nth(2).click()
    expect(alice.locator(".pill-new")).to_have_count(0)


def test_docs_render_with_the_network_blocked(chromium: Browser, site: Site) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(f"{site.url}/docs")
    # Rendering the whole OpenAPI document is CPU-bound: 25 s was seen on a loaded 2-core host.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Omniroute", timeout=RENDER_MS)
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=RENDER_MS)
    shot(page, "docs-offline")
    page.goto(f"{site.url}/redoc")
    expect(page.locator("body")).to_contain_text(
        "Download OpenAPI specification", timeout=RENDER_MS
    )
    expect(page.locator("body")).to_contain_text("Omniroute (0.1.0)")
    assert outside == []


def test_supervisor_queue_table_fits_at_1440_in_the_browsers_time_format(
    chromium: Browser, site: Site
) -> None:
    for n in range(4):
        r = site.api.post(
            "/queues",
            headers=site.auth("admin"),
            json={
                "id": f"region-{n}",
                "name": f"Returns and exchanges, region {n}",
                "channels": ["chat"],
                "rule_id": "standard",
            },
        )
        assert r.status_code == 201, r.text
    create_chat(site, "Maya Lopez", "Parcel")
    context = chromium.new_context(
        viewport={"width": 1440, "height": 900}, locale="en-US", timezone_id="America/New_York"
    )
    page = context.new_page()
    page.goto(f"{site.url}/supervisor")
    page.get_by_label("Email").fill("carol@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.locator("#live")).to_have_text("Live")
    table = page.locator("table.queues")
    expect(table.locator("tbody tr", has_text="region 3")).to_have_count(1)
    fits = page.evaluate(
        "(() => { const t = document.querySelector('table.queues');"
        " return t.scrollWidth <= t.parentElement.clientWidth; })()"
    )
    assert fits
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    # en-US in New York: a 12-hour clock, and no UTC anywhere.
    expect(page.locator("#updated")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2} [AP]M$"))
    shot(page, "supervisor-1440")
