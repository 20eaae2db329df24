"""The chat widget outside business hours: closed, its message, and a message left by email."""

from __future__ import annotations

from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_escalation_api import calendar, configure, later
from tests.channels.chat_helpers import add_widget

ORIGIN = {"Origin": "https://shop.example.com"}
CLOSED = "We are closed. Leave us a message and we will email you."


async def test_widget_says_when_support_is_closed(api: Api) -> None:
    await add_widget(api.client)
    # Thursday 1 January 2026, 00:00 UTC; open 09:00-17:00.
    await calendar(api, weekly={"thu": ["09:00-17:00"]})
    await configure(
        api,
        "support",
        calendar_id="office",
        out_of_hours_action="answer",
        out_of_hours_message=CLOSED,
    )
    r = await api.client.get("/chat/widgets/shop", headers=ORIGIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["open"], body["takes_messages"], body["offline_message"]) == (False, True, CLOSED)
    assert body["next_change"] == "2026-01-01T09:00:00Z"
    r = await api.client.post(
        "/chat/offline-messages",
        json={"widget": "shop", "name": "Eve", "email": "eve@example.com", "question": "Refund?"},
        headers=ORIGIN,
    )
    assert r.status_code == 201, r.text
    interaction_id = r.json()["interaction_id"]
    r = await api.client.get(f"/interactions/{interaction_id}", headers=api.auth("admin"))
    filed = r.json()
    assert (filed["channel_id"], filed["customer_email"], filed["subject"]) == (
        "email",
        "eve@example.com",
        "Refund?",
    )
    r = await api.client.post(
        "/chat/offline-messages",
        json={"widget": "shop", "name": "Eve", "email": "not-an-email", "question": "x"},
        headers=ORIGIN,
    )
    error(r, 422, "VALIDATION_ERROR", "email")
    await later(api, 9 * 3600)
    r = await api.client.get("/chat/widgets/shop", headers=ORIGIN)
    body = r.json()
    assert (body["open"], body["takes_messages"], body["offline_message"]) == (True, False, None)
    assert body["next_change"] == "2026-01-01T17:00:00Z"
