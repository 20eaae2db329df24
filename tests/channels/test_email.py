"""The email channel over real SMTP on 127.0.0.1: inbound threading, replies, failures."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from omniroute.api.app import create_app
from omniroute.config import Settings
from omniroute.engine.clock import ManualClock
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import Api, seed_api
from tests.conftest import reset_schema
from tests.seed import NOW

CUSTOMER = "Dana Customer <dana@customer.test>"
# Stands for the relay's port in mail_app's extra settings.
RELAY_PORT = object()
SUPPORT = "support@omniroute.test"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Recorder:
    """A relay that records what it was handed."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Record and accept."""
        self.envelopes.append(envelope)
        return "250 OK"


@dataclass
class Mail:
    """The app, its SMTP listener port and the test relay."""

    api: Api
    port: int
    relay_port: int
    recorder: Recorder
    relay: Controller | None = None

    async def start_relay(self) -> None:
        """Start the relay."""
        self.relay = Controller(
            self.recorder, hostname="127.0.0.1", port=self.relay_port, server_hostname="relay"
        )
        await asyncio.to_thread(self.relay.start)

    async def stop_relay(self) -> None:
        """Stop the relay."""
        if self.relay is not None:
            await asyncio.to_thread(self.relay.stop)
            self.relay = None

    async def send(self, msg: EmailMessage | bytes) -> tuple[int, str]:
        """Deliver a message to the listener; the SMTP reply code and text."""
        raw = msg if isinstance(msg, bytes) else msg.as_bytes()

        def deliver() -> tuple[int, str]:
            with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test") as c:
                try:
                    c.sendmail("dana@customer.test", [SUPPORT], raw)
                except smtplib.SMTPResponseException as err:
                    text = err.smtp_error
                    return err.smtp_code, text.decode() if isinstance(text, bytes) else text
                return 250, "OK"

        return await asyncio.to_thread(deliver)

    async def get(self, who: str, path: str) -> httpx.Response:
        """GET as a seeded token."""
        return await self.api.client.get(path, headers=self.api.auth(who))

    async def post(self, who: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """POST as a seeded token."""
        return await self.api.client.post(path, json=body, headers=self.api.auth(who))

    async def rows(self) -> list[t.EmailMessageRow]:
        """Every stored email message."""
        db: Database = self.api.app.state.db
        async with db.session() as s:
            m = t.EmailMessageRow
            return list(await s.scalars(select(m).order_by(m.received_at, m.id)))


@asynccontextmanager
async def mail_app(db_url: str, **extra: Any) -> AsyncIterator[Mail]:
    """An app with the SMTP listener on a free port, a queue for email and a relay port."""
    db = Database(db_url)
    await reset_schema(db)
    await seed_api(db)
    await db.dispose()
    port, relay_port = free_port(), free_port()
    values: dict[str, Any] = {
        "database_url": db_url,
        "demo": True,
        "email_enabled": True,
        "smtp_listen_port": port,
        "email_queue_id": "support",
        "email_from_address": SUPPORT,
        "email_max_bytes": 64 * 1024,
        "smtp_relay_host": "127.0.0.1",
        "smtp_relay_port": relay_port,
        "smtp_relay_timeout_s": 5,
    }
    values |= {k: relay_port if v is RELAY_PORT else v for k, v in extra.items()}
    settings = Settings.model_validate(values)
    clock = ManualClock(NOW)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            yield Mail(Api(c, app, clock), port, relay_port, Recorder())


@pytest.fixture
async def mail(db_url: str) -> AsyncIterator[Mail]:
    """An app with the SMTP listener and a recording relay."""
    async with mail_app(db_url) as m:
        await m.start_relay()
        try:
            yield m
        finally:
            await m.stop_relay()


def message(
    message_id: str, subject: str = "My order is late", body: str = "Where is it?", **extra: str
) -> EmailMessage:
    """A customer's message."""
    msg = EmailMessage()
    msg["From"] = CUSTOMER
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    for name, value in extra.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


async def go_available(api: Api, agent: str) -> None:
    """Make an agent available."""
    r = await api.client.put(
        f"/agents/{agent}/presence", json={"presence_id": "available"}, headers=api.auth(agent)
    )
    assert r.status_code == 200, r.text


async def interactions(api: Api) -> list[dict[str, Any]]:
    """Every interaction."""
    r = await api.client.get("/interactions", headers=api.auth("admin"))
    result: list[dict[str, Any]] = r.json()
    return result


async def accept_and_close(api: Api, agent: str, interaction_id: str) -> None:
    """Accept the agent's offer and end the interaction with a final code."""
    offers = (await api.client.get(f"/agents/{agent}/offers", headers=api.auth(agent))).json()
    r = await api.client.post(f"/offers/{offers[0]['id']}/accept", headers=api.auth(agent))
    assert r.status_code == 200, r.text
    r = await api.client.post(
        f"/interactions/{interaction_id}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=api.auth(agent),
    )
    assert r.json()["state"] == "closed_complete", r.text


async def test_a_silent_sender_is_hung_up_on(db_url: str) -> None:
    async with mail_app(db_url, smtp_timeout_s=0.5) as m:

        def silent() -> bytes:
            with socket.create_connection(("127.0.0.1", m.port), timeout=10) as sock:
                received = b""
                while chunk := sock.recv(4096):  # until the listener closes (bounded above)
                    received += chunk
                return received

        said = await asyncio.to_thread(silent)
    # Closed after the greeting, long before the socket's own 10 s (the default waits 300 s).
    assert said.startswith(b"220")
    assert said.count(b"\r\n") == 1


async def test_the_listener_serves_so_many_connections_at_once(db_url: str) -> None:
    async with mail_app(db_url, smtp_max_connections=2) as m:

        def greeting(sock: socket.socket) -> bytes:
            return sock.recv(4096)  # the greeting is one short line

        def connect() -> socket.socket:
            return socket.create_connection(("127.0.0.1", m.port), timeout=10)

        def crowd() -> tuple[list[bytes], bytes, bytes]:
            first, second = connect(), connect()
            served = [greeting(first), greeting(second)]
            with connect() as third:
                refused = greeting(third) + third.recv(4096)  # then closed: b""
            first.close()
            # The place is freed once the listener's loop saw the close: poll, bounded.
            deadline = time.monotonic() + 10
            while True:
                with connect() as again:
                    said = greeting(again)
                if said.startswith(b"220") or time.monotonic() > deadline:
                    break
            second.close()
            return served, refused, said

        served, refused, later = await asyncio.to_thread(crowd)
    assert all(line.startswith(b"220") for line in served)
    assert refused == b"421 4.7.0 Too many connections, try again later\r\n"
    assert later.startswith(b"220")


async def test_new_mail_creates_case_and_routed_interaction(mail: Mail) -> None:
    await go_available(mail.api, "alice")
    assert await mail.send(message("<m1@customer.test>")) == (250, "OK")
    [inter] = await interactions(mail.api)
    assert inter["channel_id"] == "email"
    assert inter["customer_email"] == "dana@customer.test"
    assert inter["customer_name"] == "Dana Customer"
    assert inter["subject"] == "My order is late"
    case = (await mail.get("admin", f"/cases/{inter['case_id']}")).json()
    assert case["subject"] == "My order is late"
    offers = (await mail.get("alice", "/agents/alice/offers")).json()
    assert len(offers) == 1
    [row] = await mail.rows()
    assert (row.status, row.direction, row.interaction_id) == ("accepted", "in", inter["id"])
    assert row.text_body is not None
    assert "Where is it?" in row.text_body


async def test_reply_threads_into_open_interaction(mail: Mail) -> None:
    await mail.send(message("<m1@customer.test>"))
    reply = message(
        "<m2@customer.test>",
        subject="Re: My order is late",
        body="Any news?",
        In_Reply_To="<m1@customer.test>",
        References="<m1@customer.test>",
    )
    assert (await mail.send(reply))[0] == 250
    [inter] = await interactions(mail.api)
    first, second = await mail.rows()
    assert second.interaction_id == first.interaction_id == inter["id"]
    assert second.case_id == first.case_id == inter["case_id"]
    r = await mail.get("admin", f"/interactions/{inter['id']}/emails")
    assert [e["message_id"] for e in r.json()] == ["<m1@customer.test>", "<m2@customer.test>"]
    # Bob never worked on it: the bodies are not his to read.
    assert (await mail.get("bob", f"/interactions/{inter['id']}/emails")).status_code == 403


async def test_reply_after_close_opens_new_interaction_on_same_case(mail: Mail) -> None:
    await go_available(mail.api, "alice")
    await mail.send(message("<m1@customer.test>"))
    [first] = await interactions(mail.api)
    await accept_and_close(mail.api, "alice", first["id"])
    await mail.send(message("<m3@customer.test>", References="<x@y> <m1@customer.test>"))
    inters = await interactions(mail.api)
    assert len(inters) == 2
    second = next(i for i in inters if i["id"] != first["id"])
    assert second["case_id"] == first["case_id"]
    assert second["state"] in ("on_hold", "new")
    r = await mail.get("alice", "/agents/alice/offers")
    assert len(r.json()) == 1


async def test_duplicate_message_id_creates_nothing(mail: Mail) -> None:
    await mail.send(message("<dup@customer.test>"))
    assert (await mail.send(message("<dup@customer.test>")))[0] == 250
    assert len(await interactions(mail.api)) == 1
    assert len(await mail.rows()) == 1


async def test_attachments_kept_and_downloadable(mail: Mail) -> None:
    msg = message("<att@customer.test>")
    pdf = b"%PDF-1.4 invoice"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="invoice.pdf")
    await mail.send(msg)
    [inter] = await interactions(mail.api)
    r = await mail.get("admin", f"/interactions/{inter['id']}/emails")
    [email_out] = r.json()
    [att] = email_out["attachments"]
    assert att["filename"] == "invoice.pdf"
    assert (att["content_type"], att["size"]) == ("application/pdf", 16)
    r = await mail.get("admin", f"/email-attachments/{att['id']}")
    assert r.status_code == 200
    assert r.content == b"%PDF-1.4 invoice"
    assert r.headers["content-type"] == "application/pdf"


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (b"To: support@omniroute.test\r\nSubject: who?\r\n\r\nno sender\r\n", 550, "From"),
        (
            b"From: dana@customer.test\r\nSubject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 1000,
            552,
            "limit",
        ),
    ],
)
async def test_malformed_mail_stored_as_rejected(
    mail: Mail, raw: bytes, code: int, reason: str
) -> None:
    got, text = await mail.send(raw)
    assert got == code
    assert reason in text
    [row] = await mail.rows()
    assert row.status == "rejected"
    assert row.reject_reason is not None
    assert reason in row.reject_reason
    assert row.raw_size >= len(raw) - 2
    assert await interactions(mail.api) == []


