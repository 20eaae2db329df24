"""The Twilio Flex spoke end to end: Omniroute and the TaskRouter double as real processes."""

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
from sqlalchemy import select, update

from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.channels.test_email import Recorder
from tests.doubles.twilio.model import ACCOUNT_SID, AUTH_TOKEN, WORKFLOW_SID, WORKSPACE_SID
from tests.doubles.twilio.procs import start_double
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
from tests.procs import Server, Servers, free_port
from tests.seed import NOW

pytestmark = pytest.mark.timeout(180)

SPOKE = "flex"
# Long enough that a loaded CI machine answers in time; one test shortens it on purpose.
OFFER_TIMEOUT_S = 60.0
SHORT_OFFER_TIMEOUT_S = 3.0
WORKER = {
    "alice": "WK" + "1" * 32,
    "bob": "WK" + "2" * 32,
    "carol": "WK" + "3" * 32,
}
GENERAL = "WQ" + "0" * 31 + "1"
CALLER_ID = "+15005550006"
SUPPORT_QUEUE = "flex-support"
DOCUMENT = "omniroute_document_id"


@dataclass
class Flex(OmnirouteCalls):
    """Omniroute, the double, and a client for each."""

    omniroute: Server
    double: Server
    api: httpx.AsyncClient
    twilio: httpx.AsyncClient
    db: Database
    servers: Servers
    env: dict[str, str] | None = None

    def restart(self) -> None:
        """Stop Omniroute (SIGTERM) and start it again on the same port and database."""
        self.omniroute.terminate()
        port = self.omniroute.port
        self.omniroute = self.servers.start(self.db.url, port=port, env=self.env)

    async def state(self) -> dict[str, Any]:
        """The double's whole state."""
        r = await self.twilio.get("/double/state")
        assert r.status_code == 200
        result: dict[str, Any] = r.json()
        return result

    async def tasks_of(self, doc_id: str) -> list[dict[str, Any]]:
        """TaskRouter's tasks for one of our documents, oldest first."""
        tasks = (await self.state())["tasks"]
        ours = [
            x for x in tasks if json.loads(x["attributes"]).get("omniroute_document_id") == doc_id
        ]
        return sorted(ours, key=lambda x: x["date_created"])

    async def offers_of(self, work_item_id: str) -> list[t.OfferRow]:
        """Every offer of a work item, in any state, oldest first (read from the database)."""
        async with self.db.session() as s:
            rows = await s.scalars(
                select(t.OfferRow)
                .where(t.OfferRow.work_item_id == work_item_id)
                .order_by(t.OfferRow.created_at)
            )
            return list(rows.all())


async def seed(db: Database, double_port: int, omniroute_port: int, offer_timeout_s: float) -> None:
    """The API seed, demo emails for linking, and a Twilio Flex spoke aimed at the double."""
    await seed_api(db)
    async with db.session() as s, s.begin():
        s.add(t.ChannelRow(id="callback", name="Callback", default_capacity=1))
        for name in WORKER:
            await s.execute(
                update(t.AgentRow)
                .where(t.AgentRow.id == name)
                .values(email=f"{name}@demo.omniroute.local")
            )
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="twilio_flex",
                settings={
                    "account_sid": ACCOUNT_SID,
                    "auth_token": AUTH_TOKEN,
                    "workspace_sid": WORKSPACE_SID,
                    "workflow_sid": WORKFLOW_SID,
                    "callback_url": callback_url(omniroute_port),
                    "reservation_timeout_s": offer_timeout_s,
                    "timeout_s": 5,
                    "taskrouter_base_url": f"http://127.0.0.1:{double_port}",
                    "api_base_url": f"http://127.0.0.1:{double_port}",
                    "caller_id": CALLER_ID,
                },
                presence_map={"available": "Available", "away": "Break", "offline": "Offline"},
                created_at=NOW,
                updated_at=NOW,
            )
        )


def callback_url(omniroute_port: int) -> str:
    """Where TaskRouter's callbacks go: Omniroute's inbound endpoint for the spoke."""
    return f"http://127.0.0.1:{omniroute_port}/api/v1/spokes/{SPOKE}/events"


