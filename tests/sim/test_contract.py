"""The simulator and these tests speak the webhook spoke's documented schema (version 1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from omniroute.spokes.events_schema import INBOUND_EVENT, OUTGOING_EVENT, CatalogPage
from omniroute.spokes.signing import sign
from tests.sim.conftest import SECRET, Sim, make_envelope, new_interaction, outcome

AT = datetime(2026, 1, 1, 10, tzinfo=UTC).isoformat()


def _transfer() -> dict[str, Any]:
    return new_interaction("t1", document_id="doc-w1") | {
        "transfer_id": "t1",
        "transfer_type": "blind",
        "from": {"agent_id": "alice", "provider_agent_id": "sim-a1"},
        "to": {"agent_id": "bob", "provider_agent_id": "sim-a2"},
    }


SAMPLES: dict[str, dict[str, Any]] = {
    "new_interaction": new_interaction("w1"),
    "offer_outcome": outcome("w1", "sim-a1", "rejected", reassignable=True) | {"agent_id": "alice"},
    "end_interaction": {
        "document_type": "interaction",
        "document_id": "doc-w1",
        "work_item_id": "w1",
        "state": "closed_complete",
        "wrap_up_code_id": "resolved",
        "wrap_up_code_name": "Resolved",
        "notes": None,
        "at": AT,
        "agent_id": "alice",
        "provider_agent_id": "sim-a1",
    },
    "transfer_to_agent": _transfer(),
    "transfer_to_queue": _transfer() | {"to": {"agent_id": None, "provider_agent_id": None}},
    "cancel_transfer": _transfer(),
    "agent_presence": {
        "agent_id": "alice",
        "provider_agent_id": "sim-a1",
        "presence_id": "available",
        "provider_state": "On Queue",
        "channel_available": {"chat": True},
        "at": AT,
    },
}


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
async def test_every_documented_event_is_accepted(sim: Sim, event_type: str) -> None:
    envelope = make_envelope(event_type, SAMPLES[event_type])
    OUTGOING_EVENT.validate_python(envelope)
    response = await sim.post_event(event_type, SAMPLES[event_type])
    assert response.status_code == 200
    assert response.json()["status"] == "processed"


async def test_unknown_fields_are_ignored(sim: Sim) -> None:
    data = new_interaction("w1") | {"a_field_from_the_future": {"x": 1}}
    response = await sim.post_event("new_interaction", data, another_envelope_field=True)
    assert response.json()["status"] == "processed"


async def test_inbound_events_parse_with_omniroutes_parser(sim: Sim) -> None:
    await sim.client.post("/sim/agents/sim-a1/sign-in", json={"state": "Away"})
    envelopes = [e["envelope"] for e in sim.fake.events]
    assert [e["type"] for e in envelopes] == ["agent_signed_in", "agent_presence"]
    for envelope in envelopes:
        INBOUND_EVENT.validate_python(envelope)


@pytest.mark.parametrize("kind", ["skills", "queues", "wrap-up-codes", "agents"])
async def test_catalog_pages_follow_the_schema(sim: Sim, kind: str) -> None:
    response = await sim.client.get(f"/catalog/{kind}", headers=sign(SECRET, b""))
    page = CatalogPage.model_validate(response.json())
    assert page.items


async def test_health_without_a_catalog_url(sim: Sim) -> None:
    assert (await sim.client.get("/webhook?health=1")).status_code == 401
    response = await sim.client.get("/webhook?health=1", headers=sign(SECRET, b""))
    assert response.status_code == 200
