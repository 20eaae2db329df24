"""Restart with real processes: SIGKILL the server, start it again, nothing lost or duplicated."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import Server, Servers

OFFER_TIMEOUT_S = 3
WRAP_UP_LIMIT_S = 3
CHAT_CAPACITY = 2
AGENTS = ("alice", "bob", "carol")
LIVE_ITEM_STATES = {"queued", "pending_accept", "accepted"}
HOLDING_ITEM_STATES = {"pending_accept", "accepted"}
CLOSED_INTERACTION_STATES = {"closed_complete", "closed_abandoned"}
DUE_WAIT_S = 15.0

pytestmark = pytest.mark.timeout(90)


def auth(who: str) -> dict[str, str]:
    """Authorization headers for a token seeded by `seed_api`."""
    return {"Authorization": f"Bearer token-{who}"}


@pytest.fixture
async def store(server_db_url: str) -> AsyncIterator[Database]:
    """The migrated, seeded database the servers use; all agents available on chat."""
    migrate.upgrade(server_db_url)
    db = Database(server_db_url)
    await seed_api(db)
    async with db.session() as s, s.begin():
        await s.execute(
            update(t.RuleRow)
            .where(t.RuleRow.id == "standard")
            .values(offer_timeout_s=OFFER_TIMEOUT_S, presence_after_timeout="away")
        )
        await s.execute(update(t.AgentRow).values(presence_id="available"))
        s.add(t.WrapUpCodeRow(id="quick", name="Quick", time_limit_s=WRAP_UP_LIMIT_S))
    yield db
    await db.dispose()


def client(server: Server) -> httpx.AsyncClient:
    """An API client for one server."""
    return httpx.AsyncClient(base_url=server.api_url, timeout=10.0)


async def create_interaction(c: httpx.AsyncClient, n: int) -> str:
    """Create a chat interaction in the support queue; returns its id."""
    body = {"channel_id": "chat", "queue_id": "support", "subject": f"restart #{n}"}
    response = await c.post("/interactions", json=body, headers=auth("integration"))
    assert response.status_code == 201, response.text
    interaction_id: str = response.json()["id"]
    return interaction_id


async def pending_offers(c: httpx.AsyncClient, agent_id: str) -> list[dict[str, Any]]:
    """An agent's pending offers, oldest first."""
    response = await c.get(f"/agents/{agent_id}/offers", headers=auth("integration"))
    assert response.status_code == 200, response.text
    offers: list[dict[str, Any]] = response.json()
    return offers


async def get_json(c: httpx.AsyncClient, path: str) -> dict[str, Any]:
    """GET a resource as the administrator."""
    response = await c.get(path, headers=auth("admin"))
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Snapshot:
    """The rows the invariants are checked against."""

    interactions: dict[str, t.InteractionRow]
    items: dict[str, t.WorkItemRow]
    offers: dict[str, t.OfferRow]
    agents: dict[str, t.AgentRow]
    events: list[t.AgentEventRow]


async def snapshot(db: Database) -> Snapshot:
    """Read every routing row straight from the store."""
    async with db.session() as s:
        interactions = {r.id: r for r in await s.scalars(select(t.InteractionRow))}
        items = {r.id: r for r in await s.scalars(select(t.WorkItemRow))}
        offers = {r.id: r for r in await s.scalars(select(t.OfferRow))}
        agents = {r.id: r for r in await s.scalars(select(t.AgentRow))}
        events = list(await s.scalars(select(t.AgentEventRow).order_by(t.AgentEventRow.seq)))
    return Snapshot(interactions, items, offers, agents, events)


