"""The Amazon Connect spoke end to end: Omniroute and the Connect double as real processes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
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
from tests.api.assertions import error
from tests.api.conftest import seed_api
from tests.channels.test_email import Recorder
from tests.doubles.amazon_connect.world import INSTANCE_ID
from tests.e2e.conftest import (
    OmnirouteCalls,
    add_external_queue,
    call_when,
    control,
    email_interaction,
    eventually,
    live_item,
    mail_env,
    new_case,
    new_chat,
    offered,
    reply_relayed,
    send_customer_mail,
)
from tests.procs import REPO_ROOT, Server, Servers, free_port, server_env
from tests.seed import NOW

pytestmark = pytest.mark.timeout(180)

SPOKE = "connect"
SECRET = "connect-relay-secret-0123456789abcdefgh"
ACCESS_KEY = "AKIDOMNIROUTETEST"
USER_OF = {"alice": "u-alice", "bob": "u-bob", "carol": "u-carol"}
GENERAL = "q-general"
SUPPORT_QUEUE = "connect-support"


@dataclass
class Connect(OmnirouteCalls):
    """Omniroute, the double and a client for each."""

    omniroute: Server
    double: Server
    api: httpx.AsyncClient
    aws: httpx.AsyncClient
    db: Database

    async def state(self) -> dict[str, Any]:
        """The double's whole state."""
        r = await self.aws.get("/_double/state")
        assert r.status_code == 200
        result: dict[str, Any] = r.json()
        return result

    async def calls(self, operation: str) -> list[dict[str, Any]]:
        """The double's record of one operation's calls."""
        return [c for c in (await self.state())["calls"] if c["operation"] == operation]


def start_double(log_path: Path, port: int, relay_url: str) -> Server:
    """`python -m tests.doubles.amazon_connect` on 127.0.0.1."""
    command = [sys.executable, "-m", "tests.doubles.amazon_connect", "--port", str(port)]
    command += ["--relay-url", relay_url, "--secret", SECRET, "--access-key", ACCESS_KEY]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # the child keeps its own copy of the log descriptor
            command,
            cwd=REPO_ROOT,
            env=server_env("sqlite+aiosqlite:///:memory:"),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, "127.0.0.1", port, log_path)
    try:
        server.wait_ready()
    except BaseException:
        server.kill()
        raise
    return server


