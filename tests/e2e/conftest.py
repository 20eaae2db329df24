"""Omniroute and the contact-center simulator as real processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import smtplib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from omniroute.sim.world import default_world
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.channels.test_email import Recorder
from tests.procs import Server, Servers, free_port
from tests.seed import NOW
from tests.sim.procs import start_sim

SPOKE = "sim"
SECRET = "e2e-shared-webhook-secret-0123456789abcdef"
SIM_OFFER_TIMEOUT_S = 4.0
DEADLINE_S = 30.0
T = TypeVar("T")


class OmnirouteCalls:
    """Calls on Omniroute's API as the tokens `seed_api` creates; `api` is set by subclasses."""

    api: httpx.AsyncClient

    @staticmethod
    def auth(who: str) -> dict[str, str]:
        """Authorization headers for a token seeded by `seed_api`."""
        return {"Authorization": f"Bearer token-{who}"}

    async def get(self, path: str, who: str = "admin", **params: Any) -> Any:
        """GET an Omniroute API path and return its JSON, asserting success."""
        r = await self.api.get(path, headers=self.auth(who), params=params)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        return r.json()


async def new_chat(world: OmnirouteCalls, queue: str) -> str:
    """Create a chat interaction in a queue, as the integration; its id."""
    r = await world.api.post(
        "/interactions",
        json={"channel_id": "chat", "queue_id": queue, "subject": "help"},
        headers=world.auth("integration"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def offered(
    world: OmnirouteCalls, work_item_id: str, *agents: str
) -> tuple[str, dict[str, Any]]:
    """Wait until one of the agents has a pending offer of the work item."""

    async def probe() -> tuple[str, dict[str, Any]] | None:
        for agent in agents:
            for offer in await world.get(f"/agents/{agent}/offers", agent):
                if offer["work_item_id"] == work_item_id:
                    return agent, offer
        return None

    return await eventually(probe, f"an offer of {work_item_id} to one of {agents}")


async def live_item(world: OmnirouteCalls, doc_id: str) -> str:
    """The work item an interaction is routed or worked under now."""
    return str((await world.get(f"/interactions/{doc_id}"))["work_item_id"])


@dataclass
class World(OmnirouteCalls):
    """The two processes and clients for each side."""

    omniroute: Server
    sim: Server
    api: httpx.AsyncClient
    sim_api: httpx.AsyncClient
    db: Database

    async def sim_state(self) -> dict[str, Any]:
        """The simulator's whole state."""
        r = await self.sim_api.get("/sim/state")
        assert r.status_code == 200
        state: dict[str, Any] = r.json()
        return state

    async def offers(self, agent: str) -> list[dict[str, Any]]:
        """An agent's pending offers."""
        result: list[dict[str, Any]] = await self.get(f"/agents/{agent}/offers", agent)
        return result


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = DEADLINE_S
) -> T:
    """Poll until the probe returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def call_when(
    world: OmnirouteCalls, doc_id: str, agent: str, state: str, actions: list[str]
) -> dict[str, Any]:
    """The interaction's call context once it is in `state` offering exactly `actions`."""

    async def probe() -> dict[str, Any] | None:
        r = await world.api.get(f"/interactions/{doc_id}/call", headers=world.auth(agent))
        body: dict[str, Any] = r.json()
        ok = r.status_code == 200 and body["state"] == state
        return body if ok and body["available_actions"] == actions else None

    return await eventually(probe, f"the call of {doc_id} to be {state} offering {actions}")


async def control(
    world: OmnirouteCalls, doc_id: str, agent: str, action: str, **params: str
) -> None:
    """An agent's call control, accepted for the provider (202)."""
    r = await world.api.post(
        f"/interactions/{doc_id}/controls",
        json={"action": action, "params": params},
        headers=world.auth(agent),
    )
    assert r.status_code == 202, r.text


async def seed_external(db: Database, sim_port: int) -> None:
    """The API seed plus a webhook spoke pointing at the simulator; demo emails for linking."""
    await seed_api(db)
    async with db.session() as s, s.begin():
        for name in ("alice", "bob", "carol"):
            await s.execute(
                update(t.AgentRow)
                .where(t.AgentRow.id == name)
                .values(email=f"{name}@demo.omniroute.local")
            )
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="webhook",
                settings={
                    "url": f"http://127.0.0.1:{sim_port}/webhook",
                    "catalog_url": f"http://127.0.0.1:{sim_port}/catalog",
                    "secret": SECRET,
                    "timeout_s": 5,
                },
                presence_map={"available": "On Queue", "away": "Away", "offline": "Offline"},
                created_at=NOW,
                updated_at=NOW,
            )
        )