@contextlib.asynccontextmanager
async def flex_world(
    tmp_path: Path,
    servers: Servers,
    offer_timeout_s: float = OFFER_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Flex]:
    """Omniroute (with `env`) and the double, each in its own process, wired together (SQLite)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"
    migrate.upgrade(url)
    db = Database(url)
    double_port, omniroute_port = free_port(), free_port()
    await seed(db, double_port, omniroute_port, offer_timeout_s)
    if env is not None:
        await add_external_queue(db, SUPPORT_QUEUE, SPOKE, GENERAL)
    double = start_double(
        tmp_path / "logs" / "double.log",
        callback_url=callback_url(omniroute_port),
        port=double_port,
    )
    servers.started.append(double)
    omniroute = servers.start(url, port=omniroute_port, env=env)
    async with (
        httpx.AsyncClient(base_url=omniroute.api_url, timeout=15.0) as api,
        httpx.AsyncClient(base_url=double.base_url, timeout=15.0) as twilio,
    ):
        yield Flex(omniroute, double, api, twilio, db, servers, env)
    await db.dispose()


@pytest.fixture
async def flex(
    request: pytest.FixtureRequest, tmp_path: Path, servers: Servers
) -> AsyncIterator[Flex]:
    """Omniroute and the double, each in its own process, wired to each other (SQLite)."""
    offer_timeout_s = float(getattr(request, "param", OFFER_TIMEOUT_S))
    async with flex_world(tmp_path, servers, offer_timeout_s) as world:
        yield world


async def import_catalog(flex: Flex, channels: tuple[str, ...] = ("chat",)) -> dict[str, Any]:
    r = await flex.api.post(
        f"/spokes/{SPOKE}/import",
        json={"queue_defaults": {"channels": list(channels), "rule_id": "standard"}},
        headers=flex.auth("admin"),
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def general_queue(flex: Flex) -> str:
    queues = await flex.get("/queues")
    return str(next(q["id"] for q in queues if q["provider_queue_id"] == GENERAL))


async def settled(flex: Flex, agent: str) -> None:
    """Wait until nothing for the agent waits in the outbox."""

    async def idle() -> bool:
        pending = await flex.get("/outbox", limit=1000)
        return not [e for e in pending if e["ordering_key"] == f"agent:{agent}@{SPOKE}"]

    await eventually(idle, f"the outbox to deliver {agent}'s presence")


async def callback_answers(flex: Flex, event_type: str, agent: str) -> list[str]:
    """Omniroute's answers to the callbacks of one type ("assignment" or an EventType)."""
    outcomes = []
    for record in (await flex.state())["callbacks"]:
        fields = record["fields"]
        kind = fields.get("EventType", "assignment")
        ours = kind == event_type and fields.get("WorkerSid") == WORKER[agent]
        if ours and record.get("status") == 200:
            outcomes += [e["outcome"] for e in json.loads(record["answer"])["events"]]
    return outcomes


async def sign_in(flex: Flex, agent: str) -> None:
    """The agent logs in to Flex; Omniroute links the worker and sends its presence."""
    r = await flex.twilio.post(f"/double/workers/{WORKER[agent]}/sign-in")
    assert r.status_code == 200, r.text

    async def linked() -> bool:
        return "linked" in await callback_answers(flex, "worker.attributes.update", agent)

    await eventually(linked, f"{agent}'s worker to be linked")
    await settled(flex, agent)


async def sign_in_and_go_available(flex: Flex, *agents: str) -> None:
    for agent in agents:
        await sign_in(flex, agent)
        r = await flex.api.put(
            f"/agents/{agent}/presence",
            json={"presence_id": "available"},
            headers=flex.auth(agent),
        )
        assert r.status_code == 200, r.text

    async def available() -> bool:
        workers = {w["sid"]: w for w in (await flex.state())["workers"]}
        return all(workers[WORKER[a]]["activity_name"] == "Available" for a in agents)

    await eventually(available, "TaskRouter to see the agents available")


async def set_activity(flex: Flex, agent: str, activity: str) -> httpx.Response:
    """The agent picks an activity in Flex."""
    path = f"/double/workers/{WORKER[agent]}/activity"
    return await flex.twilio.post(path, json={"activity": activity})


async def reservation_statuses(flex: Flex, task_sid: str) -> dict[str, str]:
    """Each worker's reservation status for one task."""
    reservations = (await flex.state())["reservations"]
    return {
        r["worker_sid"]: r["reservation_status"] for r in reservations if r["task_sid"] == task_sid
    }