def check_invariants(snap: Snapshot, created: set[str]) -> None:
    """Nothing lost, nothing duplicated, no item with two live offers, no agent over capacity."""
    missing = created - set(snap.interactions)
    assert not missing, f"acknowledged interactions lost: {sorted(missing)}"

    live_by_doc: dict[str, list[t.WorkItemRow]] = defaultdict(list)
    for item in snap.items.values():
        if item.state in LIVE_ITEM_STATES:
            live_by_doc[item.document_id].append(item)
    for doc in snap.interactions.values():
        live = live_by_doc.get(doc.id, [])
        if doc.state in CLOSED_INTERACTION_STATES:
            assert not live, f"closed interaction {doc.id} ({doc.state}) has live items {live}"
        else:
            assert len(live) == 1, f"interaction {doc.id} ({doc.state}) has {len(live)} live items"
            assert doc.work_item_id == live[0].id, f"interaction {doc.id} points elsewhere"

    offers_by_item: dict[str, list[t.OfferRow]] = defaultdict(list)
    for offer in snap.offers.values():
        offers_by_item[offer.work_item_id].append(offer)
    for item in snap.items.values():
        offers = offers_by_item.get(item.id, [])
        pending = [o for o in offers if o.state == "pending"]
        assert len(pending) <= 1, f"work item {item.id} has {len(pending)} pending offers"
        assert item.offer_count == len(offers), (
            f"work item {item.id}: offer_count {item.offer_count} but {len(offers)} offer rows"
        )
        if item.state == "pending_accept":
            assert len(pending) == 1, f"pending_accept item {item.id} has no pending offer"
            assert pending[0].agent_id == item.agent_id
        else:
            assert not pending, f"{item.state} item {item.id} still has a pending offer"

    load: Counter[str] = Counter(
        i.agent_id for i in snap.items.values() if i.state in HOLDING_ITEM_STATES and i.agent_id
    )
    for agent_id, held in load.items():
        assert held <= CHAT_CAPACITY, f"agent {agent_id} holds {held} chat items"

    seqs = [e.seq for e in snap.events]
    assert len(seqs) == len(set(seqs)), "agent_events has a repeated seq"
    assert seqs == list(range(1, len(seqs) + 1)), "agent_events seqs are not 1..n"
    created_events = Counter(
        e.payload["offer_id"] for e in snap.events if e.type == "offer.created"
    )
    ended_events: dict[str, list[t.AgentEventRow]] = defaultdict(list)
    for e in snap.events:
        if e.type == "offer.ended":
            ended_events[e.payload["offer_id"]].append(e)
    assert set(created_events) == set(snap.offers), "offer.created events and offers differ"
    assert all(n == 1 for n in created_events.values()), f"duplicated: {created_events}"
    for offer in snap.offers.values():
        ended = ended_events.get(offer.id, [])
        if offer.state == "pending":
            assert not ended, f"pending offer {offer.id} has offer.ended events"
            continue
        assert len(ended) == 1, f"offer {offer.id} ({offer.state}) has {len(ended)} ended events"
        assert ended[0].payload["state"] == offer.state
        assert ended[0].agent_id == offer.agent_id


async def wait_until_all_due(db: Database, timeout_s: float = DUE_WAIT_S) -> None:
    """Poll the store until every stored offer and wrap-up due time has passed."""
    async with db.session() as s:
        offer_dues = await s.scalars(
            select(t.OfferRow.expires_at).where(
                t.OfferRow.state == "pending", t.OfferRow.expires_at.is_not(None)
            )
        )
        wrap_dues = await s.scalars(
            select(t.InteractionRow.wrap_up_due_at).where(
                t.InteractionRow.wrap_up_due_at.is_not(None)
            )
        )
        dues = [d for d in [*offer_dues, *wrap_dues] if d is not None]
    assert dues, "nothing was due"
    latest = max(dues)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while datetime.now(UTC) <= latest:
        assert asyncio.get_running_loop().time() < deadline, f"{latest} did not pass in time"
        await asyncio.sleep(0.05)