def scenario_file(directory: Path) -> Path:
    """The simulator's default world with a short offer timeout."""
    world = default_world()
    world.settings.offer_timeout_s = SIM_OFFER_TIMEOUT_S
    path = directory / "scenario.json"
    path.write_text(json.dumps(world.model_dump(mode="json")))
    return path


@pytest.fixture
async def world(server_db_url: str, servers: Servers, tmp_path: Path) -> AsyncIterator[World]:
    """Omniroute and the simulator, each in its own process, wired to each other."""
    migrate.upgrade(server_db_url)
    db = Database(server_db_url)
    sim_port = free_port()
    await seed_external(db, sim_port)
    omniroute = servers.start(server_db_url)
    sim = start_sim(
        tmp_path / "logs" / "sim.log",
        omniroute_url=omniroute.base_url,
        token="token-integration",
        secret=SECRET,
        spoke=SPOKE,
        scenario=scenario_file(tmp_path),
        port=sim_port,
    )
    servers.started.append(sim)
    async with (
        httpx.AsyncClient(base_url=omniroute.api_url, timeout=15.0) as api,
        httpx.AsyncClient(base_url=sim.base_url, timeout=15.0) as sim_api,
    ):
        yield World(omniroute, sim, api, sim_api, db)
    await db.dispose()


SUPPORT_ADDRESS = "support@omniroute.test"


@pytest.fixture
def relay() -> Iterator[tuple[Controller, Recorder]]:
    """An SMTP relay that records what Omniroute sends customers."""
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


def mail_env(smtp_port: int, relay_port: int, queue_id: str) -> dict[str, str]:
    """Server settings for email in on `smtp_port` into `queue_id`, replies out by the relay."""
    return {
        "OMNIROUTE_EMAIL_ENABLED": "1",
        "OMNIROUTE_SMTP_LISTEN_PORT": str(smtp_port),
        "OMNIROUTE_EMAIL_QUEUE_ID": queue_id,
        "OMNIROUTE_EMAIL_FROM_ADDRESS": SUPPORT_ADDRESS,
        "OMNIROUTE_SMTP_RELAY_HOST": "127.0.0.1",
        "OMNIROUTE_SMTP_RELAY_PORT": str(relay_port),
    }


def send_customer_mail(smtp_port: int, subject: str, body: str) -> None:
    """A customer's email to support, over SMTP."""
    mail = EmailMessage()
    mail["From"] = "Dana Customer <dana@customer.test>"
    mail["To"] = SUPPORT_ADDRESS
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{abs(hash(subject))}@customer.test>"
    mail.set_content(body)
    with smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="client.test") as client:
        client.send_message(mail)


async def email_interaction(world: OmnirouteCalls) -> str:
    """Wait for the first email interaction; its id."""

    async def probe() -> str | None:
        found = await world.get("/interactions", channel_id="email")
        return next((str(i["id"]) for i in found), None)

    return await eventually(probe, "the email to become an interaction")


async def reply_relayed(world: OmnirouteCalls, agent: str, doc_id: str, recorder: Recorder) -> None:
    """The agent replies to the customer; wait until the relay has it."""
    r = await world.api.post(
        f"/interactions/{doc_id}/email-replies",
        json={"body": "Sorry! A new one is on its way."},
        headers=world.auth(agent),
    )
    assert r.status_code == 201, r.text

    async def relayed() -> bool:
        return bool(recorder.envelopes)

    await eventually(relayed, "the reply at the relay")


async def new_case(world: OmnirouteCalls, queue: str, subject: str) -> str:
    """A case in a queue, created by the integration; its id."""
    r = await world.api.post(
        "/cases",
        json={
            "channel_id": "case",
            "queue_id": queue,
            "subject": subject,
            "customer_email": "dana@customer.test",
        },
        headers=world.auth("integration"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def add_external_queue(
    db: Database, queue_id: str, spoke: str, provider_queue_id: str
) -> None:
    """An external queue for emails and cases, served by one of the provider's queues."""
    async with db.session() as s, s.begin():
        s.add(
            t.QueueRow(
                id=queue_id,
                name=f"Support ({spoke})",
                channels=["email", "case"],
                rule_id="standard",
                routing_mode="external",
                spoke=spoke,
                provider_queue_id=provider_queue_id,
            )
        )