async def test_catalog_presence_offers_transfers_and_wrap_up(flex: Flex) -> None:
    first = await import_catalog(flex)
    assert first["kinds"]["queues"]["counts"]["new"] == 3
    assert {s["provider_id"] for s in first["kinds"]["skills"]["imported"]} >= {"tech"}
    second = await import_catalog(flex)
    assert second["kinds"]["queues"]["counts"]["new"] == 0
    assert second["kinds"]["queues"]["imported"] == []
    queue = await general_queue(flex)

    # Presence out: our available becomes the worker's Available activity.
    await sign_in_and_go_available(flex, "alice")
    # Presence in: bob (known to Flex only by contact_uri) picks Available in Flex.
    await sign_in(flex, "bob")
    r = await flex.twilio.post(
        f"/double/workers/{WORKER['bob']}/activity", json={"activity": "Available"}
    )
    assert r.status_code == 200, r.text

    async def bob_available() -> bool:
        return bool((await flex.get("/agents/bob/presence", "bob"))["presence_id"] == "available")

    await eventually(bob_available, "bob's Flex activity to reach Omniroute")
    # An activity the presence map does not know is an incident, never a guess.
    await sign_in(flex, "carol")
    r = await flex.twilio.post(
        f"/double/workers/{WORKER['carol']}/activity", json={"activity": "Unavailable"}
    )
    assert r.status_code == 200

    async def unmapped() -> bool:
        incidents = await flex.get(f"/spokes/{SPOKE}/incidents")
        return any(i["kind"] == "unmapped_presence" for i in incidents)

    await eventually(unmapped, "an unmapped_presence incident")
    assert (await flex.get("/agents/carol/presence", "carol"))["presence_id"] == "offline"

    # TaskRouter routes the new chat; a rejected reservation goes to the other worker.
    doc_id = await new_chat(flex, queue)
    item = await live_item(flex, doc_id)
    first_agent, offer = await offered(flex, item, "alice", "bob")
    [task] = await flex.tasks_of(doc_id)
    attributes = json.loads(task["attributes"])
    assert attributes["omniroute_work_item_id"] == item
    assert attributes["queue"] == GENERAL
    assert attributes["channel"] == "chat"
    r = await flex.api.post(
        f"/offers/{offer['id']}/reject", json={"reason_id": "busy"}, headers=flex.auth(first_agent)
    )
    assert r.status_code == 200, r.text
    holder = "bob" if first_agent == "alice" else "alice"
    _, second = await offered(flex, item, holder)
    assert await reservation_statuses(flex, task["sid"]) == {
        WORKER[first_agent]: "rejected",
        WORKER[holder]: "pending",
    }
    r = await flex.api.post(f"/offers/{second['id']}/accept", headers=flex.auth(holder))
    assert r.status_code == 200, r.text

    async def assigned() -> bool:
        return bool((await flex.tasks_of(doc_id))[0]["assignment_status"] == "assigned")

    await eventually(assigned, "TaskRouter to assign the task")
    other = first_agent

    # Transfer to an agent is a new task for that worker; cancelling cancels it.
    r = await flex.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=flex.auth(holder)
    )
    assert r.status_code == 201, r.text
    transfer_id = r.json()["id"]
    _, transfer_offer = await offered(flex, transfer_id, other)
    transfer_task = (await flex.tasks_of(doc_id))[-1]
    assert json.loads(transfer_task["attributes"])["transferTargetSid"] == WORKER[other]
    r = await flex.api.delete(f"/documents/{doc_id}/transfer", headers=flex.auth(holder))
    assert r.status_code == 200, r.text
    assert (await flex.get(f"/offers/{transfer_offer['id']}"))["state"] == "withdrawn"

    async def transfer_canceled() -> bool:
        tasks = {x["sid"]: x for x in await flex.tasks_of(doc_id)}
        return bool(tasks[transfer_task["sid"]]["assignment_status"] == "canceled")

    await eventually(transfer_canceled, "TaskRouter to cancel the transfer task")

    # Transfer to an agent, accepted: the target takes over and the old task completes.
    r = await flex.api.post(
        f"/documents/{doc_id}/transfer", json={"target_agent_id": other}, headers=flex.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(flex, r.json()["id"], other)
    r = await flex.api.post(f"/offers/{offer['id']}/accept", headers=flex.auth(other))
    assert r.status_code == 200, r.text
    assert (await flex.get(f"/interactions/{doc_id}"))["agent_id"] == other

    async def original_completed() -> bool:
        return bool((await flex.tasks_of(doc_id))[0]["assignment_status"] == "completed")

    await eventually(original_completed, "TaskRouter to complete the transferred task")
    holder, other = other, holder

    # Transfer to a queue: TaskRouter routes it to the worker who is free.
    r = await flex.api.post(
        f"/documents/{doc_id}/transfer", json={"target_queue_id": queue}, headers=flex.auth(holder)
    )
    assert r.status_code == 201, r.text
    _, offer = await offered(flex, r.json()["id"], other)
    r = await flex.api.post(f"/offers/{offer['id']}/accept", headers=flex.auth(other))
    assert r.status_code == 200, r.text
    assert (await flex.get(f"/interactions/{doc_id}"))["agent_id"] == other

    # End with a wrap-up code: the last task completes carrying it.
    r = await flex.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": "resolved", "notes": "sorted"},
        headers=flex.auth(other),
    )
    assert r.json()["state"] == "closed_complete", r.text

    async def wrapped() -> dict[str, Any] | None:
        last = (await flex.tasks_of(doc_id))[-1]
        return last if last["assignment_status"] == "completed" else None

    last = await eventually(wrapped, "TaskRouter to complete the last task")
    attributes = json.loads(last["attributes"])
    assert attributes["omniroute_wrap_up"]["code_name"] == "Resolved"
    assert attributes["omniroute_wrap_up"]["notes"] == "sorted"
    assert attributes["conversations"]["outcome"] == "Resolved"
    statuses = [x["assignment_status"] for x in await flex.tasks_of(doc_id)]
    assert statuses == ["completed", "canceled", "completed", "completed"]

    # Delivered in order: one event at a time, in our outbox order.
    events = await flex.get("/outbox", state="delivered", limit=1000)
    ours = sorted((e for e in events if e["ordering_key"] == doc_id), key=lambda e: e["seq"])
    delivered = [e["delivered_at"] for e in ours]
    assert delivered == sorted(delivered)


