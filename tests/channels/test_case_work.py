"""Working a case: reference numbers, status and priority, email replies, the closing email."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from typing import Any

from tests.api.assertions import error
from tests.channels.test_email import Mail, go_available, interactions, mail, message

__all__ = ["mail"]


def _sent(m: Mail, index: int = -1) -> Message:
    content = m.recorder.envelopes[index].content
    assert isinstance(content, bytes)
    return message_from_bytes(content)


async def _accepted_case(m: Mail) -> str:
    """A case from an email; alice accepts its interaction and then the case is routed to her."""
    await go_available(m.api, "alice")
    await m.send(message("<c1@customer.test>", subject="Broken kettle", body="The lid cracked"))
    [inter] = await interactions(m.api)
    case_id: str = inter["case_id"]
    r = await m.post("admin", "/work-items", {"document_id": case_id, "queue_id": "cases"})
    assert r.status_code == 201, r.text
    offers = (await m.get("alice", "/agents/alice/offers")).json()
    offer = next(o for o in offers if o["work_item_id"] == r.json()["id"])
    assert (await m.post("alice", f"/offers/{offer['id']}/accept")).status_code == 200
    return case_id


async def test_case_reference_status_priority(mail: Mail) -> None:
    case_id = await _accepted_case(mail)
    case = (await mail.get("alice", f"/cases/{case_id}")).json()
    assert case["reference"] == f"CS-{case['number']}"
    assert case["number"] >= 1001
    r = await mail.get("alice", f"/cases/{case['reference'].lower()}")
    assert r.json()["id"] == case_id
    r = await mail.api.client.patch(
        f"/cases/{case_id}",
        json={"status": "pending", "priority": "urgent"},
        headers=mail.api.auth("alice"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["priority"]) == ("pending", "urgent")
    bad = await mail.api.client.patch(
        f"/cases/{case_id}", json={"priority": "asap"}, headers=mail.api.auth("alice")
    )
    error(bad, 422, "VALIDATION_ERROR")
    other = await mail.api.client.patch(
        f"/cases/{case_id}", json={"status": "open"}, headers=mail.api.auth("bob")
    )
    error(other, 403, "FORBIDDEN")


async def test_reply_from_case_and_closing_email(mail: Mail) -> None:
    case_id = await _accepted_case(mail)
    reference = (await mail.get("alice", f"/cases/{case_id}")).json()["reference"]
    r = await mail.post(
        "alice", f"/cases/{case_id}/email-replies", {"body": "A new lid is on its way."}
    )
    assert r.status_code == 201, r.text
    sent = _sent(mail)
    assert sent["To"] == "dana@customer.test"
    assert sent["In-Reply-To"] == "<c1@customer.test>"
    error(
        await mail.post("bob", f"/cases/{case_id}/email-replies", {"body": "x"}), 403, "FORBIDDEN"
    )
    r = await mail.post("alice", f"/cases/{case_id}/notes", {"body": "Sent lid by courier"})
    assert r.status_code == 201, r.text
    r = await mail.post("alice", f"/cases/{case_id}/close", {"resolution": "Replaced the lid"})
    assert r.json()["state"] == "closed", r.text
    notice = _sent(mail)
    assert notice["Subject"] == f"Your case {reference} is closed"
    text = notice.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert b"Replaced the lid" in text
    emails = (await mail.get("alice", f"/cases/{case_id}/emails")).json()
    assert [e["direction"] for e in emails] == ["in", "out", "out"]
    assert emails[-1]["status"] == "sent"


async def test_email_reply_carries_attachments(mail: Mail) -> None:
    await go_available(mail.api, "alice")
    await mail.send(message("<a1@customer.test>", subject="Invoice please"))
    [inter] = await interactions(mail.api)
    offers = (await mail.get("alice", "/agents/alice/offers")).json()
    assert (await mail.post("alice", f"/offers/{offers[0]['id']}/accept")).status_code == 200
    r = await mail.api.client.post(
        f"/interactions/{inter['id']}/attachments",
        params={"filename": "invoice.pdf"},
        content=b"%PDF-1.4 invoice 77",
        headers=mail.api.auth("alice") | {"Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    upload = r.json()
    r = await mail.post(
        "alice",
        f"/interactions/{inter['id']}/email-replies",
        {"body": "Your invoice is attached.", "attachment_ids": [upload["id"]]},
    )
    assert r.status_code == 201, r.text
    sent = _sent(mail)
    [part] = [p for p in sent.walk() if p.get_filename()]
    assert (part.get_filename(), part.get_content_type()) == ("invoice.pdf", "application/pdf")
    assert part.get_payload(decode=True) == b"%PDF-1.4 invoice 77"
    thread = (await mail.get("alice", f"/interactions/{inter['id']}/emails")).json()
    assert [a["filename"] for a in thread[-1]["attachments"]] == ["invoice.pdf"]
    r = await mail.get("bob", f"/email-attachments/{thread[-1]['attachments'][0]['id']}")
    error(r, 403, "FORBIDDEN")


async def test_case_reply_carries_attachments_with_the_same_rules(mail: Mail) -> None:
    case_id = await _accepted_case(mail)
    path = f"/cases/{case_id}/attachments"
    pdf = {"Content-Type": "application/pdf"}

    async def upload(who: str, name: str, content: bytes, kind: dict[str, str]) -> Any:
        return await mail.api.client.post(
            path, params={"filename": name}, content=content, headers=mail.api.auth(who) | kind
        )

    error(await upload("bob", "x.pdf", b"%PDF-1.4", pdf), 403, "FORBIDDEN")
    exe = {"Content-Type": "application/x-msdownload"}
    error(await upload("alice", "x.exe", b"MZ", exe), 415, "UNSUPPORTED_MEDIA_TYPE")
    r = await upload("alice", "receipt.pdf", b"%PDF-1.4 receipt 9", pdf)
    assert r.status_code == 201, r.text
    file_id = r.json()["id"]
    # A file of the case goes with no other document's reply.
    [inter] = await interactions(mail.api)
    r = await mail.post(
        "admin",
        f"/interactions/{inter['id']}/email-replies",
        {"body": "x", "attachment_ids": [file_id]},
    )
    error(r, 404, "NOT_FOUND", "attachment_ids")
    r = await mail.post(
        "alice",
        f"/cases/{case_id}/email-replies",
        {"body": "Your receipt is attached.", "attachment_ids": [file_id]},
    )
    assert r.status_code == 201, r.text
    [part] = [p for p in _sent(mail).walk() if p.get_filename()]
    assert (part.get_filename(), part.get_payload(decode=True)) == (
        "receipt.pdf",
        b"%PDF-1.4 receipt 9",
    )
    emails = (await mail.get("alice", f"/cases/{case_id}/emails")).json()
    assert [a["filename"] for a in emails[-1]["attachments"]] == ["receipt.pdf"]
    assert (await mail.get("alice", f"/attachments/{file_id}")).content == b"%PDF-1.4 receipt 9"
    error(await mail.get("bob", f"/attachments/{file_id}"), 403, "FORBIDDEN")
