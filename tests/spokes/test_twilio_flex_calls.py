"""Twilio voice callbacks become call contexts offering only what Twilio can do."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from omniroute.domain.calls import CallAction, CallKind, CallState
from omniroute.spokes.store import MemorySpokeStore
from omniroute.spokes.twilio_flex.book import CallBook
from omniroute.spokes.twilio_flex.calls import (
    Call,
    available,
    conference_update,
    from_task,
    keys_of,
    status_update,
)

A = CallAction


def conference(event: str, label: str, **extra: str) -> dict[str, str]:
    return {
        "ConferenceSid": "CF1",
        "FriendlyName": "omniroute-doc-1",
        "StatusCallbackEvent": event,
        "ParticipantLabel": label,
        "CallSid": f"CA-{label}",
        "Timestamp": "Thu, 03 Dec 2026 09:30:00 GMT",
    } | extra


def test_without_a_caller_id_nothing_is_dialled_or_transferred() -> None:
    live = Call("doc-1", CallKind.INBOUND, "+44", CallState.CONNECTED)
    assert available(live, can_dial=True) == (A.HOLD, A.MUTE, A.TRANSFER, A.END)
    assert available(live, can_dial=False) == (A.HOLD, A.MUTE, A.END)
    waiting = Call("doc-1", CallKind.CALLBACK, "+44", CallState.SCHEDULED)
    assert available(waiting, can_dial=True) == (A.DIAL,)
    assert available(waiting, can_dial=False) == ()
    missed = Call("doc-1", CallKind.CALLBACK, "+44", CallState.NO_ANSWER)
    assert available(missed, can_dial=True) == (A.RETRY_CALLBACK,)
    assert available(missed, can_dial=False) == ()


def test_a_task_without_call_kind_is_not_a_call() -> None:
    assert from_task("doc-1", {"channel": "chat"}) is None
    callback = from_task(
        "doc-1", {"omniroute_call_kind": "callback", "from": "+44", "call_sid": "CA"}
    )
    assert callback is not None
    assert callback.state is CallState.SCHEDULED
    assert callback.customer_call_sid is None  # the request call is over
    # Tasks made in Flex: a voice task carries the caller's call; a voicemail is no call.
    flex_call = from_task("doc-2", {"call_sid": "CA7", "from": "+44"})
    assert flex_call is not None
    assert (flex_call.kind, flex_call.customer_call_sid) == (CallKind.INBOUND, "CA7")
    assert from_task("doc-3", {"taskType": "voicemail", "call_sid": "CA8"}) is None


def test_conference_callbacks_follow_hold_mute_and_leave() -> None:
    call = Call("doc-1", CallKind.INBOUND, "+44", CallState.ALERTING)
    call = conference_update(call, conference("participant-join", "worker")) or call
    assert call.worker_call_sid == "CA-worker"
    assert call.state is CallState.ALERTING
    joined = conference_update(call, conference("participant-join", "customer"))
    assert joined is not None
    assert joined.state is CallState.CONNECTED
    assert joined.connected_at is not None
    held = conference_update(joined, conference("participant-hold", "customer"))
    assert held is not None
    assert held.state is CallState.HELD
    assert available(held, can_dial=True)[0] is A.RESUME
    muted = conference_update(held, conference("participant-mute", "worker"))
    assert muted is not None
    assert muted.muted
    assert conference_update(muted, conference("participant-join", "transfer")) is None
    left = conference_update(muted, conference("participant-leave", "worker"))
    assert left is not None
    assert left.state is CallState.ENDED
    assert available(left, can_dial=True) == ()


def test_call_status_dialling_and_no_answer() -> None:
    call = Call("doc-1", CallKind.CALLBACK, "+44", CallState.SCHEDULED)
    dialing = status_update(call, {"CallSid": "CA9", "CallStatus": "initiated"})
    assert dialing is not None
    assert dialing.state is CallState.DIALING
    assert status_update(dialing, {"CallSid": "CA9", "CallStatus": "ringing"}) is None
    missed = status_update(dialing, {"CallSid": "CA9", "CallStatus": "no-answer"})
    assert missed is not None
    assert missed.state is CallState.NO_ANSWER
    # A completed status for a call that never connected says nothing new.
    assert status_update(missed, {"CallSid": "CA9", "CallStatus": "completed"}) is None


async def test_the_call_book_keeps_calls_in_the_spoke_store() -> None:
    store = MemorySpokeStore("flex")
    book = CallBook(store)
    at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    call = Call("doc-1", CallKind.CALLBACK, "+44", CallState.HELD, "CA1", "CA2", "CF1")
    call = replace(call, held=True, connected_at=at)
    book.put(call)
    book.link_sid("CA1", "doc-1")
    book.dialing("+44", "doc-1")
    await book.flush()
    again = CallBook(store)  # a new process reads what the last one wrote
    await again.load()
    assert again.get("doc-1") == call
    assert (again.of_sid("CA1"), again.of_number("+44")) == ("doc-1", "doc-1")
    again.forget("doc-1")
    await again.flush()
    assert store.values == {}


async def test_a_callback_reads_what_another_process_stored_of_its_call() -> None:
    store = MemorySpokeStore("flex")
    here, there = CallBook(store), CallBook(store)
    call = Call("doc-1", CallKind.CALLBACK, "+44", CallState.DIALING, "CA1")
    there.put(call)
    there.link_sid("CA1", "doc-1")
    await there.flush()
    status = {"CallSid": "CA1", "CallStatus": "ringing", "To": "+44"}
    await here.refresh(*keys_of(status))
    assert (here.of_sid("CA1"), here.get("doc-1")) == ("doc-1", call)
    assert keys_of(conference("participant-join", "worker"))[0] == ["doc-1"]