@pytest.mark.parametrize("flex", [SHORT_OFFER_TIMEOUT_S], indirect=True)
async def test_timeouts_duplicates_and_refusals(flex: Flex) -> None:
    await import_catalog(flex)
    queue = await general_queue(flex)
    await sign_in_and_go_available(flex, "alice", "bob")

    # TaskRouter tells us twice (assignment callback and reservation.created): one offer.
    doc_id = await new_chat(flex, queue)
    item = await live_item(flex, doc_id)

    async def first_offer() -> t.OfferRow | None:
        offers = await flex.offers_of(item)
        return offers[0] if offers else None

    first = await eventually(first_offer, "the first offer")
    first_agent = first.agent_id
    other = "bob" if first_agent == "alice" else "alice"
    [task] = await flex.tasks_of(doc_id)

    async def both_answered() -> list[str] | None:
        outcomes = await callback_answers(flex, "reservation.created", first_agent)
        outcomes += await callback_answers(flex, "assignment", first_agent)
        return sorted(outcomes) if len(outcomes) >= 2 else None

    assert await eventually(both_answered, "both callbacks answered") == ["duplicate", "offered"]

    # Our agent does not answer: the offer times out, the reservation is rejected, and
    # TaskRouter reserves the task for the other worker.
    async def moved_on() -> bool:
        statuses = await reservation_statuses(flex, task["sid"])
        return statuses.get(WORKER[first_agent]) == "rejected" and WORKER[other] in statuses

    await eventually(moved_on, "TaskRouter to move on to the other worker")

    async def second_offer() -> list[t.OfferRow] | None:
        offers = await flex.offers_of(item)
        return offers if len(offers) == 2 else None

    offers = await eventually(second_offer, "the other worker's offer")
    assert (offers[0].agent_id, offers[0].state) == (first_agent, "timed_out")
    assert offers[1].agent_id == other

    # A worker TaskRouter thinks available but we may not offer to: refused, then rejected.
    r = await flex.api.patch(
        "/agents/carol", json={"allow_external": False}, headers=flex.auth("admin")
    )
    assert r.status_code == 200
    await sign_in_and_go_available(flex, "carol")
    fresh = await new_chat(flex, queue)

    async def refused_and_rejected() -> bool:
        tasks = await flex.tasks_of(fresh)
        if not tasks:
            return False
        statuses = await reservation_statuses(flex, tasks[0]["sid"])
        return statuses.get(WORKER["carol"]) == "rejected"

    await eventually(refused_and_rejected, "carol's reservation to be refused and rejected")
    assert "refused" in await callback_answers(flex, "assignment", "carol")