async def seed_connect(db: Database, double_port: int) -> None:
    """The API seed plus an Amazon Connect spoke pointing at the double."""
    await seed_api(db)
    async with db.session() as s, s.begin():
        s.add(t.ChannelRow(id="callback", name="Callback", default_capacity=1))
        for name in USER_OF:
            await s.execute(
                update(t.AgentRow)
                .where(t.AgentRow.id == name)
                .values(email=f"{name}@demo.omniroute.local")
            )
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="amazon_connect",
                settings={
                    "region": "eu-west-2",
                    "instance_id": INSTANCE_ID,
                    "task_flow_id": "flow-task",
                    "queue_transfer_flow_id": "flow-queue",
                    "agent_transfer_flow_id": "flow-agent",
                    "relay_secret": SECRET,
                    "endpoint_url": f"http://127.0.0.1:{double_port}",
                    "offer_timeout_s": 4,
                    "timeout_s": 5,
                    "max_attempts": 2,
                },
                presence_map={"available": "Available", "away": "Break", "offline": "Offline"},
                created_at=NOW,
                updated_at=NOW,
            )
        )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about the provider, not the store."""
    return f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"


@contextlib.asynccontextmanager
async def connect_world(
    db_url: str,
    servers: Servers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Connect]:
    """Omniroute (with `env`) with a Connect spoke, and the double relaying agent events back."""
    # The standard AWS credential chain of the Omniroute process reads these.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "omniroute-test-secret-access-key")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    migrate.upgrade(db_url)
    db = Database(db_url)
    double_port = free_port()
    await seed_connect(db, double_port)
    if env is not None:
        await add_external_queue(db, SUPPORT_QUEUE, SPOKE, GENERAL)
    omniroute = servers.start(db_url, env=env)
    double = start_double(
        tmp_path / "logs" / "double.log", double_port, f"{omniroute.api_url}/spokes/{SPOKE}/events"
    )
    servers.started.append(double)
    async with (
        httpx.AsyncClient(base_url=omniroute.api_url, timeout=15.0) as api,
        httpx.AsyncClient(base_url=double.base_url, timeout=15.0) as aws,
    ):
        yield Connect(omniroute, double, api, aws, db)
    await db.dispose()


@pytest.fixture
async def connect(
    db_url: str, servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Connect]:
    """Omniroute with a Connect spoke, and the double relaying agent events back."""
    async with connect_world(db_url, servers, tmp_path, monkeypatch) as world:
        yield world


async def import_catalog(world: Connect, channels: tuple[str, ...] = ("chat",)) -> dict[str, Any]:
    r = await world.api.post(
        f"/spokes/{SPOKE}/import",
        json={"queue_defaults": {"channels": list(channels), "rule_id": "standard"}},
        headers=world.auth("admin"),
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def our_queue(world: Connect, provider_queue_id: str = GENERAL) -> str:
    queues = await world.get("/queues")
    return str(next(q["id"] for q in queues if q["provider_queue_id"] == provider_queue_id))


async def sign_in(world: Connect, *agents: str) -> None:
    """Agents sign in to Connect (linked by email), then go available in Omniroute."""
    for agent in agents:
        r = await world.aws.post(f"/_double/agents/{USER_OF[agent]}/login")
        assert r.status_code == 200

        async def linked(agent: str = agent) -> bool:
            presence = await world.api.get(f"/agents/{agent}/presence", headers=world.auth(agent))
            incidents = await world.get(f"/spokes/{SPOKE}/incidents")
            return presence.status_code == 200 and not incidents

        await eventually(linked, f"{agent} to be linked")
        r = await world.api.put(
            f"/agents/{agent}/presence",
            json={"presence_id": "available"},
            headers=world.auth(agent),
        )
        assert r.status_code == 200, r.text

    async def available() -> bool:
        users = (await world.state())["users"]
        return all(users[USER_OF[a]]["status"] == "Available" for a in agents)

    await eventually(available, "Connect to see the agents available (PutUserStatus)")


async def contact_of(world: Connect, doc_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        contacts = (await world.state())["contacts"]
        return next(
            (c for c in contacts if c["attributes"].get("omniroute_document_id") == doc_id), None
        )

    return await eventually(probe, f"a Connect task for {doc_id}")


async def test_catalog_presence_offers_transfers_and_wrap_up(connect: Connect) -> None:
    world = connect
    first = await import_catalog(world)
    assert first["kinds"]["queues"]["counts"]["new"] == 3
    assert [s["provider_id"] for s in first["kinds"]["skills"]["imported"]] == ["rp-general"]
    assert "wrap_up_codes" not in first["kinds"] or not first["kinds"]["wrap_up_codes"]["imported"]
    second = await import_catalog(world)
    assert second["kinds"]["queues"]["counts"]["new"] == 0
    queue = await our_queue(world)

    # Presence both ways: ours to Connect by PutUserStatus, Connect's back through the relay.
    await sign_in(world, "alice")
    r = await world.aws.post("/_double/agents/u-bob/login")

    async def linked_bob_told_connect() -> bool:
        return any(c["params"]["UserId"] == "u-bob" for c in await world.calls("PutUserStatus"))

    # On sign-in Omniroute sends its own presence first; Bob changes his after that.
    await eventually(linked_bob_told_connect, "Omniroute's presence for Bob on sign-in")
    r = await world.aws.post("/_double/agents/u-bob/status", json={"name": "Available"})
    assert r.status_code == 200

    async def bob_available() -> bool:
        presence = await world.api.get("/agents/bob/presence", headers=world.auth("bob"))
        return presence.status_code == 200 and presence.json()["presence_id"] == "available"

    await eventually(bob_available, "Connect's status change to reach Omniroute")

    # Connect routes the task; a reject puts it back in its queue and Connect offers it again.
    doc_id = await new_chat(world, queue)
    item = await live_item(world, doc_id)
    first_agent, offer = await offered(world, item, "alice", "bob")
    r = await world.api.post(
        f"/offers/{offer['id']}/reject",
        json={"reason_id": "wrong"},
        headers=world.auth(first_agent),
    )
    assert r.status_code == 200, r.text
    holder = "bob" if first_agent == "alice" else "alice"
    _, offer = await offered(world, item, holder)
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth(holder))
    assert r.status_code == 200, r.text
    other = first_agent
    contact = await contact_of(world, doc_id)

    async def connected_to_holder() -> bool:
        now = await contact_of(world, doc_id)
        return bool(now["state"] == "CONNECTED" and now["agent_id"] == USER_OF[holder])

    await eventually(connected_to_holder, "the accepted task to be connected in Connect")

    # Transfer to an agent through TransferContact; cancelling withdraws the target's offer.
    r = await world.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=world.auth(holder)
    )
    assert r.status_code == 201, r.text
    transfer_id = r.json()["id"]
    _, transfer_offer = await offered(world, transfer_id, other)
    r = await world.api.delete(f"/documents/{doc_id}/transfer", headers=world.auth(holder))
    assert r.status_code == 200, r.text
    assert (await world.get(f"/offers/{transfer_offer['id']}"))["state"] == "withdrawn"

    async def back_with_sender() -> bool:
        now = await contact_of(world, doc_id)
        return bool(now["agent_id"] == USER_OF[holder])

    await eventually(back_with_sender, "Connect to hand the task back to the sender")
    assert (await world.get(f"/interactions/{doc_id}"))["agent_id"] == holder

    # Transfer to an agent, completed.
    r = await world.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=world.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(world, r.json()["id"], other)
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth(other))
    assert r.status_code == 200, r.text
    assert (await world.get(f"/interactions/{doc_id}"))["agent_id"] == other
    holder, other = other, holder

    # Transfer to a queue: Connect routes it to the agent who does not have it.
    r = await world.api.post(
        f"/documents/{doc_id}/transfer", json={"target_queue_id": queue}, headers=world.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(world, r.json()["id"], other)
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth(other))
    assert r.status_code == 200, r.text
    assert (await world.get(f"/interactions/{doc_id}"))["agent_id"] == other

    # End with a wrap-up code (ours: Connect has none): it goes on the contact, which stops.
    r = await world.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": "resolved", "notes": "sorted"},
        headers=world.auth(other),
    )
    assert r.json()["state"] == "closed_complete", r.text

    async def stopped() -> dict[str, Any] | None:
        now = await contact_of(world, doc_id)
        return now if now["state"] == "ENDED" else None

    ended = await eventually(stopped, "StopContact")
    assert ended["id"] == contact["id"]
    assert ended["attributes"]["omniroute_notes"] == "sorted"
    assert ended["attributes"]["omniroute_state"] == "closed_complete"
    assert ended["attributes"]["omniroute_wrap_up_code_name"] == "Resolved"

    # In order: the idempotency tokens Connect saw follow our outbox order.
    events = await world.get("/outbox", state="delivered", limit=1000)
    ours = [
        e["id"]
        for e in sorted(events, key=lambda e: e["seq"])
        if e["ordering_key"] == doc_id
        and e["type"] in ("new_interaction", "transfer_to_agent", "transfer_to_queue")
    ]
    tokens = [
        c["params"]["ClientToken"]
        for c in (await world.state())["calls"]
        if c["operation"] in ("StartTaskContact", "TransferContact")
        and c.get("status") == 200
        and c["params"]["ClientToken"] in ours
    ]
    assert tokens == ours


async def test_offer_timeout_goes_back_to_connect(connect: Connect) -> None:
    world = connect
    await import_catalog(world)
    queue = await our_queue(world)
    await sign_in(world, "alice", "bob")
    doc_id = await new_chat(world, queue)
    item = await live_item(world, doc_id)
    first_agent, offer = await offered(world, item, "alice", "bob")
    other = "bob" if first_agent == "alice" else "alice"
    _, second = await offered(world, item, other)
    assert (await world.get(f"/offers/{offer['id']}"))["state"] == "timed_out"
    attributes = (await contact_of(world, doc_id))["attributes"]
    assert attributes["omniroute_offer_outcome"] == "timed_out"
    r = await world.api.post(f"/offers/{second['id']}/accept", headers=world.auth(other))
    assert r.status_code == 200, r.text


async def test_throttling_then_an_outage_lose_nothing_and_keep_order(connect: Connect) -> None:
    world = connect
    await import_catalog(world)
    queue = await our_queue(world)

    # Throttled: botocore retries once, then the outbox waits Retry-After and succeeds.
    r = await world.aws.post("/_double/faults", json={"status": 429, "count": 3, "retry_after": 1})
    assert r.status_code == 200
    doc_id = await new_chat(world, queue)

    async def delivered() -> list[dict[str, Any]] | None:
        events = await world.get("/outbox", state="delivered", limit=1000)
        mine = [e for e in events if e["ordering_key"] == doc_id]
        return mine or None

    (event,) = await eventually(delivered, "the task to be created after throttling", 60.0)
    assert event["attempts"] >= 2
    starts = await world.calls("StartTaskContact")
    assert [c["status"] for c in starts] == [429, 429, 429, 200]
    assert {c["params"]["ClientToken"] for c in starts} == {event["id"]}

    # Down: every call fails for a while; afterwards each task exists exactly once.
    r = await world.aws.post("/_double/faults", json={"status": 503, "count": 6})
    assert r.status_code == 200
    docs = [await new_chat(world, queue) for _ in range(3)]

    async def all_delivered() -> list[dict[str, Any]] | None:
        waiting = [e for e in await world.get("/outbox", limit=1000) if e["ordering_key"] in docs]
        done = [
            e
            for e in await world.get("/outbox", state="delivered", limit=1000)
            if e["ordering_key"] in docs
        ]
        return done if not waiting and len(done) >= 3 else None

    events = await eventually(all_delivered, "every event delivered after the outage", 90.0)
    assert any(e["attempts"] > 1 for e in events)
    contacts = (await world.state())["contacts"]
    assert sorted(c["attributes"]["omniroute_document_id"] for c in contacts) == sorted(
        [doc_id, *docs]
    )
    # Each task was created once, by the event the outbox holds for its document.
    created = {
        c["params"]["Attributes"]["omniroute_document_id"]: c["params"]["ClientToken"]
        for c in await world.calls("StartTaskContact")
        if c["status"] == 200
    }
    assert {e["ordering_key"]: e["id"] for e in events} == {d: created[d] for d in docs}


async def synced(world: Connect, agent: str) -> dict[str, Any]:
    """Wait until the agent's Connect profile sync has run."""

    async def probe() -> dict[str, Any] | None:
        for sync in await world.get(f"/agents/{agent}/profile-sync"):
            if sync["spoke"] == SPOKE and sync["synced_at"]:
                return dict(sync)
        return None

    return await eventually(probe, f"a profile sync of {agent}")


