"""The Genesys Cloud spoke end to end: Omniroute and the Genesys double as real processes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.channels.test_email import Recorder
from tests.doubles.genesys import world as org
from tests.doubles.genesys.procs import READY_TIMEOUT_S, start_double
from tests.e2e.conftest import (
    OmnirouteCalls,
    add_external_queue,
    email_interaction,
    eventually,
    mail_env,
    new_case,
    new_chat,
    reply_relayed,
    send_customer_mail,
)
from tests.procs import Server, Servers, free_port
from tests.seed import NOW

pytestmark = pytest.mark.timeout(180)

SPOKE = "genesys"
INBOUND_SECRET = "genesys-inbound-shared-secret-0123456789"
USER = {name: f"gc-user-{name}" for name in ("alice", "bob", "carol")}
GENERAL = "gc-queue-general"
SUPPORT_QUEUE = "gc-support"


@dataclass
class Genesys(OmnirouteCalls):
    """Omniroute, the double, and a client for each."""

    omniroute: Server
    double: Server
    api: httpx.AsyncClient
    gc: httpx.AsyncClient
    servers: Servers
    db_url: str

    async def state(self) -> dict[str, Any]:
        """The double's whole state."""
        r = await self.gc.get("/double/state")
        assert r.status_code == 200
        state: dict[str, Any] = r.json()
        return state

    async def offers(self, agent: str) -> list[dict[str, Any]]:
        """An agent's pending offers."""
        result: list[dict[str, Any]] = await self.get(f"/agents/{agent}/offers", agent)
        return result


async def seed(db: Database, double_port: int) -> None:
    """The API seed, agents' emails as Genesys knows them, and the Genesys spoke."""
    await seed_api(db)
    base = f"http://127.0.0.1:{double_port}"
    async with db.session() as s, s.begin():
        s.add(t.ChannelRow(id="callback", name="Callback", default_capacity=1))
        for name in USER:
            await s.execute(
                update(t.AgentRow)
                .where(t.AgentRow.id == name)
                .values(email=f"{name}@demo.omniroute.local")
            )
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="genesys",
                settings={
                    "region": "mypurecloud.ie",
                    "client_id": org.CLIENT_ID,
                    "client_secret": org.CLIENT_SECRET,
                    "integration_id": org.INTEGRATION_ID,
                    "inbound_secret": INBOUND_SECRET,
                    "api_base_url": base,
                    "login_base_url": base,
                    "page_size": 2,
                    "timeout_s": 5,
                },
                presence_map={"available": "On Queue", "away": "Away", "offline": "Offline"},
                created_at=NOW,
                updated_at=NOW,
            )
        )