async def test_rescind_throttling_and_outage(flex: Flex) -> None:
    await import_catalog(flex)
    queue = await general_queue(flex)

    # TaskRouter times a reservation out before our agent answers: the offer is withdrawn.
    await sign_in_and_go_available(flex, "alice")
    doc_id = await new_chat(flex, queue)
    item = await live_item(flex, doc_id)
    _, offer = await offered(flex, item, "alice")
    [task] = await flex.tasks_of(doc_id)
    [reservation] = (await reservation_statuses(flex, task["sid"])).items()
    assert reservation == (WORKER["alice"], "pending")
    sid = next(
        r["sid"] for r in (await flex.state())["reservations"] if r["task_sid"] == task["sid"]
    )
    r = await flex.twilio.post(f"/double/reservations/{sid}/timeout")
    assert r.status_code == 200

    async def withdrawn() -> bool:
        return bool((await flex.get(f"/offers/{offer['id']}"))["state"] == "withdrawn")

    await eventually(withdrawn, "the rescinded reservation to withdraw the offer")

    async def answered() -> bool:
        return "withdrawn" in await callback_answers(flex, "reservation.timeout", "alice")

    await eventually(answered, "Omniroute's answer to reservation.timeout")
    r = await flex.api.post(
        f"/interactions/{doc_id}/end", json={}, headers=flex.auth("integration")
    )
    assert r.json()["state"] == "closed_abandoned", r.text
    r = await flex.api.put(
        "/agents/alice/presence", json={"presence_id": "offline"}, headers=flex.auth("alice")
    )
    assert r.status_code == 200, r.text

    async def drained() -> bool:
        return not await flex.get("/outbox", limit=1000)

    await eventually(drained, "the outbox to drain before the faults")

    # 429 with Retry-After: the dispatcher waits at least that long, then succeeds.
    r = await flex.twilio.post("/double/faults", json={"status": 429, "count": 1, "retry_after": 2})
    assert r.status_code == 200
    throttled = await new_chat(flex, queue)

    async def created(doc_id: str) -> list[dict[str, Any]] | None:
        return await flex.tasks_of(doc_id) or None

    await eventually(lambda: created(throttled), "the throttled task to be created")
    requests = (await flex.state())["requests"]
    fault = next(i for i, q in enumerate(requests) if q.get("fault") == 429)
    same = ("method", "path", "form")
    retry = next(q for q in requests[fault + 1 :] if all(q[k] == requests[fault][k] for k in same))
    assert retry["at"] - requests[fault]["at"] >= 2.0 - 0.05  # never sooner than Retry-After

    # TaskRouter down for a while: every event is delivered afterwards, once, in order.
    r = await flex.twilio.post("/double/faults", json={"status": 503, "count": 5})
    assert r.status_code == 200
    docs = [await new_chat(flex, queue) for _ in range(3)]
    for doc_id in docs:  # nobody took them: the customer gives up; the end must follow the start
        r = await flex.api.post(
            f"/interactions/{doc_id}/end", json={}, headers=flex.auth("integration")
        )
        assert r.json()["state"] == "closed_abandoned", r.text

    async def all_delivered() -> list[dict[str, Any]] | None:
        waiting = [e for e in await flex.get("/outbox", limit=1000) if e["ordering_key"] in docs]
        delivered = [
            e
            for e in await flex.get("/outbox", state="delivered", limit=1000)
            if e["ordering_key"] in docs
        ]
        return delivered if not waiting and len(delivered) >= 2 * len(docs) else None

    events = await eventually(all_delivered, "every event delivered after the outage", 60.0)
    assert any(e["attempts"] > 1 for e in events)
    state = await flex.state()
    creations = [
        json.loads(q["form"]["Attributes"])["omniroute_document_id"]
        for q in state["requests"]
        if q["method"] == "POST" and q["path"].endswith("/Tasks") and "fault" not in q
    ]
    assert sorted(creations[-3:]) == sorted(docs)
    for doc_id in docs:
        [task] = await flex.tasks_of(doc_id)
        assert task["assignment_status"] == "canceled"
        assert json.loads(task["attributes"])["omniroute_wrap_up"]["state"] == "closed_abandoned"
        ours = sorted((e for e in events if e["ordering_key"] == doc_id), key=lambda e: e["seq"])
        assert [e["type"] for e in ours] == ["new_interaction", "end_interaction"]


async def synced(flex: Flex, agent: str) -> dict[str, Any]:
    """Wait until the agent's Flex profile sync has run."""

    async def probe() -> dict[str, Any] | None:
        for sync in await flex.get(f"/agents/{agent}/profile-sync"):
            if sync["spoke"] == SPOKE and sync["synced_at"]:
                return dict(sync)
        return None

    return await eventually(probe, f"a profile sync of {agent}")