async def test_profile_sync_at_login_and_after_a_change(connect: Connect) -> None:
    world = connect
    admin = world.auth("admin")
    r = await world.aws.post(f"/_double/agents/{USER_OF['carol']}/login")
    assert r.status_code == 200
    first = await synced(world, "carol")
    assert {s["provider_id"] for s in first["profile"]["skills"]} == {
        "rp-general",
        "Technology=Printers",
    }
    skills = {s["provider_id"]: s["id"] for s in await world.get("/skills", limit=100)}
    carol = await world.get("/agents/carol")
    assert carol["skills"][skills["Technology=Printers"]] == 4
    assert carol["skills"][skills["rp-general"]] == 1
    assert set(carol["groups"]) == {f"{SPOKE}-q-general", f"{SPOKE}-q-billing"}
    channels = (await world.get("/agents/carol/capacity"))["channels"]
    assert (channels["chat"]["capacity"], channels["case"]["capacity"]) == (2, 3)
    assert channels["voice"]["capacity"] == 1

    r = await world.aws.post(
        f"/_double/agents/{USER_OF['carol']}/profile",
        json={
            "first_name": "Caroline",
            "proficiencies": [{"name": "Language", "value": "French", "level": 2.0}],
            "media": {"CHAT": 4},
        },
    )
    assert r.status_code == 200
    r = await world.api.post(f"/agents/carol/profile-sync/{SPOKE}/run", headers=admin)
    assert r.status_code == 200, r.text
    assert set(r.json()["changed"]) == {"name", "skills", "capacity"}
    carol = await world.get("/agents/carol")
    assert carol["name"] == "Caroline Demo"
    skills = {s["provider_id"]: s["id"] for s in await world.get("/skills", limit=100)}
    assert skills["Technology=Printers"] not in carol["skills"]
    assert carol["skills"][skills["Language=French"]] == 2
    channels = (await world.get("/agents/carol/capacity"))["channels"]
    assert channels["chat"]["capacity"] == 4
    calls = {c["operation"] for c in (await world.state())["calls"]}
    assert {"DescribeRoutingProfile", "ListRoutingProfileQueues", "ListUserProficiencies"} <= calls