async def test_timeouts_due_while_down_fire_once_after_sigkill(
    store: Database, servers: Servers
) -> None:
    first = servers.start(store.url)
    created: list[str] = []
    async with client(first) as c:
        for n in range(len(AGENTS) * CHAT_CAPACITY + 1):
            created.append(await create_interaction(c, n))
        offers = {a: await pending_offers(c, a) for a in AGENTS}
        assert {a: len(o) for a, o in offers.items()} == dict.fromkeys(AGENTS, CHAT_CAPACITY)

        kept_offer, ended_offer = offers["alice"]
        for offer in (kept_offer, ended_offer):
            response = await c.post(f"/offers/{offer['id']}/accept", headers=auth("alice"))
            assert response.status_code == 200, response.text
        kept_item = await get_json(c, f"/work-items/{kept_offer['work_item_id']}")
        wrap_item = await get_json(c, f"/work-items/{ended_offer['work_item_id']}")
        kept_id, wrap_id = kept_item["document_id"], wrap_item["document_id"]
        response = await c.post(
            f"/interactions/{wrap_id}/end", json={"wrap_up_code_id": "quick"}, headers=auth("alice")
        )
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "wrap_up"

    assert first.kill() == -9
    killed_at = datetime.now(UTC)
    before = await snapshot(store)
    check_invariants(before, set(created))
    due_offers = {o.id: o for o in before.offers.values() if o.state == "pending"}
    assert {o.agent_id for o in due_offers.values()} == {"bob", "carol"}
    assert len(due_offers) == 2 * CHAT_CAPACITY
    wrap_due = before.interactions[wrap_id].wrap_up_due_at
    assert wrap_due is not None
    # The premise: every timer was still in the future when the server died.
    late = [o.id for o in due_offers.values() if o.expires_at is None or o.expires_at <= killed_at]
    assert not late, "setup too slow: offers timed out before the kill"
    assert wrap_due > killed_at, "setup too slow: wrap-up fell due before the kill"

    await wait_until_all_due(store)
    second = servers.start(store.url)
    after = await snapshot(store)
    async with client(second) as c:
        timed_out_items: set[str] = set()
        for offer_id, old in due_offers.items():
            offer = await get_json(c, f"/offers/{offer_id}")
            assert offer["state"] == "timed_out", offer
            assert offer["ended_at"] is not None
            assert old.expires_at is not None
            assert datetime.fromisoformat(offer["ended_at"]) >= old.expires_at
            item = await get_json(c, f"/work-items/{old.work_item_id}")
            assert item["timed_out"] is True, item
            assert item["state"] in ("queued", "pending_accept"), item
            assert item["agent_id"] != old.agent_id
            timed_out_items.add(item["id"])
        for agent_id in ("bob", "carol"):
            presence = await get_json(c, f"/agents/{agent_id}/presence")
            assert presence["presence_id"] == "away", presence

        wrapped = await get_json(c, f"/interactions/{wrap_id}")
        assert wrapped["state"] == "closed_complete", wrapped
        assert wrapped["closed_at"] is not None
        assert wrapped["wrap_up_code_id"] == "quick"
        assert (await get_json(c, f"/work-items/{wrap_item['id']}"))["state"] == "closed"

        kept = await get_json(c, f"/interactions/{kept_id}")
        assert kept["state"] == "work_in_progress", kept
        assert kept["agent_id"] == "alice"
        kept_now = await get_json(c, f"/work-items/{kept_item['id']}")
        assert (kept_now["state"], kept_now["agent_id"]) == ("accepted", "alice")

    check_invariants(after, set(created))
    # The wrap-up closing freed one of alice's slots: exactly one queued item went to her.
    new_offers = [o for o in after.offers.values() if o.id not in before.offers]
    assert [o.agent_id for o in new_offers] == ["alice"], new_offers
    assert new_offers[0].created_at > killed_at
    queued = {i.id for i in after.items.values() if i.state == "queued"}
    assert len(queued) == len(created) - 2 - 1
    assert timed_out_items <= queued | {new_offers[0].work_item_id}
    timeout_presence = [
        e
        for e in after.events
        if e.type == "presence.changed" and e.payload["reason"] == "offer_timed_out"
    ]
    assert {e.agent_id for e in timeout_presence} == {"bob", "carol"}
    assert all(e.payload["presence_id"] == "away" for e in timeout_presence)


async def test_acknowledged_creates_survive_sigkill(store: Database, servers: Servers) -> None:
    first = servers.start(store.url)
    acknowledged: set[str] = set()
    enough = asyncio.Event()
    target = 40

    async def writer(c: httpx.AsyncClient, worker: int) -> None:
        n = 0
        while True:
            body = {"channel_id": "chat", "queue_id": "support", "subject": f"w{worker}-{n}"}
            try:
                response = await c.post("/interactions", json=body, headers=auth("integration"))
            except httpx.TransportError:
                return
            assert response.status_code == 201, response.text
            acknowledged.add(response.json()["id"])
            n += 1
            if len(acknowledged) >= target:
                enough.set()

    async with client(first) as c:
        tasks = [asyncio.create_task(writer(c, w)) for w in range(4)]
        await asyncio.wait_for(enough.wait(), timeout=30)
        assert first.kill() == -9  # with requests still in flight
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)

    second = servers.start(store.url)
    snap = await snapshot(store)
    check_invariants(snap, acknowledged)
    async with client(second) as c:
        for interaction_id in sorted(acknowledged):
            doc = await get_json(c, f"/interactions/{interaction_id}")
            assert doc["state"] in ("on_hold", "work_in_progress"), doc
            assert doc["work_item_id"] is not None
