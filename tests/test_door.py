"""The core's door: the message registry and the wire codec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import TypeAdapter

from omniroute.core import door
from omniroute.core.door import Command, Query, handles
from omniroute.core.messages import AcceptOffer, AgentPresence, RejectOffer, SetCapacity
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.model import Offer
from omniroute.engine import codec
from tests.seed import NOW


def test_every_message_has_a_unique_stable_name_and_a_result_type() -> None:
    kinds = door.registered()
    assert "AcceptOffer" in kinds
    assert kinds["AcceptOffer"] is AcceptOffer
    for name, kind in kinds.items():
        assert kind.name == name
        assert issubclass(kind, Command) != issubclass(kind, Query)
        # Both the message and its result can be described as JSON (so sent to another node).
        TypeAdapter(kind).json_schema()
        TypeAdapter(door.result_type(kind)).json_schema()


def test_queries_do_not_mutate_commands_do() -> None:
    assert AgentPresence.mutates is False
    assert AcceptOffer.mutates is True


@pytest.mark.parametrize(
    "message",
    [
        AcceptOffer("of-1", "ag-1"),
        RejectOffer("of-1", None, "busy", "note \u00e9"),
        SetCapacity("ag-1", {"chat": 2, "email": None}, cap_given=True, capacity_cap=None),
        AgentPresence("ag-2"),
    ],
)
def test_messages_survive_a_trip_through_json(message: door.Message[Any]) -> None:
    text = json.dumps(codec.encode_message(message))
    assert codec.decode_message(json.loads(text)) == message


def test_results_and_errors_survive_a_trip_through_json() -> None:
    offer = Offer("of-1", "wi-1", "ag-1", NOW, None, note="hi")
    data = json.loads(json.dumps(codec.encode_result(AcceptOffer, offer)))
    assert codec.decode_result(AcceptOffer, data) == offer
    err = DomainError(ErrorCode.OFFER_NOT_PENDING, "offer 'of-1' is accepted", "offer_id")
    back = codec.decode_error(json.loads(json.dumps(codec.encode_error(err))))
    assert (back.code, back.message, back.field) == (err.code, err.message, err.field)


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        codec.decode_message({"name": "DropAllTables", "args": {}})
    assert caught.value.code is ErrorCode.VALIDATION_ERROR


def test_a_second_handler_or_a_reused_name_is_refused() -> None:
    with pytest.raises(TypeError, match="has a handler already"):
        handles(AcceptOffer)(lambda _tx, _c: None)

    @dataclass(frozen=True, slots=True)
    class Impostor(Command[None]):
        name = "AcceptOffer"

    with pytest.raises(TypeError, match="is used by"):
        handles(Impostor)(lambda _tx, _c: None)