@contextlib.asynccontextmanager
async def genesys_world(
    db_url: str,
    servers: Servers,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    *,
    support_queue: bool = False,
) -> AsyncIterator[Genesys]:
    """Omniroute (with `env`) and the Genesys double, each in its own process, wired together."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the provider end-to-end tests run on SQLite only")
    migrate.upgrade(db_url)
    db = Database(db_url)
    port = free_port()
    await seed(db, port)
    if support_queue:
        await add_external_queue(db, SUPPORT_QUEUE, SPOKE, GENERAL)
    await db.dispose()
    omniroute_port = free_port()
    # Both start at once: the double's SDK import is slow, and it calls Omniroute only later.
    double = start_double(
        tmp_path / "logs" / "genesys.log",
        omniroute_url=f"http://127.0.0.1:{omniroute_port}",
        token="token-integration",
        spoke=SPOKE,
        secret=INBOUND_SECRET,
        port=port,
        wait=False,
    )
    servers.started.append(double)
    omniroute = servers.start(db_url, port=omniroute_port, env=env)
    double.wait_ready(READY_TIMEOUT_S)
    async with (
        httpx.AsyncClient(base_url=omniroute.api_url, timeout=15.0) as api,
        httpx.AsyncClient(base_url=double.base_url, timeout=15.0) as gc_api,
    ):
        world = Genesys(omniroute, double, api, gc_api, servers, db_url)
        yield world
        state = await world.state()
        # Kept beside the process logs for whoever reads a failure.
        (tmp_path / "logs" / "genesys-state.json").write_text(json.dumps(state, indent=1))
        assert state["violations"] == []


@pytest.fixture
async def gc(db_url: str, servers: Servers, tmp_path: Path) -> AsyncIterator[Genesys]:
    """Omniroute and the Genesys double, each in its own process, wired to each other."""
    async with genesys_world(db_url, servers, tmp_path) as world:
        yield world


async def import_catalog(gc: Genesys, channels: tuple[str, ...] = ("chat",)) -> dict[str, Any]:
    r = await gc.api.post(
        f"/spokes/{SPOKE}/import",
        json={"queue_defaults": {"channels": list(channels), "rule_id": "standard"}},
        headers=gc.auth("admin"),
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def general_queue(gc: Genesys, provider_queue_id: str = GENERAL) -> str:
    queues = await gc.get("/queues")
    return str(next(q["id"] for q in queues if q["provider_queue_id"] == provider_queue_id))


async def on_queue(gc: Genesys, *agents: str) -> None:
    """Sign in through Genesys, then go available in Omniroute: Genesys shows On Queue."""
    for agent in agents:
        r = await gc.gc.post(f"/double/users/{USER[agent]}/sign-in")
        assert r.status_code == 200, r.text
        assert r.json()["events"][0]["outcome"] == "linked"
        r = await gc.api.put(
            f"/agents/{agent}/presence", json={"presence_id": "available"}, headers=gc.auth(agent)
        )
        assert r.status_code == 200, r.text

    async def shown() -> bool:
        presence = (await gc.state())["presence"]
        return all(presence[USER[a]] == "On Queue" for a in agents)

    await eventually(shown, "Genesys to show the agents On Queue")


async def sign_in(gc: Genesys, agent: str) -> None:
    """Sign in through Genesys and wait until Omniroute's presence for the agent reached it."""
    r = await gc.gc.post(f"/double/users/{USER[agent]}/sign-in")
    assert r.status_code == 200, r.text
    assert r.json()["events"][0]["outcome"] == "linked"
    # A Genesys change racing our write would be overwritten (Genesys has no conditional PATCH).
    await presence_settled(gc, agent)


async def presence_settled(gc: Genesys, agent: str) -> None:
    """Wait until every presence event of the agent has been delivered."""

    async def settled() -> bool:
        events = await gc.get("/outbox", limit=1000)
        delivered = await gc.get("/outbox", state="delivered", limit=1000)
        key = f"agent:{agent}@{SPOKE}"
        return not any(e["ordering_key"] == key for e in events) and any(
            e["ordering_key"] == key for e in delivered
        )

    await eventually(settled, f"{agent}'s presence to reach Genesys")


async def offered(
    gc: Genesys, doc_id: str, *agents: str, kind: str = "interactions"
) -> tuple[str, dict[str, Any]]:
    """Wait until one of the agents has a pending offer for the document's live work item."""

    async def probe() -> tuple[str, dict[str, Any]] | None:
        doc = await gc.get(f"/{kind}/{doc_id}")
        for agent in agents:
            for offer in await gc.offers(agent):
                if offer["work_item_id"] == doc["work_item_id"]:
                    return agent, offer
        return None

    return await eventually(probe, f"an offer of {doc_id} to one of {agents}")


