"""The TaskRouter double answers in Twilio's shapes: every field is one the twilio client reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from twilio.rest import Client
from twilio.rest.taskrouter.v1.workspace.activity import ActivityInstance
from twilio.rest.taskrouter.v1.workspace.task import TaskInstance
from twilio.rest.taskrouter.v1.workspace.task_queue import TaskQueueInstance
from twilio.rest.taskrouter.v1.workspace.worker import WorkerInstance
from twilio.rest.taskrouter.v1.workspace.worker.reservation import ReservationInstance

from tests.doubles.twilio.model import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WORKSPACE_SID,
    Activity,
    Reservation,
    Task,
    TaskQueue,
    Worker,
    matches,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def shapes() -> list[tuple[str, dict[str, Any], Any]]:
    version = Client(ACCOUNT_SID, AUTH_TOKEN).taskrouter.v1
    activity = Activity("WA" + "1" * 32, "Available", available=True)
    worker = Worker("WK" + "1" * 32, "alice", {"email": "a@x.test"}, activity)
    task = Task("WT" + "1" * 32, {"queue": "WQ1"}, 5, "default", 60, NOW)
    reservation = Reservation("WR" + "1" * 32, task, worker, NOW)
    queue = TaskQueue("WQ" + "1" * 32, "General", "1==1")
    return [
        ("activity", activity.json(), ActivityInstance(version, activity.json(), WORKSPACE_SID)),
        ("worker", worker.json(), WorkerInstance(version, worker.json(), WORKSPACE_SID)),
        ("task", task.json(), TaskInstance(version, task.json(), WORKSPACE_SID)),
        ("queue", queue.json(), TaskQueueInstance(version, queue.json(), WORKSPACE_SID)),
        (
            "reservation",
            reservation.json(),
            ReservationInstance(version, reservation.json(), WORKSPACE_SID, worker.sid),
        ),
    ]


@pytest.mark.parametrize(("name", "payload", "instance"), shapes(), ids=lambda v: str(v)[:12])
def test_every_field_is_one_the_client_knows(
    name: str, payload: dict[str, Any], instance: Any
) -> None:
    known = set(vars(instance))
    unknown = set(payload) - known
    assert not unknown, f"{name}: fields the twilio client does not know: {sorted(unknown)}"
    assert instance.sid == payload["sid"]


def test_the_expression_subset() -> None:
    attributes = {"queue": "WQ1", "routing": {"skills": ["billing"]}}
    assert matches('queue == "WQ1"', attributes)
    assert not matches('queue == "WQ2"', attributes)
    assert matches('routing.skills HAS "billing"', attributes)
    assert not matches('routing.skills HAS "tech"', attributes)
    assert matches("1==1", attributes)
    with pytest.raises(ValueError, match="unsupported"):
        matches("priority > 1", attributes)


def test_voice_resources_are_ones_the_client_knows() -> None:
    from twilio.rest.api.v2010.account.call import CallInstance
    from twilio.rest.api.v2010.account.conference.participant import ParticipantInstance

    from tests.doubles.twilio.voice import Conference, Participant, VoiceCall

    version = Client(ACCOUNT_SID, AUTH_TOKEN).api.v2010
    call = VoiceCall("CA" + "1" * 32, "+15005550006", "+442079460123", "outbound-api")
    conference = Conference("CF" + "1" * 32, "omniroute-doc", None)
    participant = conference.participant_json(
        Participant(call, "customer", end_conference_on_exit=True, hold=True)
    )
    parsed_call = CallInstance(version, call.json(), ACCOUNT_SID)
    parsed = ParticipantInstance(version, participant, ACCOUNT_SID, conference.sid)
    for name, payload, instance in (
        ("call", call.json(), parsed_call),
        ("participant", participant, parsed),
    ):
        # The client keeps `from` as `_from`.
        unknown = set(payload) - {k.removeprefix("_") for k in vars(instance)}
        assert not unknown, f"{name}: fields the twilio client does not know: {sorted(unknown)}"
    assert parsed_call._from == "+15005550006"
    assert parsed.call_sid == call.sid
    assert parsed.hold is True
    assert parsed.label == "customer"
