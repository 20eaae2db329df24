"""Demo mode's email round trip: replies caught by the local relay, answered from its page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import Api, api
from tests.channels.test_email import RELAY_PORT, Mail, interactions, mail_app, message

__all__ = ["api"]


@pytest.fixture
async def demo(db_url: str, tmp_path: Path) -> AsyncIterator[Mail]:
    """An app whose replies go to the demo mailbox, the relay's port."""
    async with mail_app(
        db_url, demo_mailbox_port=RELAY_PORT, demo_mailbox_dir=str(tmp_path / "mail")
    ) as m:
        yield m


async def feed_events(mail: Mail, agent_id: str, kind: str) -> list[dict[str, object]]:
    db: Database = mail.api.app.state.db
    async with db.session() as s:
        rows = await s.scalars(
            select(t.AgentEventRow)
            .where(t.AgentEventRow.agent_id == agent_id, t.AgentEventRow.type == kind)
            .order_by(t.AgentEventRow.seq)
        )
        return [r.payload for r in rows]


async def test_reply_lands_in_the_mailbox_and_the_customers_answer_comes_back_live(
    demo: Mail, tmp_path: Path
) -> None:
    api = demo.api
    await api.client.put(
        "/agents/alice/presence", json={"presence_id": "available"}, headers=api.auth("alice")
    )
    await demo.send(message("<m1@customer.test>", subject="Refund please"))
    [inter] = await interactions(api)
    offers = (await demo.get("alice", "/agents/alice/offers")).json()
    await demo.post("alice", f"/offers/{offers[0]['id']}/accept")
    r = await demo.post("alice", f"/interactions/{inter['id']}/email-replies", {"body": "Done!"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "sent"

    page = await api.client.get("http://test/demo/mailbox")
    assert page.status_code == 200
    assert "Re: Refund please" in page.text
    assert "dana@customer.test" in page.text
    [name] = re.findall(r'href="/demo/mailbox/([^"]+)"', page.text)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    letter = await api.client.get(f"http://test/demo/mailbox/{name}")
    assert "Done!" in letter.text

    empty = await api.client.post(f"http://test/demo/mailbox/{name}/reply", data={"body": " "})
    assert empty.status_code == 422
    assert "Write an answer" in empty.text
    sent = await api.client.post(
        f"http://test/demo/mailbox/{name}/reply", data={"body": "Thanks, got it."}
    )
    assert sent.status_code == 303
    emails = (await demo.get("alice", f"/interactions/{inter['id']}/emails")).json()
    assert [e["direction"] for e in emails] == ["in", "out", "in"]
    assert emails[-1]["text_body"].strip() == "Thanks, got it."
    [event] = await feed_events(demo, "alice", "email.received")
    assert event["interaction_id"] == inter["id"]
    assert event["email_message_id"] == emails[-1]["id"]


async def test_mailbox_refuses_names_outside_its_folder(demo: Mail, tmp_path: Path) -> None:
    (tmp_path / "secret.eml").write_text("Subject: secret\n\nno")
    bad = await demo.api.client.get("http://test/demo/mailbox/..%2Fsecret.eml")
    assert bad.status_code == 404


async def test_mailbox_pages_are_absent_without_the_demo_relay(api: Api) -> None:
    r = await api.client.get("http://test/demo/mailbox")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


async def test_first_mail_of_a_thread_raises_no_follow_up_event(demo: Mail) -> None:
    await demo.send(message("<n1@customer.test>"))
    assert await feed_events(demo, "alice", "email.received") == []