async def conversation_of(gc: Genesys, doc_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        conversations = (await gc.state())["conversations"].values()
        return next(
            (c for c in conversations if c["attributes"]["omnirouteDocumentId"] == doc_id), None
        )

    return await eventually(probe, f"Genesys to hold a conversation for {doc_id}")


def agents_in(conversation: dict[str, Any], state: str) -> list[str]:
    return [
        p["user"]["id"]
        for p in conversation["participants"]
        if p["purpose"] == "agent" and p["state"] == state
    ]


async def accept(gc: Genesys, agent: str, offer: dict[str, Any]) -> None:
    r = await gc.api.post(f"/offers/{offer['id']}/accept", headers=gc.auth(agent))
    assert r.status_code == 200, r.text


async def test_catalog_presence_offers_transfers_and_wrap_up(gc: Genesys) -> None:
    first = await import_catalog(gc)
    assert first["kinds"]["queues"]["counts"]["new"] == 3
    assert len(first["kinds"]["skills"]["imported"]) == 4
    assert len(first["kinds"]["wrap_up_codes"]["imported"]) == 3
    second = await import_catalog(gc)
    for kind in ("skills", "queues", "wrap_up_codes"):
        assert second["kinds"][kind]["counts"]["new"] == 0
        assert second["kinds"][kind]["counts"]["changed"] == 0
    paged = [r["path"] for r in (await gc.state())["requests"] if r["method"] == "GET"]
    assert paged.count("/api/v2/routing/skills") >= 2  # four skills, two per page
    queue = await general_queue(gc)

    # Presence both ways: ours to Genesys after sign-in, Genesys' back to us.
    await on_queue(gc, "alice")
    await sign_in(gc, "bob")
    r = await gc.gc.post(f"/double/users/{USER['bob']}/presence", json={"presence": "On Queue"})
    assert r.status_code == 200, r.text
    assert (await gc.get("/agents/bob/presence", "bob"))["presence_id"] == "available"
    await sign_in(gc, "carol")
    r = await gc.gc.post(f"/double/users/{USER['carol']}/presence", json={"presence": "Meal"})
    assert r.status_code == 200, r.text
    incidents = await gc.get(f"/spokes/{SPOKE}/incidents")
    assert any(i["kind"] == "unmapped_presence" for i in incidents)
    assert (await gc.get("/agents/carol/presence", "carol"))["presence_id"] == "offline"

    # Genesys routes the Open Messaging conversation; a reject makes it alert the other agent.
    doc_id = await new_chat(gc, queue)
    conversation = await conversation_of(gc, doc_id)
    assert conversation["attributes"]["genesysQueueId"] == GENERAL
    first_agent, offer = await offered(gc, doc_id, "alice", "bob")
    r = await gc.api.post(
        f"/offers/{offer['id']}/reject", json={"reason_id": "wrong"}, headers=gc.auth(first_agent)
    )
    assert r.status_code == 200, r.text
    holder = "bob" if first_agent == "alice" else "alice"
    _, offer = await offered(gc, doc_id, holder)
    await accept(gc, holder, offer)
    other = first_agent

    async def connected(agent: str) -> bool:
        conv = await conversation_of(gc, doc_id)
        return agents_in(conv, "connected") == [USER[agent]]

    await eventually(lambda: connected(holder), "Genesys to connect the accepting agent")

    # Transfer to an agent: Genesys alerts the target; cancelling disconnects that alert.
    r = await gc.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=gc.auth(holder)
    )
    assert r.status_code == 201, r.text
    transfer_id = r.json()["id"]

    async def transfer_offered() -> dict[str, Any] | None:
        return next((o for o in await gc.offers(other) if o["work_item_id"] == transfer_id), None)

    transfer_offer = await eventually(transfer_offered, "Genesys to offer the transfer")
    r = await gc.api.delete(f"/documents/{doc_id}/transfer", headers=gc.auth(holder))
    assert r.status_code == 200, r.text
    assert (await gc.get(f"/offers/{transfer_offer['id']}"))["state"] == "withdrawn"

    async def alert_gone() -> bool:
        conv = await conversation_of(gc, doc_id)
        return not agents_in(conv, "alerting") and agents_in(conv, "connected") == [USER[holder]]

    await eventually(alert_gone, "Genesys to drop the cancelled transfer's alert")

    # Transfer to an agent, completed: the target takes over in both places.
    r = await gc.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=gc.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(gc, doc_id, other)
    await accept(gc, other, offer)
    assert (await gc.get(f"/interactions/{doc_id}"))["agent_id"] == other
    await eventually(lambda: connected(other), "Genesys to hand the conversation to the target")
    holder, other = other, holder

    # Transfer to a queue: Genesys routes it to the other member, who takes over.
    r = await gc.api.post(
        f"/documents/{doc_id}/transfer", json={"target_queue_id": queue}, headers=gc.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(gc, doc_id, other)
    await accept(gc, other, offer)
    assert (await gc.get(f"/interactions/{doc_id}"))["agent_id"] == other
    await eventually(lambda: connected(other), "Genesys to connect the queue's agent")

    # End with a wrap-up code: Genesys gets the participant's wrap-up and the conversation ends.
    resolved = next(
        c["id"]
        for c in await gc.get("/wrap-up-codes")
        if c.get("provider_id") == "gc-wrap-resolved"
    )
    r = await gc.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": resolved, "notes": "sorted"},
        headers=gc.auth(other),
    )
    assert r.json()["state"] == "closed_complete", r.text

    async def wrapped() -> dict[str, Any] | None:
        return next((w for w in (await gc.state())["wrap_ups"] if w["document_id"] == doc_id), None)

    wrap_up = await eventually(wrapped, "Genesys to receive the wrap-up")
    assert (wrap_up["code"], wrap_up["notes"], wrap_up["user_id"]) == (
        "gc-wrap-resolved",
        "sorted",
        USER[other],
    )

    async def ended() -> bool:
        # The conversation is ended by the request after the participant's wrap-up.
        return bool((await conversation_of(gc, doc_id))["state"] == "disconnected")

    await eventually(ended, "Genesys to end the conversation")