async def test_profile_sync_at_sign_in_and_after_a_change(flex: Flex) -> None:
    await sign_in(flex, "carol")
    first = await synced(flex, "carol")
    assert [s["provider_id"] for s in first["profile"]["skills"]] == ["billing", "french"]
    skills = {s["provider_id"]: s["id"] for s in await flex.get("/skills", limit=100)}
    carol = await flex.get("/agents/carol")
    assert carol["skills"][skills["billing"]] == 1
    assert carol["skills"][skills["french"]] == 1
    general = f"{SPOKE}-{GENERAL.lower()}"
    assert carol["groups"] == [general]
    channels = (await flex.get("/agents/carol/capacity"))["channels"]
    # Flex's chat and SMS channels both carry our chats: the larger capacity counts.
    assert (channels["chat"]["capacity"], channels["voice"]["capacity"]) == (2, 1)

    r = await flex.twilio.post(
        f"/double/workers/{WORKER['carol']}/profile",
        json={
            "attributes": {
                "email": "carol@demo.omniroute.local",
                "full_name": "Carol Flex",
                "routing": {"skills": ["tech"], "levels": {"tech": 7}},
            },
            "channels": {"chat": 5},
        },
    )
    assert r.status_code == 200, r.text
    r = await flex.api.post(f"/agents/carol/profile-sync/{SPOKE}/run", headers=flex.auth("carol"))
    assert r.status_code == 200, r.text
    assert set(r.json()["changed"]) == {"name", "skills", "groups", "capacity"}
    listed = await flex.get("/skills", limit=100)
    skills = {s["provider_id"]: s["id"] for s in listed if s["spoke"] == SPOKE}
    carol = await flex.get("/agents/carol")
    assert carol["name"] == "Carol Flex"
    assert {k: v for k, v in carol["skills"].items() if k in skills.values()} == {skills["tech"]: 7}
    assert sorted(carol["groups"]) == sorted([general, f"{SPOKE}-wq{'0' * 31}3"])
    channels = (await flex.get("/agents/carol/capacity"))["channels"]
    assert channels["chat"]["capacity"] == 5