async def test_an_email_and_a_case_routed_by_connect_to_wrap_up(
    db_url: str,
    servers: Servers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    relay: tuple[Controller, Recorder],
) -> None:
    smtp_port = free_port()
    env = mail_env(smtp_port, relay[0].port, SUPPORT_QUEUE)
    async with connect_world(db_url, servers, tmp_path, monkeypatch, env) as world:
        await sign_in(world, "alice")

        # An email arrives by SMTP; Connect routes its task, Alice accepts and replies.
        send_customer_mail(smtp_port, "Order 1234 arrived broken", "The mug was in pieces.")
        email_id = await email_interaction(world)
        contact = await contact_of(world, email_id)
        assert contact["queue_id"] == GENERAL
        _, offer = await offered(world, await live_item(world, email_id), "alice")
        r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth("alice"))
        assert r.status_code == 200, r.text
        await reply_relayed(world, "alice", email_id, relay[1])
        r = await world.api.post(
            f"/interactions/{email_id}/end",
            json={"wrap_up_code_id": "resolved", "notes": "replacement sent"},
            headers=world.auth("alice"),
        )
        assert r.status_code == 200, r.text
        ended = await stopped(world, email_id)
        assert ended["attributes"]["omniroute_wrap_up_code_name"] == "Resolved"
        assert ended["attributes"]["omniroute_notes"] == "replacement sent"

        # A case: Connect routes it, Alice accepts and closes it with a wrap-up code.
        case_id = await new_case(world, SUPPORT_QUEUE, "Refund for order 1234")
        case = await world.get(f"/cases/{case_id}")
        _, offer = await offered(world, case["work_item_id"], "alice")
        r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth("alice"))
        assert r.status_code == 200, r.text
        r = await world.api.post(
            f"/cases/{case_id}/close",
            json={"resolution": "refunded", "wrap_up_code_id": "resolved"},
            headers=world.auth("alice"),
        )
        assert r.status_code == 200, r.text
        ended = await stopped(world, case_id)
        assert ended["attributes"]["omniroute_wrap_up_code_name"] == "Resolved"
        assert ended["attributes"]["omniroute_notes"] == "refunded"
        assert ended["attributes"]["omniroute_state"] == "closed"


