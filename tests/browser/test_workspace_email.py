"""An email thread in the workspace: SMTP in, reject, accept, reply out, transfers, wrap-up."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, running_site, shot, sign_in
from tests.browser.test_workspace import interaction, set_presence
from tests.channels.test_email import Recorder
from tests.procs import free_port

SUPPORT = "support@omniroute.test"


@pytest.fixture
def relay() -> Iterator[tuple[Controller, Recorder]]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.fixture
def mail_site(tmp_path: Path, relay: tuple[Controller, Recorder]) -> Iterator[tuple[Site, int]]:
    smtp_port = free_port()
    env = {
        "OMNIROUTE_EMAIL_ENABLED": "1",
        "OMNIROUTE_SMTP_LISTEN_PORT": str(smtp_port),
        "OMNIROUTE_EMAIL_QUEUE_ID": "support",
        "OMNIROUTE_EMAIL_FROM_ADDRESS": SUPPORT,
        "OMNIROUTE_SMTP_RELAY_HOST": "127.0.0.1",
        "OMNIROUTE_SMTP_RELAY_PORT": str(relay[0].port),
    }
    with running_site(tmp_path, env) as site:
        yield site, smtp_port


def send_mail(port: int, subject: str, body: str) -> str:
    msg = EmailMessage()
    msg["From"] = "Dana Customer <dana@customer.test>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = "<order-1234@customer.test>"
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as client:
        client.send_message(msg)
    return "<order-1234@customer.test>"


def wait_for(predicate: object, what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_email_thread_reject_accept_reply_transfer_wrap_up(
    chromium: Browser, mail_site: tuple[Site, int], relay: tuple[Controller, Recorder]
) -> None:
    site, smtp_port = mail_site
    alice = sign_in(chromium, site, "alice")
    bob = sign_in(chromium, site, "bob")
    carol = sign_in(chromium, site, "carol")
    set_presence(alice, "available")
    message_id = send_mail(smtp_port, "Order 1234 arrived broken", "The mug was in pieces.")

    card = alice.locator(".offer-card")
    expect(card.locator(".badge")).to_have_text("Email")
    expect(card.locator(".card-customer")).to_have_text("Dana Customer")
    card.get_by_role("button", name="Reject").click()
    dialog = alice.get_by_role("dialog", name="Reject this offer?")
    # The email channel has a reason of its own besides the shared ones.
    expect(dialog.get_by_label("Reason").locator("option")).to_have_text(
        ["Choose a reason…", "Busy", "Email only", "Wrong skill"]
    )
    dialog.get_by_label("Reason").select_option("wrong")
    dialog.get_by_role("button", name="Reject offer").click()
    expect(card).to_have_count(0)

    set_presence(bob, "available")
    bob.locator(".offer-card").get_by_role("button", name="Accept").click()
    thread = bob.locator(".thread .mail")
    expect(thread).to_have_count(1)
    expect(thread.first).to_contain_text("The mug was in pieces.")
    expect(thread.first.locator(".mail-head strong")).to_have_text("dana@customer.test")
    bob.get_by_label("Reply to dana@customer.test").fill("Sorry! A new mug is on its way.")
    bob.locator("#email-file").set_input_files(
        {"name": "label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 mug label"}
    )
    expect(bob.locator(".composer-email .attachments.pending")).to_contain_text("label.pdf")
    shot(bob, "workspace-email-thread")
    bob.get_by_role("button", name="Send reply").click()
    expect(thread).to_have_count(2)
    expect(thread.nth(1)).to_contain_text("A new mug is on its way.")
    expect(thread.nth(1).locator(".mail-head strong")).to_have_text("You")
    recorder = relay[1]
    wait_for(lambda: recorder.envelopes, "the reply at the relay")
    content = recorder.envelopes[0].original_content
    assert content is not None
    sent = BytesParser(policy=policy.default).parsebytes(content)
    assert sent["In-Reply-To"] == message_id
    assert sent["Subject"] == "Re: Order 1234 arrived broken"
    assert [a.get_filename() for a in sent.iter_attachments()] == ["label.pdf"]
    expect(bob.locator(".composer-email .attachments.pending li")).to_have_count(0)

    # Transfer to Carol, cancelled; then to the queue, where Alice accepts it.
    set_presence(carol, "available")
    bob.get_by_role("button", name="Transfer…").click()
    dialog = bob.get_by_role("dialog", name="Transfer")
    dialog.get_by_role("radio", name="Carol").check()
    dialog.get_by_role("button", name="Start transfer").click()
    expect(carol.locator(".offer-card .badge")).to_have_text("Email")
    bob.get_by_role("button", name="Cancel transfer").click()
    expect(carol.locator(".offer-card")).to_have_count(0)
    set_presence(carol, "away")
    bob.get_by_role("button", name="Transfer…").click()
    dialog = bob.get_by_role("dialog", name="Transfer")
    dialog.get_by_text("A queue").click()
    dialog.get_by_role("radio", name="support").check()
    dialog.get_by_role("button", name="Start transfer").click()
    alice.locator(".offer-card").get_by_role("button", name="Accept").click()
    expect(alice.locator(".thread .mail")).to_have_count(2)
    expect(bob.locator(".work-row")).to_have_count(0)

    alice.get_by_role("button", name="End", exact=True).click()
    alice.get_by_label("Wrap-up code").select_option("follow-up")
    alice.get_by_role("button", name="Submit wrap-up").click()
    expect(alice.locator(".work-row")).to_have_count(0)
    [row] = site.api.get(
        "/interactions", headers=site.auth("admin"), params={"agent_id": "alice"}
    ).json()
    done = interaction(site, row["id"])
    assert (done["state"], done["wrap_up_code_id"]) == ("closed_complete", "follow-up")
