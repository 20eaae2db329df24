"""An app with a webhook spoke whose provider is a real HTTP receiver, and a voice queue."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from omniroute.spokes import signing
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import Api, api  # noqa: F401 - the fixture, for this folder
from tests.seed import NOW, add_queue
from tests.spokes.receiver import Receiver, Reply, running

SPOKE = "acme"
SECRET = "calls-test-webhook-secret-0123456789abcdef"
HOOK = "/hook"


@dataclass
class Calls:
    """The API, the provider's receiver, and helpers that act as the provider."""

    api: Api
    receiver: Receiver
    events_sent: int = 0

    async def inbound(self, event: dict[str, Any]) -> httpx.Response:
        """POST one signed inbound event as the provider."""
        body = json.dumps(event).encode()
        headers = signing.sign(SECRET, body) | {"Content-Type": "application/json"}
        return await self.api.client.post(f"/spokes/{SPOKE}/events", content=body, headers=headers)

    async def context(
        self,
        interaction_id: str,
        state: str,
        actions: list[str],
        at: datetime,
        event_id: str | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        """Send a call_context and return its outcome."""
        self.events_sent += 1
        event = {
            "schema_version": 1,
            "id": event_id or f"ctx-{self.events_sent}",
            "type": "call_context",
            "data": {
                "interaction_id": interaction_id,
                "state": state,
                "available_actions": actions,
                "occurred_at": at.isoformat(),
            }
            | data,
        }
        r = await self.inbound(event)
        assert r.status_code == 200, r.text
        (outcome,) = r.json()["events"]
        result: dict[str, Any] = outcome
        return result

    def delivered(self) -> list[dict[str, Any]]:
        """Every envelope the provider received, in arrival order."""
        return [json.loads(s.body) for s in self.receiver.requests if s.path == HOOK]

    async def voice_call(self, agent: str = "alice") -> str:
        """A voice interaction in the external queue, offered to and accepted by the agent."""
        headers = self.api.auth("integration")
        r = await self.api.client.post(
            "/interactions", json={"channel_id": "voice", "queue_id": "phones"}, headers=headers
        )
        assert r.status_code == 201, r.text
        doc_id: str = r.json()["id"]
        offer = await self.api.client.post(
            "/work-offers",
            json={"spoke": SPOKE, "document_id": doc_id, "provider_agent_id": f"P-{agent}"},
            headers=headers,
        )
        assert offer.status_code == 201, offer.text
        accepted = await self.api.client.post(
            f"/offers/{offer.json()['offer_id']}/accept", headers=self.api.auth(agent)
        )
        assert accepted.status_code == 200, accepted.text
        return doc_id


async def add_webhook_spoke(db: Database, url: str) -> None:
    """The webhook spoke, a voice queue it routes, and alice and bob linked to it."""
    await add_queue(
        db, "phones", ["voice"], routing_mode="external", spoke=SPOKE, provider_queue_id="PQ-v"
    )
    async with db.session() as s, s.begin():
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="webhook",
                settings={"url": url, "secret": SECRET, "timeout_s": 5},
                presence_map={"available": "On Queue", "away": "Away", "offline": "Offline"},
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await s.flush()
        for name in ("alice", "bob"):
            s.add(
                t.AgentIdentityRow(
                    spoke=SPOKE, provider_agent_id=f"P-{name}", agent_id=name, linked_at=NOW
                )
            )


@pytest.fixture
async def calls(api: Api) -> AsyncIterator[Calls]:  # noqa: F811 - the imported fixture
    """Alice and bob available, linked to a webhook spoke whose provider answers 200."""
    receiver = Receiver()
    receiver.on("POST", HOOK, Reply(200, {"ok": True}))
    async with running(receiver):
        await add_webhook_spoke(api.app.state.db, receiver.url + HOOK)
        await api.engine.reload_config()
        for name in ("alice", "bob"):
            r = await api.client.put(
                f"/agents/{name}/presence",
                json={"presence_id": "available"},
                headers=api.auth(name),
            )
            assert r.status_code == 200, r.text
        yield Calls(api, receiver)


def later(seconds: float) -> datetime:
    """A time after the test clock's start."""
    return NOW + timedelta(seconds=seconds)