async def stopped(world: Connect, doc_id: str) -> dict[str, Any]:
    """Wait until Connect stopped the document's contact; the contact."""

    async def probe() -> dict[str, Any] | None:
        now = await contact_of(world, doc_id)
        return now if now["state"] == "ENDED" else None

    return await eventually(probe, f"StopContact of {doc_id}'s contact")


async def call_in(world: Connect, channel: str, number: str) -> tuple[str, str]:
    """A customer calls Connect; the flow's Lambda makes the interaction and tags the contact."""
    # The Lambda: an interaction with no queue (Connect routes calls), its id on the contact.
    r = await world.api.post(
        "/interactions",
        json={"channel_id": channel, "customer_name": "Ada", "subject": number},
        headers=world.auth("integration"),
    )
    assert r.status_code == 201, r.text
    doc_id = str(r.json()["id"])
    r = await world.aws.post(
        "/_double/calls",
        json={
            "from": number,
            "callback": channel == "callback",
            "attributes": {"omniroute_document_id": doc_id},
        },
    )
    assert r.status_code == 201, r.text
    return doc_id, str(r.json()["contact_id"])


async def softphone(world: Connect, contact_id: str, action: str, **more: str) -> str:
    """The agent (or the customer, for hangup) acts in Connect's softphone; the contact id."""
    r = await world.aws.post(
        f"/_double/contacts/{contact_id}/softphone", json={"action": action} | more
    )
    assert r.status_code == 200, r.text
    return str(r.json().get("contact_id", contact_id))


async def end_with_wrap_up(world: Connect, doc_id: str, contact_id: str, agent: str) -> None:
    """The agent ends the interaction with a wrap-up code; it reaches the call's contact."""
    r = await world.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": "resolved", "notes": "called back"},
        headers=world.auth(agent),
    )
    assert r.status_code == 200, r.text

    async def wrapped() -> bool:
        return any(
            c["params"]["InitialContactId"] == contact_id
            and c["params"]["Attributes"].get("omniroute_wrap_up_code_name") == "Resolved"
            for c in await world.calls("UpdateContactAttributes")
        )

    await eventually(wrapped, f"the wrap-up code on contact {contact_id}")