async def test_throttling_renewal_timeout_outage_and_restart(gc: Genesys) -> None:
    await import_catalog(gc)
    queue = await general_queue(gc)
    await on_queue(gc, "alice", "bob")

    # Throttled, with an expired token: Retry-After is honoured, the token renewed once.
    await gc.gc.post("/double/revoke")
    r = await gc.gc.post("/double/faults", json={"status": 429, "count": 2, "retry_after": 1})
    assert r.status_code == 200
    doc_id = await new_chat(gc, queue)
    first_agent, offer = await offered(gc, doc_id, "alice", "bob")
    state = await gc.state()
    first, second = (f["at"] for f in state["faults_served"])
    retried = next(q for q in state["requests"] if q["at"] > second)
    assert second - first >= 1.0
    assert retried["at"] - second >= 1.0
    paths = [q["path"] for q in state["requests"] if q["at"] > second]
    assert "/oauth/token" in paths  # the revoked token was replaced

    # Nobody answers: Omniroute times the offer out, Genesys hears it and alerts the other agent.
    other = "bob" if first_agent == "alice" else "alice"
    _, second_offer = await offered(gc, doc_id, other)
    assert second_offer["id"] != offer["id"]
    assert (await gc.get(f"/offers/{offer['id']}"))["state"] == "timed_out"
    conversation = await conversation_of(gc, doc_id)
    assert agents_in(conversation, "alerting") == [USER[other]]
    assert agents_in(conversation, "disconnected") == [USER[first_agent]]
    await accept(gc, other, second_offer)

    # Genesys down for a while: every event arrives once, each key's events in outbox order.
    await presence_settled(gc, first_agent)  # its presence after the timeout, sent already
    outage_started = (await gc.state())["requests"][-1]["at"]
    r = await gc.gc.post("/double/faults", json={"status": 503, "count": 4})
    assert r.status_code == 200
    sales = await general_queue(gc, "gc-queue-sales")  # nobody there: these chats just wait
    docs = [await new_chat(gc, sales) for _ in range(2)]
    for presence in ("offline", "away", "offline"):
        r = await gc.api.put(
            f"/agents/{first_agent}/presence",
            json={"presence_id": presence},
            headers=gc.auth(first_agent),
        )
        assert r.status_code == 200, r.text
    keys = [*docs, f"agent:{first_agent}@{SPOKE}"]

    async def all_delivered() -> list[dict[str, Any]] | None:
        pending = [e for e in await gc.get("/outbox", limit=1000) if e["ordering_key"] in keys]
        delivered = [
            e
            for e in await gc.get("/outbox", state="delivered", limit=1000)
            if e["ordering_key"] in keys
        ]
        return delivered if not pending and len(delivered) >= 5 else None

    events = await eventually(all_delivered, "every event delivered after the outage", 60.0)
    assert any(e["attempts"] > 1 for e in events)
    state = await gc.state()
    new_ids = [e["id"] for e in events if e["type"] == "new_interaction"]
    assert sorted(m for m in state["messages"] if m in new_ids) == sorted(new_ids)
    assert len(state["messages"]) == len(set(state["messages"])) == 3
    written = [
        q["body"]["presenceDefinition"]["id"]
        for q in state["requests"]
        if q["method"] == "PATCH"
        and q["path"] == f"/api/v2/users/{USER[first_agent]}/presences/purecloud"
        and q["at"] > outage_started
    ]
    assert written == ["pd-offline", "pd-away", "pd-offline"]
    assert state["presence"][USER[first_agent]] == "Offline"

    # After a restart Omniroute still knows which Genesys conversation is this chat's.
    gc.omniroute.terminate()
    gc.omniroute = gc.servers.start(gc.db_url, port=gc.omniroute.port)
    code = next(c["id"] for c in await gc.get("/wrap-up-codes") if c["name"] == "Call back")
    r = await gc.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": code, "notes": "after restart"},
        headers=gc.auth(other),
    )
    assert r.json()["state"] == "closed_complete", r.text

    async def ended() -> bool:
        return bool((await conversation_of(gc, doc_id))["state"] == "disconnected")

    await eventually(ended, "Genesys to end the conversation made before the restart")
    wrap_up = next(w for w in (await gc.state())["wrap_ups"] if w["document_id"] == doc_id)
    assert (wrap_up["user_id"], wrap_up["code"]) == (USER[other], "gc-wrap-callback")

    # Alerts pushed as notifications: a refusal goes back and Genesys alerts someone else.
    r = await gc.gc.post("/double/alerts", json={"via": "notifications"})
    assert r.json() == {"ok": True}
    r = await gc.api.patch(
        "/agents/carol", json={"allow_external": False}, headers=gc.auth("admin")
    )
    assert r.status_code == 200, r.text
    await sign_in(gc, "carol")
    await gc.gc.post(f"/double/users/{USER['carol']}/presence", json={"presence": "On Queue"})
    r = await gc.api.put(
        f"/agents/{other}/presence", json={"presence_id": "away"}, headers=gc.auth(other)
    )
    assert r.status_code == 200, r.text

    async def away_in_genesys() -> bool:
        return bool((await gc.state())["presence"][USER[other]] == "Away")

    await eventually(away_in_genesys, f"Genesys to show {other} away")
    pushed = await new_chat(gc, queue)

    async def refused() -> bool:
        conversation = await conversation_of(gc, pushed)
        return agents_in(conversation, "disconnected") == [USER["carol"]]

    await eventually(refused, "the refused alert to be declined in Genesys")

    async def refusal_delivered() -> list[dict[str, Any]] | None:
        # Marked delivered once Genesys has answered, so a moment after it shows the decline.
        delivered = await gc.get("/outbox", state="delivered", limit=1000)
        return [e for e in delivered if e["type"] == "offer_refused"] or None

    (refusal,) = await eventually(refusal_delivered, "the refusal marked delivered")
    assert refusal["ordering_key"] == pushed
    r = await gc.api.put(
        f"/agents/{other}/presence", json={"presence_id": "available"}, headers=gc.auth(other)
    )
    assert r.status_code == 200, r.text
    _, offer = await offered(gc, pushed, other)
    await accept(gc, other, offer)

    async def connected_pushed() -> bool:
        conv = await conversation_of(gc, pushed)
        return agents_in(conv, "connected") == [USER[other]]

    await eventually(connected_pushed, "Genesys to connect the agent it alerted by notification")
    alerts = [o for o in (await gc.state())["offers"] if o.get("via") == "notification"]
    assert [(o["user_id"], o["outcome"]) for o in alerts] == [
        (USER["carol"], "refused"),
        (USER[other], "offered"),
    ]