async def _assigned_interaction(mail: Mail) -> str:
    await go_available(mail.api, "alice")
    await mail.send(message("<m1@customer.test>", References="<m0@customer.test>"))
    [inter] = await interactions(mail.api)
    offers = (await mail.get("alice", "/agents/alice/offers")).json()
    await mail.post("alice", f"/offers/{offers[0]['id']}/accept")
    return str(inter["id"])


async def test_agent_reply_goes_out_through_relay_threaded(mail: Mail) -> None:
    inter_id = await _assigned_interaction(mail)
    r = await mail.post(
        "alice",
        f"/interactions/{inter_id}/email-replies",
        {"body": "It ships today.", "html": "<p>It ships today.</p>"},
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["status"], out["direction"]) == ("sent", "out")
    [env] = mail.recorder.envelopes
    assert env.rcpt_tos == ["dana@customer.test"]
    assert env.original_content is not None
    sent = BytesParser(policy=policy.default).parsebytes(env.original_content)
    assert sent["In-Reply-To"] == "<m1@customer.test>"
    assert str(sent["References"]).split() == ["<m0@customer.test>", "<m1@customer.test>"]
    assert str(sent["Message-ID"]).endswith("@omniroute.test>")
    assert sent["Subject"] == "Re: My order is late"
    r = await mail.post("bob", f"/interactions/{inter_id}/email-replies", {"body": "x"})
    assert r.status_code == 403


