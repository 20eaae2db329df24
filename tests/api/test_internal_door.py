"""The leader's door for forwarded messages: nodes only, each message answered on its own."""

from __future__ import annotations

from omniroute.cluster.forward import DOOR_PATH, NODE_HEADER, node_token
from omniroute.core.documents import RouteRequest
from omniroute.core.messages import AgentOffers, CreateInteraction
from omniroute.engine import codec
from tests.api.conftest import Api

URL = f"http://test{DOOR_PATH}"


async def test_the_door_serves_nodes_only_and_answers_each_message(api: Api) -> None:
    secret = api.app.state.settings.secret_key.get_secret_value()
    node = {NODE_HEADER: node_token(secret)}
    offers = {"message": codec.encode_message(AgentOffers("alice"))}
    create = {
        "message": codec.encode_message(CreateInteraction("chat", {}, RouteRequest("support"))),
        "key": "fwd:door-test",
        "fresh": True,
    }

    refused = await api.client.post(URL, json={"messages": [offers]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    bad = await api.client.post(URL, json={"messages": "none"}, headers=node)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"

    unknown = {"message": {"name": "NoSuchCommand", "args": {}}}
    answered = await api.client.post(
        URL, json={"messages": [offers, unknown, create]}, headers=node
    )
    assert answered.status_code == 200
    listed, refused_one, created = answered.json()["answers"]
    assert listed == {"ok": True, "result": []}
    assert refused_one["ok"] is False
    assert refused_one["error"]["code"] == "VALIDATION_ERROR"
    assert created["ok"] is True
    # The same key again (a retry after a lost answer): the stored outcome, not a second one.
    again = await api.client.post(URL, json={"messages": [create | {"fresh": False}]}, headers=node)
    assert again.json()["answers"][0] == created
