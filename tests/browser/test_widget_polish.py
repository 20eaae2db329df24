"""The chat widget in Chromium: the customer's language, a prompt reconnect, the ended footer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_chat_widget import ChatSite, chat_site, eventually, shot
from tests.channels.chat_helpers import auth

__all__ = ["chat_site"]


def start_chat(page: Page, name: str, email: str, question: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("How can we help?").fill(question)
    page.get_by_role("button", name="Start chat").click()
    expect(page.get_by_text(question)).to_be_visible()


def accept_offer(api: httpx.Client) -> str:
    offers = eventually(
        lambda: api.get("/agents/alice/offers", headers=auth("alice")).json(), "the offer"
    )
    item = api.get(f"/work-items/{offers[0]['work_item_id']}", headers=auth("admin")).json()
    r = api.post(f"/offers/{offers[0]['id']}/accept", headers=auth("alice"))
    assert r.status_code == 200, r.text
    return str(item["document_id"])


def test_widget_speaks_the_customers_language(chat_site: ChatSite, chromium: Browser) -> None:
    context = chromium.new_context(
        locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1200, "height": 800}
    )
    page = context.new_page()
    page.goto(f"{chat_site.server.base_url}/widget/demo")
    launcher = page.get_by_role("button", name="Discuter avec nous : Northwind Outfitters")
    launcher.click()
    expect(page.get_by_label("Votre nom")).to_be_focused()
    page.get_by_role("button", name="Commencer la discussion").click()
    expect(page.get_by_text("Indiquez votre nom.")).to_be_visible()
    shot(page, "chat-widget-french")
    r = httpx.get(f"{chat_site.server.api_url}/chat/texts", params={"languages": "pt-BR,de;q=0.8"})
    assert r.json()["language"] == "de"
    english = httpx.get(f"{chat_site.server.api_url}/chat/texts", params={"languages": "xx"})
    assert english.json()["language"] == "en"
    assert set(r.json()["texts"]) == set(english.json()["texts"])
    closed_in_french(chat_site, page)
    context.close()


def closed_in_french(chat_site: ChatSite, page: Page) -> None:
    """Out of hours the widget says so, and takes a message, in French, in Paris time."""
    api = httpx.Client(base_url=chat_site.server.api_url, timeout=10.0)
    now = datetime.now(UTC)
    opens = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opens.weekday()]
    calendar = {"id": "office", "name": "Office", "tz": "UTC", "weekly": {day: ["10:00-11:00"]}}
    r = api.post("/calendars", json=calendar, headers=auth("admin"))
    assert r.status_code == 201, r.text
    hours = {"calendar_id": "office", "out_of_hours_action": "answer"}
    r = api.patch("/queues/support", json=hours, headers=auth("admin"))
    assert r.status_code == 200, r.text
    page.reload()
    launcher = page.get_by_role("button", name="Discuter avec nous : Northwind Outfitters")
    expect(launcher).to_contain_text("Laissez-nous un message")
    launcher.click()
    expect(
        page.get_by_text("Nous sommes fermés pour le moment. Laissez votre e-mail")
    ).to_be_visible()
    local = opens.astimezone(ZoneInfo("Europe/Paris"))
    weekday = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")[local.weekday()]
    expect(page.locator("#omniroute-chat-demo").locator("#status")).to_have_text(
        f"Nous sommes fermés pour le moment · réouverture {weekday} {local:%H:%M}"
    )
    page.get_by_label("Votre nom").fill("Anne Roy")
    page.get_by_label("E-mail").fill("anne@example.com")
    page.get_by_label("Comment pouvons-nous vous aider ?").fill("Livrez-vous en Norvège ?")
    shot(page, "chat-widget-closed-french")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("Merci — nous avons bien reçu votre message")).to_be_visible()


def test_widget_reconnects_promptly_and_keeps_the_end_in_view(
    chat_site: ChatSite, chromium: Browser
) -> None:
    server = chat_site.server
    api = httpx.Client(base_url=server.api_url, timeout=10.0)
    api.put("/agents/alice/presence", json={"presence_id": "available"}, headers=auth("alice"))
    page = chromium.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{server.base_url}/widget/demo")
    page.get_by_role("button", name="Chat with us: Northwind Outfitters").click()
    start_chat(page, "Ann Lee", "ann@example.com", "My boots have not arrived yet.")
    interaction_id = accept_offer(api)
    expect(page.get_by_text("You're chatting with Alice")).to_be_visible()
    expect(page.get_by_role("img", name="Delivered")).to_have_count(1)

    # The server restarts: the banner counts down the next try, then goes once it is back.
    chat_site.restart()
    banner = page.get_by_role("status").filter(has_text="Connection lost")
    expect(banner).to_have_text(re.compile(r"Connection lost\. Reconnecting( in \d s)?…"))
    # Capped backoff: at most 5 s between tries, so it is back well before the old 30 s.
    expect(banner).to_be_hidden(timeout=8_000)
    api = httpx.Client(base_url=chat_site.server.api_url, timeout=10.0)
    path = f"/interactions/{interaction_id}"
    for n in range(12):
        api.post(
            f"{path}/messages", json={"body": f"Update {n} on your order"}, headers=auth("alice")
        )
    expect(page.get_by_text("Update 11 on your order")).to_be_visible()
    page.get_by_label("Message").fill("Thank you, that is all.")
    page.keyboard.press("Enter")
    expect(page.get_by_role("img", name="Delivered")).to_have_count(2)

    r = api.post(f"{path}/end", json={"wrap_up_code_id": "resolved"}, headers=auth("alice"))
    assert r.status_code == 200, r.text
    footer = page.get_by_text("This chat has ended.")
    expect(footer).to_be_visible()
    last = page.get_by_text("Thank you, that is all.")
    expect(last).to_be_in_viewport()
    bubble, end = last.bounding_box(), page.locator("#omniroute-chat-demo .ended").bounding_box()
    log = page.locator("#omniroute-chat-demo .log").bounding_box()
    assert bubble is not None
    assert end is not None
    assert log is not None
    assert bubble["y"] + bubble["height"] <= min(end["y"], log["y"] + log["height"]) + 1
    shot(page, "chat-widget-ended-last-bubble")

    # A new chat keeps the customer's name and email.
    page.get_by_role("button", name="Start a new chat").click()
    expect(page.get_by_label("Your name")).to_have_value("Ann Lee")
    expect(page.get_by_label("Email")).to_have_value("ann@example.com")
    expect(page.get_by_label("How can we help?")).to_be_focused()
    shot(page, "chat-widget-new-chat-remembers")