async def test_a_call_and_a_queued_callback_routed_by_connect(connect: Connect) -> None:
    world = connect
    await import_catalog(world, ("voice", "callback"))
    queue = await our_queue(world)
    await sign_in(world, "alice", "bob")

    # A call Connect routed to Alice, whose softphone auto-accepts: accepted without a click,
    # its work item made in the queue Connect took it from (a transfer with no work item yet).
    doc_id, contact_id = await call_in(world, "voice", "+442079460123")
    connected = await call_when(world, doc_id, "alice", "connected", ["end"])
    assert (connected["kind"], connected["customer_number"]) == ("inbound", "+442079460123")
    assert connected["connected_at"] is not None
    interaction = await world.get(f"/interactions/{doc_id}")
    assert (interaction["agent_id"], interaction["state"]) == ("alice", "work_in_progress")
    item = await world.get(f"/work-items/{interaction['work_item_id']}")
    assert (item["queue_id"], item["state"]) == (queue, "accepted")
    described = await world.calls("DescribeContact")
    assert [c["params"]["ContactId"] for c in described] == [contact_id]

    # Hold in the softphone shows; Connect's API has no hold, so no button offers one.
    await softphone(world, contact_id, "hold")
    await call_when(world, doc_id, "alice", "held", ["end"])
    r = await world.api.post(
        f"/interactions/{doc_id}/controls",
        json={"action": "resume", "params": {}},
        headers=world.auth("alice"),
    )
    error(r, 409, "CALL_ACTION_NOT_AVAILABLE", "action")
    await control(world, doc_id, "alice", "end")
    await call_when(world, doc_id, "alice", "ended", [])
    stops = await world.calls("StopContact")
    assert [(c["params"]["ContactId"], c["status"]) for c in stops] == [(contact_id, 200)]
    await end_with_wrap_up(world, doc_id, contact_id, "alice")

    # Alice takes another call and transfers it in her softphone to Bob: Bob's offer is a
    # transfer from Alice; Connect's transfer contact cannot be stopped, so no `end` then.
    second, second_contact = await call_in(world, "voice", "+442079460124")
    await call_when(world, second, "alice", "connected", ["end"])
    moved = await softphone(world, second_contact, "transfer", user_id="u-bob")

    async def bobs_offer() -> dict[str, Any] | None:
        offers: list[dict[str, Any]] = await world.get("/agents/bob/offers", "bob")
        return offers[0] if offers else None

    offer = await eventually(bobs_offer, "Bob's offer of the call Alice transferred")
    item = await world.get(f"/work-items/{offer['work_item_id']}")
    assert (item["transfer_type"], item["transfer_from_agent_id"]) == ("blind", "alice")
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth("bob"))
    assert r.status_code == 200, r.text
    await softphone(world, moved, "answer")
    transferred = await call_when(world, second, "bob", "connected", [])
    assert transferred["customer_number"] == "+442079460124"
    assert (await world.get(f"/interactions/{second}"))["agent_id"] == "bob"
    await softphone(world, moved, "hangup")
    await call_when(world, second, "bob", "ended", [])
    await end_with_wrap_up(world, second, second_contact, "bob")

    # A queued callback goes to Bob (Alice is away); his softphone does not auto-accept, so
    # he accepts here and answers in the softphone, and Connect dials the customer.
    r = await world.api.put(
        "/agents/alice/presence", json={"presence_id": "away"}, headers=world.auth("alice")
    )
    assert r.status_code == 200, r.text

    async def alice_on_break() -> bool:
        return bool((await world.state())["users"][USER_OF["alice"]]["status"] == "Break")

    # Connect learns it by PutUserStatus, after our answer: before, it would route to her.
    await eventually(alice_on_break, "Connect to see Alice away (PutUserStatus)")
    callback, callback_contact = await call_in(world, "callback", "+442079460555")
    scheduled = await call_when(world, callback, "bob", "scheduled", [])
    assert (scheduled["kind"], scheduled["customer_number"]) == ("callback", "+442079460555")
    _, offer = await offered(world, await live_item(world, callback), "bob")
    assert offer["auto_accept"] is False
    r = await world.api.post(f"/offers/{offer['id']}/accept", headers=world.auth("bob"))
    assert r.status_code == 200, r.text
    await softphone(world, callback_contact, "answer")
    await call_when(world, callback, "bob", "connected", ["end"])
    await control(world, callback, "bob", "end")
    await call_when(world, callback, "bob", "ended", [])
    await end_with_wrap_up(world, callback, callback_contact, "bob")