async def synced(gc: Genesys, agent: str, after: str | None = None) -> dict[str, Any]:
    """Wait until the agent's Genesys profile sync has run (after a given `synced_at`)."""

    async def probe() -> dict[str, Any] | None:
        for sync in await gc.get(f"/agents/{agent}/profile-sync"):
            if sync["spoke"] == SPOKE and sync["synced_at"] and sync["synced_at"] != after:
                return dict(sync)
        return None

    return await eventually(probe, f"a profile sync of {agent}")


async def test_profile_sync_at_sign_in_after_a_change_and_with_locks(gc: Genesys) -> None:
    admin = gc.auth("admin")
    r = await gc.api.patch("/agents/carol", json={"skills": {"english": 2}}, headers=admin)
    assert r.status_code == 200, r.text
    await sign_in(gc, "carol")
    first = await synced(gc, "carol")
    assert first["provider_agent_id"] == USER["carol"]
    assert first["profile"]["skills"] == [
        {"provider_id": "gc-skill-tech", "name": "Tech", "level": 4}
    ]

    carol = await gc.get("/agents/carol")
    skills = {s["id"]: s for s in await gc.get("/skills", limit=100)}
    tech = next(k for k, s in skills.items() if s["provider_id"] == "gc-skill-tech")
    # The provider's skill is added; the one an administrator gave by hand stays.
    assert carol["skills"] == {"english": 2, tech: 4}
    assert set(carol["groups"]) == {"genesys-gc-queue-general", "genesys-gc-queue-billing"}
    capacity = await gc.get("/agents/carol/capacity")
    by_channel = {c: v["capacity"] for c, v in capacity["channels"].items()}
    assert (by_channel["chat"], by_channel["email"], by_channel["voice"]) == (3, 2, 1)

    # A change on Genesys shows up at the next sync.
    r = await gc.gc.post(
        f"/double/users/{USER['carol']}/profile",
        json={"name": "Carol Quinn", "skills": {"french": 5}, "utilization": {"message": 1}},
    )
    assert r.status_code == 200
    r = await gc.api.post("/agents/carol/profile-sync/genesys/run", headers=admin)
    assert r.status_code == 200, r.text
    assert set(r.json()["changed"]) == {"name", "skills", "capacity"}
    carol = await gc.get("/agents/carol")
    french = next(
        s["id"] for s in await gc.get("/skills", limit=100) if s["provider_id"] == "gc-skill-french"
    )
    assert carol["name"] == "Carol Quinn"
    assert carol["skills"] == {"english": 2, french: 5}
    capacity = await gc.get("/agents/carol/capacity")
    assert capacity["channels"]["chat"]["capacity"] == 1

    # Locked skills stay as they are; the rest keeps syncing.
    r = await gc.api.put(
        "/agents/carol/profile-sync/genesys", json={"locked": ["skills"]}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["locked"] == ["skills"]
    await gc.gc.post(
        f"/double/users/{USER['carol']}/profile",
        json={"name": "Carol Q.", "skills": {"tech": 1}},
    )
    r = await gc.api.post("/agents/carol/profile-sync/genesys/run", headers=admin)
    assert r.status_code == 200, r.text
    carol = await gc.get("/agents/carol")
    assert carol["name"] == "Carol Q."
    assert carol["skills"] == {"english": 2, french: 5}

    # Who may see and run it.
    r = await gc.api.get("/agents/carol/profile-sync", headers=gc.auth("bob"))
    assert r.status_code == 403
    r = await gc.api.put(
        "/agents/carol/profile-sync/genesys", json={"locked": []}, headers=gc.auth("carol")
    )
    assert r.status_code == 403
    r = await gc.api.put(
        "/agents/carol/profile-sync/genesys", json={"locked": ["height"]}, headers=admin
    )
    assert r.status_code == 422
    r = await gc.api.post("/agents/bob/profile-sync/genesys/run", headers=admin)
    assert r.status_code == 404


async def wrapped_up(gc: Genesys, doc_id: str) -> dict[str, Any]:
    """The wrap-up Genesys received for one of our documents."""

    async def probe() -> dict[str, Any] | None:
        return next((w for w in (await gc.state())["wrap_ups"] if w["document_id"] == doc_id), None)

    return await eventually(probe, f"Genesys to receive the wrap-up of {doc_id}")


async def test_an_email_and_a_case_routed_by_genesys_to_wrap_up(
    db_url: str, servers: Servers, tmp_path: Path, relay: tuple[Controller, Recorder]
) -> None:
    smtp_port = free_port()
    env = mail_env(smtp_port, relay[0].port, SUPPORT_QUEUE)
    async with genesys_world(db_url, servers, tmp_path, env, support_queue=True) as gc:
        await import_catalog(gc)
        resolved = next(
            c["id"]
            for c in await gc.get("/wrap-up-codes")
            if c.get("provider_id") == "gc-wrap-resolved"
        )
        await on_queue(gc, "alice")

        # An email arrives by SMTP; Genesys decides, Alice accepts and replies by email.
        send_customer_mail(smtp_port, "Order 1234 arrived broken", "The mug was in pieces.")
        email_id = await email_interaction(gc)
        conversation = await conversation_of(gc, email_id)
        assert conversation["attributes"]["omnirouteChannel"] == "email"
        _, offer = await offered(gc, email_id, "alice")
        await accept(gc, "alice", offer)
        await reply_relayed(gc, "alice", email_id, relay[1])
        r = await gc.api.post(
            f"/interactions/{email_id}/end",
            json={"wrap_up_code_id": resolved, "notes": "replacement sent"},
            headers=gc.auth("alice"),
        )
        assert r.status_code == 200, r.text
        wrap_up = await wrapped_up(gc, email_id)
        assert (wrap_up["code"], wrap_up["notes"], wrap_up["user_id"]) == (
            "gc-wrap-resolved",
            "replacement sent",
            USER["alice"],
        )

        # A case: routed by Genesys, accepted, closed with a wrap-up code Genesys gets.
        case_id = await new_case(gc, SUPPORT_QUEUE, "Refund for order 1234")
        _, offer = await offered(gc, case_id, "alice", kind="cases")
        await accept(gc, "alice", offer)
        r = await gc.api.post(
            f"/cases/{case_id}/close",
            json={"resolution": "refunded", "wrap_up_code_id": resolved},
            headers=gc.auth("alice"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["wrap_up_code_id"] == resolved
        wrap_up = await wrapped_up(gc, case_id)
        assert (wrap_up["code"], wrap_up["notes"]) == ("gc-wrap-resolved", "refunded")
        assert (await conversation_of(gc, case_id))["state"] == "disconnected"

        other_case = await new_case(gc, SUPPORT_QUEUE, "Another")
        _, offer = await offered(gc, other_case, "alice", kind="cases")
        await accept(gc, "alice", offer)
        r = await gc.api.post(
            f"/cases/{other_case}/close",
            json={"wrap_up_code_id": "no-such-code"},
            headers=gc.auth("alice"),
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "INVALID_WRAP_UP_CODE"
        assert (await gc.get(f"/cases/{other_case}"))["state"] != "closed"
