"""Genesys calls and callbacks end to end: Omniroute and the Genesys double as real processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import call_when, control, eventually
from tests.e2e.test_genesys import (
    GENERAL,
    USER,
    Genesys,
    accept,
    general_queue,
    genesys_world,
    import_catalog,
    offered,
    on_queue,
    wrapped_up,
)
from tests.procs import Servers

pytestmark = pytest.mark.timeout(180)

BILLING = "gc-queue-billing"  # its media settings answer alerts automatically
CONNECTED = ["hold", "mute", "transfer", "end"]


async def legs(
    gc: Genesys, conversation_id: str, key: str = "participants"
) -> list[dict[str, Any]]:
    """A conversation's participants (or, with `calls`, a callback's call legs) in the double."""
    found: list[dict[str, Any]] = (await gc.state())["conversations"][conversation_id][key]
    return found


async def agent_leg(gc: Genesys, conversation_id: str, agent: str) -> dict[str, Any]:
    """The agent's latest participant in a conversation."""
    return [
        p
        for p in await legs(gc, conversation_id)
        if p["purpose"] == "agent" and p["user"]["id"] == USER[agent]
    ][-1]


async def resolved_code(gc: Genesys) -> str:
    codes = await gc.get("/wrap-up-codes")
    return str(next(c["id"] for c in codes if c.get("provider_id") == "gc-wrap-resolved"))


async def end_with_wrap_up(gc: Genesys, doc_id: str, agent: str) -> None:
    r = await gc.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": await resolved_code(gc), "notes": "done"},
        headers=gc.auth(agent),
    )
    assert r.status_code == 200, r.text
    wrap_up = await wrapped_up(gc, doc_id)
    assert (wrap_up["code"], wrap_up["notes"], wrap_up["user_id"]) == (
        "gc-wrap-resolved",
        "done",
        USER[agent],
    )


async def incoming_call(gc: Genesys, number: str, queue: str) -> dict[str, str]:
    r = await gc.gc.post("/double/calls", json={"ani": number, "queue_id": queue})
    assert r.status_code == 200, r.text
    call: dict[str, str] = r.json()
    return call


async def test_calls_and_a_callback_through_genesys(
    db_url: str, servers: Servers, tmp_path: Path
) -> None:
    async with genesys_world(db_url, servers, tmp_path) as gc:
        await import_catalog(gc, ("chat", "voice", "callback"))
        await on_queue(gc, "alice", "bob")
        await inbound_call_held_muted_and_transferred(gc)
        await auto_answered_call(gc)
        await callback_dialled_unanswered_and_retried(gc)