async def test_relay_down_fails_visibly_and_retry_sends(mail: Mail) -> None:
    inter_id = await _assigned_interaction(mail)
    await mail.stop_relay()
    r = await mail.post("alice", f"/interactions/{inter_id}/email-replies", {"body": "Sorry!"})
    assert r.status_code == 502
    error = r.json()["error"]
    assert error["code"] == "EMAIL_RELAY_FAILED"
    msg_id = error["email_message_id"]
    emails = (await mail.get("alice", f"/interactions/{inter_id}/emails")).json()
    failed = next(e for e in emails if e["id"] == msg_id)
    assert failed["status"] == "failed"
    assert failed["error"]
    await mail.start_relay()
    r = await mail.post("alice", f"/email-messages/{msg_id}/retry")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "sent"
    assert r.json()["attempts"] == 2
    [env] = mail.recorder.envelopes
    assert env.original_content is not None
    assert (
        BytesParser(policy=policy.default).parsebytes(env.original_content)["Message-ID"]
        == failed["message_id"]
    )
    r = await mail.post("alice", f"/email-messages/{msg_id}/retry")
    assert r.status_code == 409


async def test_out_of_hours_mail_gets_the_queues_answer_once(mail: Mail) -> None:
    closed = "We are closed until Monday 09:00; we will answer then."
    r = await mail.post("admin", "/calendars", {"id": "office", "name": "Office", "tz": "UTC"})
    assert r.status_code == 201, r.text
    r = await mail.api.client.patch(
        "/queues/support",
        json={
            "calendar_id": "office",
            "out_of_hours_action": "answer",
            "out_of_hours_message": closed,
        },
        headers=mail.api.auth("admin"),
    )
    assert r.status_code == 200, r.text
    await go_available(mail.api, "alice")
    assert await mail.send(message("<late1@customer.test>")) == (250, "OK")
    [env] = mail.recorder.envelopes
    assert env.rcpt_tos == ["dana@customer.test"]
    assert env.original_content is not None
    sent = BytesParser(policy=policy.default).parsebytes(env.original_content)
    assert sent["In-Reply-To"] == "<late1@customer.test>"
    assert sent["Subject"] == "Re: My order is late"
    assert closed in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The mail waits for the next opening: nobody is offered it now.
    assert (await mail.get("alice", "/agents/alice/offers")).json() == []
    # A reply in the same thread gets no second answer.
    reply = message("<late2@customer.test>", In_Reply_To="<late1@customer.test>")
    assert await mail.send(reply) == (250, "OK")
    assert len(mail.recorder.envelopes) == 1
