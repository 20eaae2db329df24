"""The Twilio Flex spoke through the official twilio client against the TaskRouter double."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes.base import (
    CatalogKind,
    RoutingEvent,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.twilio_flex import TwilioFlexSettings, TwilioFlexSpoke
from tests.doubles.twilio.model import ACCOUNT_SID, AUTH_TOKEN, WORKFLOW_SID, WORKSPACE_SID
from tests.doubles.twilio.procs import start_double
from tests.procs import Server
from tests.spokes.payloads import routing_events

pytestmark = pytest.mark.timeout(60)

ALICE = "WK" + "1" * 32
BOB = "WK" + "2" * 32
GENERAL = "WQ" + "0" * 31 + "1"
TECH = "WQ" + "0" * 31 + "3"
WORK_ITEM = "omniroute_work_item_id"
# Nothing listens there: the double's callbacks fail quietly, which these tests do not need.
NOWHERE = "http://127.0.0.1:9/events"


@pytest.fixture(scope="module")
def double(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One double for the module; each test uses its own work item ids."""
    log = Path(tmp_path_factory.mktemp("twilio")) / "double.log"
    server = start_double(log, callback_url=NOWHERE)
    yield server
    server.terminate()


def settings(base_url: str, **extra: Any) -> TwilioFlexSettings:
    return TwilioFlexSettings.model_validate(
        {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "workspace_sid": WORKSPACE_SID,
            "workflow_sid": WORKFLOW_SID,
            "callback_url": NOWHERE,
            "taskrouter_base_url": base_url,
            "timeout_s": 5,
        }
        | extra
    )


@pytest.fixture
async def spoke(double: Server) -> AsyncIterator[TwilioFlexSpoke]:
    flex = TwilioFlexSpoke("flex", settings(double.base_url))
    await flex.setup()
    yield flex
    await flex.unload()


async def state(double: Server) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=double.base_url) as client:
        result: dict[str, Any] = (await client.get("/double/state")).json()
        return result


async def faults(double: Server, **body: Any) -> None:
    async with httpx.AsyncClient(base_url=double.base_url) as client:
        assert (await client.post("/double/faults", json=body)).status_code == 200


async def tasks_of(double: Server, work_item_id: str) -> list[dict[str, Any]]:
    tasks = (await state(double))["tasks"]
    return [t for t in tasks if json.loads(t["attributes"])[WORK_ITEM] == work_item_id]


async def reserved(spoke: TwilioFlexSpoke, double: Server, work_item_id: str) -> dict[str, Any]:
    """Create a task in the Tech queue (bob's alone) and return its reservation."""
    created = event(
        RoutingEventType.NEW_INTERACTION, work_item_id=work_item_id, provider_queue_id=TECH
    )
    await spoke.deliver(created)
    [task] = await tasks_of(double, work_item_id)
    reservations = (await state(double))["reservations"]
    found: dict[str, Any] = next(r for r in reservations if r["task_sid"] == task["sid"])
    return found


def event(kind: RoutingEventType, **data: Any) -> RoutingEvent:
    base = routing_events()[kind]
    return dataclasses.replace(base, payload=dict(base.payload) | data)


async def test_new_interaction_is_one_task_however_often_it_is_delivered(
    spoke: TwilioFlexSpoke, double: Server
) -> None:
    created = event(
        RoutingEventType.NEW_INTERACTION, work_item_id="wi-once", provider_queue_id=GENERAL
    )
    await spoke.deliver(created)
    await spoke.deliver(dataclasses.replace(created, attempt=2))
    tasks = await tasks_of(double, "wi-once")
    assert len(tasks) == 1
    attributes = json.loads(tasks[0]["attributes"])
    assert attributes["skills"] == ["english", "billing"]
    assert attributes["customer"]["customer_name"] == "Ann Lee"
    assert tasks[0]["priority"] == 950
    # Nobody took it: ending it cancels the task, with the wrap-up on it.
    await spoke.deliver(event(RoutingEventType.END_INTERACTION, work_item_id="wi-once"))
    [task] = await tasks_of(double, "wi-once")
    assert task["assignment_status"] == "canceled"
    assert json.loads(task["attributes"])["omniroute_wrap_up"]["code_name"] == "Resolved"


async def test_wrong_credentials_are_an_auth_error(double: Server) -> None:
    flex = TwilioFlexSpoke("flex", settings(double.base_url, auth_token="wrong-token-0123456789"))
    await flex.setup()
    try:
        with pytest.raises(SpokeAuthError, match="401"):
            await flex.health()
    finally:
        await flex.unload()