async def new_call(flex: Flex, queue: str, channel: str) -> str:
    """A voice or callback interaction for the caller waiting at Twilio; its id."""
    r = await flex.api.post(
        "/interactions",
        json={"channel_id": channel, "queue_id": queue, "customer_name": "Ada"},
        headers=flex.auth("integration"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def conference_of(flex: Flex, doc_id: str) -> dict[str, Any]:
    state = await flex.state()
    return next(c for c in state["conferences"] if c["friendly_name"] == f"omniroute-{doc_id}")


async def test_voice_calls_and_callbacks_through_the_voice_api(flex: Flex) -> None:
    await import_catalog(flex, ("chat", "voice", "callback"))
    queue = await general_queue(flex)
    await sign_in_and_go_available(flex, "alice", "bob")

    # A customer calls; TaskRouter reserves the voice task and the call rings for the agent.
    r = await flex.twilio.post("/double/voice/callers", json={"from": "+442079460123"})
    assert r.status_code == 201, r.text
    caller = r.json()["sid"]
    doc_id = await new_call(flex, queue, "voice")
    agent, offer = await offered(flex, await live_item(flex, doc_id), "alice", "bob")
    ringing = await call_when(flex, doc_id, agent, "alerting", [])
    assert ringing["kind"] == "inbound"
    assert ringing["customer_number"] == "+442079460123"
    r = await flex.api.post(f"/offers/{offer['id']}/accept", headers=flex.auth(agent))
    assert r.status_code == 200, r.text
    connected = await call_when(
        flex, doc_id, agent, "connected", ["hold", "mute", "transfer", "end"]
    )
    assert connected["connected_at"] is not None
    conference = await conference_of(flex, doc_id)
    labels = {p["label"]: p for p in conference["participants"]}
    assert labels["customer"]["call_sid"] == caller

    await control(flex, doc_id, agent, "hold")
    await call_when(flex, doc_id, agent, "held", ["resume", "mute", "transfer", "end"])
    customer = next(
        p for p in (await conference_of(flex, doc_id))["participants"] if p["label"] == "customer"
    )
    assert customer["hold"] is True
    # Omniroute restarts mid-call: the spoke reads the call's sids back from its store.
    flex.restart()
    await control(flex, doc_id, agent, "resume")
    await call_when(flex, doc_id, agent, "connected", ["hold", "mute", "transfer", "end"])
    await control(flex, doc_id, agent, "mute")
    muted = await call_when(flex, doc_id, agent, "connected", ["hold", "unmute", "transfer", "end"])
    assert muted["muted"] is True
    # A cold transfer: the target joins the conference and the agent's leg hangs up.
    await control(flex, doc_id, agent, "transfer", target="+442079460999")
    await call_when(flex, doc_id, agent, "ended", [])
    after = await conference_of(flex, doc_id)
    assert {p["label"] for p in after["participants"]} == {"customer", "transfer"}
    assert {p["call_sid"] for p in after["participants"]} >= {caller}

    # A customer asks for a callback; the first dial rings out, the retry connects.
    other = "bob" if agent == "alice" else "alice"
    number = "+442079460555"
    r = await flex.twilio.post("/double/voice/callers", json={"from": number, "callback": True})
    assert r.status_code == 201, r.text
    r = await flex.twilio.post("/double/voice/unanswered", json={"number": number, "count": 1})
    assert r.status_code == 200, r.text
    callback = await new_call(flex, queue, "callback")
    _, offer = await offered(flex, await live_item(flex, callback), other)
    r = await flex.api.post(f"/offers/{offer['id']}/accept", headers=flex.auth(other))
    assert r.status_code == 200, r.text
    scheduled = await call_when(flex, callback, other, "scheduled", ["dial"])
    assert scheduled["kind"] == "callback"
    assert scheduled["customer_number"] == number
    await control(flex, callback, other, "dial", number=number)
    await call_when(flex, callback, other, "no_answer", ["retry_callback"])
    await control(flex, callback, other, "retry_callback")
    await call_when(flex, callback, other, "connected", ["hold", "mute", "transfer", "end"])
    await control(flex, callback, other, "end")
    await call_when(flex, callback, other, "ended", [])
    dialled = [c for c in (await flex.state())["calls"] if c["to"] == number]
    assert [c["status"] for c in dialled] == ["no-answer", "completed"]
    assert all(c["from"] == CALLER_ID for c in dialled)

    # Both wrapped up: their tasks complete, which frees the workers in TaskRouter.
    for done, who in ((doc_id, agent), (callback, other)):
        await wrap_up(flex, done, who)
        assert (await completed_task(flex, done))["omniroute_wrap_up"]["code_name"] == "Resolved"
    await a_flex_callback_task(flex)


async def flex_task(flex: Flex, attributes: dict[str, Any]) -> str:
    """A voice task made in Flex (a Studio flow, a plugin's Function) with these attributes."""
    r = await flex.twilio.post(
        f"/v1/Workspaces/{WORKSPACE_SID}/Tasks",
        data={
            "WorkflowSid": WORKFLOW_SID,
            "Attributes": json.dumps(attributes),
            "TaskChannel": "voice",
        },
        auth=(ACCOUNT_SID, AUTH_TOKEN),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["sid"])


async def held_by(flex: Flex, doc_id: str, *agents: str) -> dict[str, Any]:
    """The interaction once one of the agents has it."""

    async def probe() -> dict[str, Any] | None:
        doc: dict[str, Any] = await flex.get(f"/interactions/{doc_id}")
        return doc if doc["agent_id"] in agents else None

    return await eventually(probe, f"{doc_id} to be one of {agents}'s")


async def a_flex_callback_task(flex: Flex) -> None:
    """A callback task made in Flex: auto-accepted, called back, moved by a Flex transfer."""
    # A Studio flow records the request in Omniroute with no queue (Flex routes it)...
    r = await flex.api.post(
        "/interactions",
        json={"channel_id": "callback", "customer_name": "Ada"},
        headers=flex.auth("integration"),
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    assert r.json()["work_item_id"] is None
    # ...then makes the task as Flex's callback plugin does, naming our interaction and
    # asking for auto-accept.
    number = "+442079460777"
    attributes = {
        "taskType": "callback",
        "from": number,
        "name": number,
        "direction": "inbound",
        "callBackData": {"numberToCall": number, "numberToCallFrom": CALLER_ID, "attempts": 0},
        "queue": GENERAL,
        DOCUMENT: doc_id,
        "omniroute_auto_accept": True,
        "omniroute_display_option": "card_and_tab",
    }
    task_sid = await flex_task(flex, attributes)
    # The reservation is a provider transfer from the task's queue, accepted without a click.
    doc = await held_by(flex, doc_id, "alice", "bob")
    holder = doc["agent_id"]
    other = "bob" if holder == "alice" else "alice"
    assert await flex.get(f"/agents/{holder}/offers", holder) == []
    item = await flex.get(f"/work-items/{doc['work_item_id']}")
    assert (item["queue_id"], item["channel_id"]) == (await general_queue(flex), "callback")
    [offer] = await flex.offers_of(doc["work_item_id"])
    assert (offer.state, offer.auto_accept, offer.display_option) == (
        "accepted",
        True,
        "card_and_tab",
    )

    async def assigned() -> bool:
        task = next(x for x in (await flex.state())["tasks"] if x["sid"] == task_sid)
        named = json.loads(task["attributes"]).get("omniroute_work_item_id")
        return bool(task["assignment_status"] == "assigned" and named == doc["work_item_id"])

    await eventually(assigned, "TaskRouter to assign the task, named with our work item")

    # "Call back" dials callBackData.numberToCall through the Conference Participants API.
    scheduled = await call_when(flex, doc_id, holder, "scheduled", ["dial"])
    assert (scheduled["kind"], scheduled["customer_number"]) == ("callback", number)
    await control(flex, doc_id, holder, "dial", number=number)
    await call_when(flex, doc_id, holder, "connected", ["hold", "mute", "transfer", "end"])
    customer = next(
        p for p in (await conference_of(flex, doc_id))["participants"] if p["label"] == "customer"
    )
    [dialled] = [c for c in (await flex.state())["calls"] if c["sid"] == customer["call_sid"]]
    assert (dialled["to"], dialled["from"]) == (number, CALLER_ID)

    # A cold transfer made in Flex: its Function copies the task's attributes into a new task
    # for the other worker. The work moves (auto-accepted again: the attributes say so).
    task = next(x for x in (await flex.state())["tasks"] if x["sid"] == task_sid)
    copied = json.loads(task["attributes"]) | {
        "transferTargetType": "worker",
        "transferTargetSid": WORKER[other],
        "transferMeta": {"mode": "COLD", "originalTask": task_sid},
    }
    await flex_task(flex, copied)
    doc = await held_by(flex, doc_id, other)
    item = await flex.get(f"/work-items/{doc['work_item_id']}")
    assert (item["transfer_type"], item["transfer_from_agent_id"]) == ("blind", holder)
    await wrap_up(flex, doc_id, other)
    # The transfer's task (renamed with the new work item when accepted) completes with it.
    attributes = await completed_task(flex, doc_id)
    assert attributes["omniroute_wrap_up"]["code_name"] == "Resolved"
    assert attributes["omniroute_work_item_id"] == doc["work_item_id"]


async def wrap_up(flex: Flex, doc_id: str, agent: str) -> None:
    r = await flex.api.post(
        f"/interactions/{doc_id}/end",
        json={"wrap_up_code_id": "resolved"},
        headers=flex.auth(agent),
    )
    assert r.status_code == 200, r.text


async def completed_task(flex: Flex, doc_id: str) -> dict[str, Any]:
    """Wait until TaskRouter completed the document's last task; its attributes."""

    async def probe() -> dict[str, Any] | None:
        tasks = await flex.tasks_of(doc_id)
        last = tasks[-1] if tasks else None
        return last if last and last["assignment_status"] == "completed" else None

    task = await eventually(probe, f"TaskRouter to complete the task of {doc_id}")
    attributes: dict[str, Any] = json.loads(task["attributes"])
    return attributes


async def test_an_email_and_a_case_routed_by_flex_to_wrap_up(
    tmp_path: Path, servers: Servers, relay: tuple[Controller, Recorder]
) -> None:
    smtp_port = free_port()
    env = mail_env(smtp_port, relay[0].port, SUPPORT_QUEUE)
    async with flex_world(tmp_path, servers, env=env) as flex:
        await sign_in_and_go_available(flex, "alice")

        # An email arrives by SMTP; TaskRouter reserves its task for Alice, who replies.
        send_customer_mail(smtp_port, "Order 1234 arrived broken", "The mug was in pieces.")
        email_id = await email_interaction(flex)
        _, offer = await offered(flex, await live_item(flex, email_id), "alice")
        r = await flex.api.post(f"/offers/{offer['id']}/accept", headers=flex.auth("alice"))
        assert r.status_code == 200, r.text
        await reply_relayed(flex, "alice", email_id, relay[1])
        r = await flex.api.post(
            f"/interactions/{email_id}/end",
            json={"wrap_up_code_id": "resolved", "notes": "replacement sent"},
            headers=flex.auth("alice"),
        )
        assert r.status_code == 200, r.text
        wrap_up = (await completed_task(flex, email_id))["omniroute_wrap_up"]
        assert (wrap_up["code_name"], wrap_up["notes"]) == ("Resolved", "replacement sent")

        # A case: TaskRouter routes it, Alice accepts and closes it with a wrap-up code.
        case_id = await new_case(flex, SUPPORT_QUEUE, "Refund for order 1234")
        case = await flex.get(f"/cases/{case_id}")
        _, offer = await offered(flex, case["work_item_id"], "alice")
        r = await flex.api.post(f"/offers/{offer['id']}/accept", headers=flex.auth("alice"))
        assert r.status_code == 200, r.text
        r = await flex.api.post(
            f"/cases/{case_id}/close",
            json={"resolution": "refunded", "wrap_up_code_id": "resolved"},
            headers=flex.auth("alice"),
        )
        assert r.status_code == 200, r.text
        wrap_up = (await completed_task(flex, case_id))["omniroute_wrap_up"]
        assert (wrap_up["code_name"], wrap_up["notes"], wrap_up["state"]) == (
            "Resolved",
            "refunded",
            "closed",
        )