async def inbound_call_held_muted_and_transferred(gc: Genesys) -> None:
    # A customer calls Genesys; the flow makes the interaction, which has no work item until
    # Genesys' alert arrives as a transfer from its queue.
    call = await incoming_call(gc, "+442079460123", GENERAL)
    doc_id, conversation_id = call["document_id"], call["conversation_id"]
    agent, offer = await offered(gc, doc_id, "alice", "bob")
    item = await gc.get(f"/work-items/{offer['work_item_id']}")
    assert (item["queue_id"], item["channel_id"]) == (await general_queue(gc), "voice")
    ringing = await call_when(gc, doc_id, agent, "alerting", [])
    assert (ringing["kind"], ringing["customer_number"]) == ("inbound", "tel:+442079460123")

    await accept(gc, agent, offer)
    connected = await call_when(gc, doc_id, agent, "connected", CONNECTED)
    assert connected["connected_at"] is not None
    assert (await agent_leg(gc, conversation_id, agent))["state"] == "connected"
    await control(gc, doc_id, agent, "hold")
    await call_when(gc, doc_id, agent, "held", ["resume", "mute", "transfer", "end"])
    assert (await agent_leg(gc, conversation_id, agent))["held"] is True
    await control(gc, doc_id, agent, "resume")
    await call_when(gc, doc_id, agent, "connected", CONNECTED)
    await control(gc, doc_id, agent, "mute")
    muted = await call_when(gc, doc_id, agent, "connected", ["hold", "unmute", "transfer", "end"])
    assert muted["muted"] is True

    # The agent transfers in the Genesys client: the alert is a transfer from that agent.
    other = "bob" if agent == "alice" else "alice"
    r = await gc.gc.post(f"/double/calls/{conversation_id}/transfer", json={"user_id": USER[other]})
    assert r.status_code == 202, r.text
    _, moved = await offered(gc, doc_id, other)
    item = await gc.get(f"/work-items/{moved['work_item_id']}")
    assert (item["transfer_type"], item["transfer_from_agent_id"]) == ("blind", agent)
    await accept(gc, other, moved)
    assert (await gc.get(f"/interactions/{doc_id}"))["agent_id"] == other
    await call_when(gc, doc_id, other, "connected", CONNECTED)
    assert (await agent_leg(gc, conversation_id, agent))["disconnectType"] == "transfer"

    # A cold transfer to a number from our workspace: the agent's leg leaves, the customer stays.
    await control(gc, doc_id, other, "transfer", target="+442079460999")
    await call_when(gc, doc_id, other, "ended", [])
    remaining = [p for p in await legs(gc, conversation_id) if p["state"] == "connected"]
    assert [(p["purpose"], p.get("address")) for p in remaining] == [
        ("customer", "tel:+442079460123"),
        ("external", "tel:+442079460999"),
    ]
    await end_with_wrap_up(gc, doc_id, other)


async def auto_answered_call(gc: Genesys) -> None:
    # Billing's queue answers alerts automatically: Omniroute accepts without a click.
    call = await incoming_call(gc, "+442079460777", BILLING)
    doc_id = call["document_id"]

    async def taken() -> str | None:
        agent: str | None = (await gc.get(f"/interactions/{doc_id}"))["agent_id"]
        return agent

    agent = await eventually(taken, "the auto-answered call to be accepted")
    assert await gc.offers(agent) == []
    await call_when(gc, doc_id, agent, "connected", CONNECTED)
    await control(gc, doc_id, agent, "end")
    await call_when(gc, doc_id, agent, "ended", [])
    assert all(p["state"] == "disconnected" for p in await legs(gc, call["conversation_id"]))
    await end_with_wrap_up(gc, doc_id, agent)


async def callback_dialled_unanswered_and_retried(gc: Genesys) -> None:
    # A callback made in Omniroute becomes a Genesys callback in the queue, which Genesys routes.
    number = "+442079460555"
    r = await gc.api.post(
        "/interactions",
        json={
            "channel_id": "callback",
            "queue_id": await general_queue(gc),
            "customer_name": "Ada",
            "subject": f"Please call me back on {number}",
        },
        headers=gc.auth("integration"),
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    agent, offer = await offered(gc, doc_id, "alice", "bob")
    waiting = await call_when(gc, doc_id, agent, "scheduled", [])
    assert (waiting["kind"], waiting["customer_number"]) == ("callback", number)
    await accept(gc, agent, offer)
    await call_when(gc, doc_id, agent, "scheduled", ["dial", "end"])
    r = await gc.gc.post("/double/numbers/unanswered", json={"number": number, "count": 1})
    assert r.status_code == 200, r.text

    await control(gc, doc_id, agent, "dial", number=number)
    await call_when(gc, doc_id, agent, "no_answer", ["retry_callback"])
    await control(gc, doc_id, agent, "retry_callback")
    await call_when(gc, doc_id, agent, "connected", CONNECTED)
    await control(gc, doc_id, agent, "end")
    await call_when(gc, doc_id, agent, "ended", [])
    state = await gc.state()
    conversation_id = next(
        cid
        for cid, c in state["conversations"].items()
        if c["attributes"].get("omnirouteDocumentId") == doc_id
    )
    assert [(d["number"], d["answered"]) for d in state["dials"]] == [
        (number, False),
        (number, True),
    ]
    assert state["conversations"][conversation_id]["media"] == "callback"
    await end_with_wrap_up(gc, doc_id, agent)