async def test_health_and_catalog(spoke: TwilioFlexSpoke) -> None:
    await spoke.health()
    queues = await spoke.list_catalog(CatalogKind.QUEUES)
    assert {q.name for q in queues} == {"General", "Billing", "Tech"}
    agents = {a.provider_id: a for a in await spoke.list_catalog(CatalogKind.AGENTS)}
    assert agents[ALICE].attributes["email"] == "alice@demo.omniroute.local"
    with pytest.raises(SpokeRejectedError, match="wrap_up_codes"):
        await spoke.list_catalog(CatalogKind.WRAP_UP_CODES)


async def test_presence_needs_a_known_activity(spoke: TwilioFlexSpoke, double: Server) -> None:
    with pytest.raises(SpokeRejectedError, match="presence map"):
        await spoke.deliver(
            event(RoutingEventType.AGENT_PRESENCE, provider_agent_id=ALICE, provider_state="Lunch")
        )
    await spoke.deliver(
        event(RoutingEventType.AGENT_PRESENCE, provider_agent_id=ALICE, provider_state="Break")
    )
    worker = next(w for w in (await state(double))["workers"] if w["sid"] == ALICE)
    assert worker["activity_name"] == "Break"


async def test_throttling_carries_retry_after(spoke: TwilioFlexSpoke, double: Server) -> None:
    await faults(double, status=429, count=1, retry_after=7)
    with pytest.raises(SpokeUnavailableError) as caught:
        await spoke.health()
    assert caught.value.retry_after_s == 7
    await faults(double, status=500, count=1)
    with pytest.raises(SpokeUnavailableError, match="500"):
        await spoke.health()
    await spoke.health()


async def test_unreachable_twilio_is_unavailable() -> None:
    flex = TwilioFlexSpoke("flex", settings("http://127.0.0.1:9", timeout_s=2))
    await flex.setup()
    try:
        with pytest.raises(SpokeUnavailableError):
            await flex.health()
    finally:
        await flex.unload()


async def test_end_of_unknown_work_and_transfer_to_unlinked_agent_are_rejected(
    spoke: TwilioFlexSpoke,
) -> None:
    with pytest.raises(SpokeRejectedError, match="no TaskRouter task"):
        await spoke.deliver(event(RoutingEventType.END_INTERACTION, work_item_id="wi-never"))
    transfer = event(RoutingEventType.TRANSFER_TO_AGENT)
    unlinked = dict(transfer.payload) | {"to": {"agent_id": "bob", "provider_agent_id": None}}
    with pytest.raises(SpokeRejectedError, match="sign the agent in to Flex"):
        await spoke.deliver(dataclasses.replace(transfer, payload=unlinked))


async def test_reservation_answers_are_idempotent_and_honest(
    spoke: TwilioFlexSpoke, double: Server
) -> None:
    await spoke.deliver(
        event(RoutingEventType.AGENT_PRESENCE, provider_agent_id=BOB, provider_state="Available")
    )
    first = await reserved(spoke, double, "wi-accept")
    assert first["worker_sid"] == BOB
    accepted = event(
        RoutingEventType.OFFER_OUTCOME,
        work_item_id="wi-accept",
        outcome="accepted",
        external_segment_id=first["sid"],
        provider_agent_id=BOB,
    )
    await spoke.deliver(accepted)
    await spoke.deliver(dataclasses.replace(accepted, attempt=2))  # the answer was lost
    [task] = await tasks_of(double, "wi-accept")
    assert task["assignment_status"] == "assigned"
    await spoke.deliver(event(RoutingEventType.END_INTERACTION, work_item_id="wi-accept"))
    [task] = await tasks_of(double, "wi-accept")
    assert task["assignment_status"] == "completed"

    # TaskRouter timed the reservation out before our agent accepted: say so, loudly.
    second = await reserved(spoke, double, "wi-late")
    async with httpx.AsyncClient(base_url=double.base_url) as client:
        r = await client.post(f"/double/reservations/{second['sid']}/timeout")
        assert r.status_code == 200
    late = dict(accepted.payload) | {
        "work_item_id": "wi-late",
        "external_segment_id": second["sid"],
    }
    with pytest.raises(SpokeRejectedError, match="reservation is timeout"):
        await spoke.deliver(dataclasses.replace(accepted, payload=late))
    # Our own timeout after TaskRouter's: nothing left to answer.
    await spoke.deliver(dataclasses.replace(accepted, payload=late | {"outcome": "timed_out"}))
    await spoke.deliver(event(RoutingEventType.END_INTERACTION, work_item_id="wi-late"))
    [task] = await tasks_of(double, "wi-late")
    assert task["assignment_status"] == "canceled"
