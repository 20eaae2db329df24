"""The Connect double parses requests with botocore's model and refuses what Connect would."""

from __future__ import annotations

import json

import pytest

from tests.doubles.amazon_connect.protocol import ConnectProtocol, ProtocolError

INSTANCE = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def protocol() -> ConnectProtocol:
    return ConnectProtocol()


def test_paths_map_to_operations_and_their_labels(protocol: ConnectProtocol) -> None:
    op, labels = protocol.match("PUT", f"/users/{INSTANCE}/u-alice/status")
    assert op.name == "PutUserStatus"
    assert labels == {"InstanceId": INSTANCE, "UserId": "u-alice"}
    op, labels = protocol.match("GET", f"/users/{INSTANCE}/u-alice")
    assert op.name == "DescribeUser"
    assert protocol.match("PUT", "/contact/task")[0].name == "StartTaskContact"
    with pytest.raises(ProtocolError, match="no operation"):
        protocol.match("GET", "/no/such/path")


def test_query_members_are_typed(protocol: ConnectProtocol) -> None:
    op, labels = protocol.match("GET", f"/queues-summary/{INSTANCE}")
    query = {"maxResults": ["100"], "queueTypes": ["STANDARD"]}
    params = protocol.params(op, labels, query, b"")
    assert params == {"InstanceId": INSTANCE, "MaxResults": 100, "QueueTypes": ["STANDARD"]}


def test_a_request_the_model_refuses_is_refused(protocol: ConnectProtocol) -> None:
    op, labels = protocol.match("PUT", "/contact/task")
    missing_name = json.dumps({"InstanceId": INSTANCE}).encode()
    with pytest.raises(ProtocolError, match="Name") as caught:
        protocol.params(op, labels, {}, missing_name)
    assert caught.value.code == "InvalidParameterException"
    unknown = json.dumps({"InstanceId": INSTANCE, "Name": "x", "Queue": "q"}).encode()
    with pytest.raises(ProtocolError, match="Queue"):
        protocol.params(op, labels, {}, unknown)
    too_long = json.dumps({"InstanceId": INSTANCE, "Name": "x", "ClientToken": "t" * 501})
    with pytest.raises(ProtocolError, match="ClientToken"):
        protocol.params(op, labels, {}, too_long.encode())


def test_an_answer_outside_the_output_shape_fails_the_double(protocol: ConnectProtocol) -> None:
    op, _ = protocol.match("PUT", "/contact/task")
    assert protocol.output(op, {"ContactId": "c-1"}) == {"ContactId": "c-1"}
    with pytest.raises(AssertionError, match="ContactID"):
        protocol.output(op, {"ContactID": "c-1"})
