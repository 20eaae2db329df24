"""The leader's door for forwarded messages: nodes only, each message answered on its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from omniroute.api.errors import error_response
from omniroute.api.internal_door import InFlight
from omniroute.cluster import forward
from omniroute.cluster.forward import DOOR_PATH, NODE_HEADER, NODE_ID_HEADER, HttpForwarder
from omniroute.cluster.forward import node_token as make_node_token
from omniroute.core.documents import RouteRequest
from omniroute.core.door import Message
from omniroute.core.messages import AgentOffers, CreateInteraction
from omniroute.domain.errors import DomainError, ErrorCode, ForeignError
from omniroute.engine import codec
from omniroute.engine.clock import ManualClock
from omniroute.store import tables as t
from tests.api.conftest import Api, reseed, running
from tests.procs import free_port
from tests.seed import NOW

if TYPE_CHECKING:
    from omniroute.cluster.node import ClusterNode

URL = f"http://test{DOOR_PATH}"
RunLocal = Callable[..., Awaitable[Any]]


def node_headers(api: Api, node_id: str = "api-1") -> dict[str, str]:
    """What a node of this cluster sends with each group."""
    secret = api.app.state.settings.secret_key.get_secret_value()
    return {NODE_HEADER: make_node_token(secret), NODE_ID_HEADER: node_id}


def create(key: str | None = "fwd:door-test", *, fresh: bool = True) -> dict[str, Any]:
    """A forwarded CreateInteraction."""
    message = codec.encode_message(CreateInteraction("chat", {}, RouteRequest("support")))
    return {"message": message, "key": key, "fresh": fresh}


def offers(agent_id: str = "alice") -> dict[str, Any]:
    """A forwarded AgentOffers query."""
    return {"message": codec.encode_message(AgentOffers(agent_id))}


async def interactions(api: Api) -> int:
    """How many interactions the store holds."""
    async with api.app.state.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(t.InteractionRow)) or 0)


class Gate:
    """Holds the leader's engine calls until opened: a slow engine, without timing."""

    def __init__(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0
        self._run: RunLocal = api.engine.run_local
        monkeypatch.setattr(api.engine, "run_local", self.run_local)

    async def run_local(self, message: Message[Any], key: str | None = None, **kw: Any) -> Any:
        """The engine's run_local once the gate is open."""
        self.waiting += 1
        await self.opened.wait()
        return await self._run(message, key, **kw)

    async def held(self, count: int) -> None:
        """Wait (bounded) until `count` calls wait at the gate."""
        async with asyncio.timeout(10):
            while self.waiting < count:
                await asyncio.sleep(0.01)


def admissions(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[str]]:
    """The size of each group the door is offered, and the codes of those it refused."""
    sizes: list[int] = []
    refused: list[str] = []
    admit = InFlight.admit

    def counted(self: InFlight, node: str, count: int) -> None:
        sizes.append(count)
        try:
            admit(self, node, count)
        except DomainError as err:
            refused.append(err.code.value)
            raise

    monkeypatch.setattr(InFlight, "admit", counted)
    return sizes, refused


@pytest.fixture
async def leader(db_url: str) -> AsyncIterator[Api]:
    """A leader whose door takes two messages per node at once and waits 0.3 s for each."""
    await reseed(db_url)
    limits = {"door_max_in_flight": 2, "door_command_timeout_s": 0.3, "forward_timeout_s": 3}
    async with running(db_url, ManualClock(NOW), **limits) as api:
        yield api


async def test_the_door_serves_nodes_only_and_answers_each_message(api: Api) -> None:
    node = node_headers(api)
    refused = await api.client.post(URL, json={"messages": [offers()]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    bad = await api.client.post(URL, json={"messages": "none"}, headers=node)
    assert bad.status_code == 422
    assert bad.json()["error"] | {"message": ""} == {
        "code": "VALIDATION_ERROR",
        "message": "",
        "field": "messages",
    }

    unknown = {"message": {"name": "NoSuchCommand", "args": {}}}
    bad_args = {"message": {"name": "AgentOffers", "args": {"agent_id": 7}}}
    answered = await api.client.post(
        URL,
        json={"messages": [offers(), unknown, bad_args, create(None), create()]},
        headers=node,
    )
    assert answered.status_code == 200
    listed, no_such, wrong_type, keyless, created = answered.json()["answers"]
    assert listed == {"ok": True, "result": []}
    assert (no_such["error"]["code"], no_such["error"]["field"]) == ("VALIDATION_ERROR", "name")
    assert no_such["error"]["status"] == 422  # for a node too old to know a code
    assert wrong_type["error"]["code"] == "VALIDATION_ERROR"
    assert wrong_type["error"]["field"] == "agent_id"
    assert (keyless["error"]["code"], keyless["error"]["field"]) == ("VALIDATION_ERROR", "key")
    assert created["ok"] is True
    # The same key again (a retry after a lost answer): the stored outcome, not a second one.
    again = await api.client.post(URL, json={"messages": [create(fresh=False)]}, headers=node)
    assert again.json()["answers"][0] == created
    assert await interactions(api) == 1


async def test_a_node_past_its_limits_retries_and_a_slow_command_runs_once(
    leader: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(leader, monkeypatch)
    node = node_headers(leader)
    create_again = {"messages": [create(fresh=False)]}
    first = asyncio.create_task(
        leader.client.post(URL, json={"messages": [create(), offers()]}, headers=node)
    )
    await gate.held(2)

    busy = await leader.client.post(URL, json={"messages": [offers()]}, headers=node)
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "RATE_LIMITED"
    assert "OMNIROUTE_DOOR_MAX_IN_FLIGHT" in busy.json()["error"]["message"]
    # Another node has room of its own.
    other = node_headers(leader, "api-2")
    too_many = await leader.client.post(URL, json={"messages": [offers()] * 3}, headers=other)
    assert (too_many.status_code, too_many.json()["error"]["field"]) == (422, "messages")

    # Past the time limit each message is answered 503-coded; the engine keeps them.
    late = (await first).json()["answers"]
    assert [a["error"]["code"] for a in late] == ["STORE_UNAVAILABLE", "STORE_UNAVAILABLE"]
    assert "OMNIROUTE_DOOR_COMMAND_TIMEOUT_S" in late[0]["error"]["message"]
    still = await leader.client.post(URL, json={"messages": [offers()]}, headers=node)
    assert still.status_code == 429

    gate.opened.set()
    async with asyncio.timeout(10):  # as a node does: again until the held ones have left
        while (
            retry := await leader.client.post(URL, json=create_again, headers=node)
        ).status_code == 429:
            await asyncio.sleep(0.01)
    again = await leader.client.post(URL, json=create_again, headers=node)
    assert retry.json()["answers"][0]["ok"] is True
    assert again.json() == retry.json()
    assert await interactions(leader) == 1


async def test_a_failure_inside_is_that_message_s_own_structured_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = api.engine.run_local

    async def faulty(message: Message[Any], key: str | None = None, **kw: Any) -> Any:
        if message == AgentOffers("bob"):
            raise OperationalError("SELECT 1", {}, ConnectionResetError("store gone"))
        if message == AgentOffers("carol"):
            raise RuntimeError("a bug")
        if message == AgentOffers("dave"):
            raise asyncio.CancelledError
        return await run(message, key, **kw)

    monkeypatch.setattr(api.engine, "run_local", faulty)
    answered = await api.client.post(
        URL,
        json={"messages": [offers("bob"), offers("carol"), offers("dave"), offers()]},
        headers=node_headers(api),
    )
    assert answered.status_code == 200
    store_gone, bug, stopped, fine = answered.json()["answers"]
    assert stopped["error"]["code"] == "STORE_UNAVAILABLE"
    assert store_gone["error"]["code"] == "STORE_UNAVAILABLE"
    assert bug["error"]["code"] == "INTERNAL_ERROR"
    assert "RuntimeError" in bug["error"]["message"]
    assert fine == {"ok": True, "result": []}


class ApiNode:
    """The API node side of a forwarder whose leader is the app under test."""

    node_id = "api-1"
    url = "http://api-1"

    class engine:  # noqa: N801 - the node's engine, which never leads here
        running = False

    def __init__(self, leader_url: str) -> None:
        self._leader_url = leader_url
        self.lookups = 0

    async def leader_url(self) -> str:
        """The leader's URL."""
        return self._leader_url

    async def forget_leader(self, url: str) -> None:
        """Count the times the node looked for a new leader."""
        self.lookups += 1

    async def wait_for_leader(self, timeout_s: float) -> None:
        """Never called: a leader is always known."""


@contextlib.asynccontextmanager
async def served(api: Api) -> AsyncIterator[str]:
    """The app on a real HTTP and WebSocket server on 127.0.0.1: its door's stream needs one."""
    port = free_port()
    config = uvicorn.Config(
        api.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_the_forwarding_node_retries_what_is_safe_and_reports_the_rest(
    leader: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(leader, monkeypatch)
    _, limited = admissions(monkeypatch)
    secret = leader.app.state.settings.secret_key.get_secret_value()
    async with served(leader) as url:
        as_node = cast("ClusterNode", ApiNode(url))
        forwarder = HttpForwarder(as_node, secret, 10, door_max_in_flight=2)
        command = CreateInteraction("chat", {}, RouteRequest("support"))
        created = asyncio.create_task(forwarder.send(command, "req-1#1"))
        await gate.held(1)
        query = asyncio.create_task(forwarder.send(AgentOffers("alice"), None))
        # Groups of one (2 // 4 in flight); past 0.3 s both are sent again over the stream and
        # find the node's limit reached: each is retried until the held ones have left.
        async with asyncio.timeout(10):
            while "RATE_LIMITED" not in limited:
                await asyncio.sleep(0.01)
        gate.opened.set()
        assert (await created).agent_id is None
        assert await query == []
        assert await interactions(leader) == 1

        stranger = HttpForwarder(as_node, "x" * 40, 10)
        with pytest.raises(DomainError) as refused:
            await stranger.send(AgentOffers("alice"), None)
        assert refused.value.code is ErrorCode.STORE_UNAVAILABLE
        assert "OMNIROUTE_SECRET_KEY" in refused.value.message
        for f in (forwarder, stranger):
            await f.aclose()


async def test_messages_sent_while_a_group_travels_go_together_within_a_bound(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(api, monkeypatch)
    sizes, _ = admissions(monkeypatch)
    # A gather longer than the test: the groups below go when the first one is back.
    monkeypatch.setattr(forward, "GATHER_S", 60.0)
    secret = api.app.state.settings.secret_key.get_secret_value()
    async with served(api) as url:
        forwarder = HttpForwarder(cast("ClusterNode", ApiNode(url)), secret, 10)
        first = asyncio.create_task(forwarder.send(AgentOffers("alice"), None))
        await gate.held(1)
        rest = [asyncio.create_task(forwarder.send(AgentOffers("alice"), None)) for _ in range(3)]
        waiting = forwarder._groupers[url]._waiting  # the gather is the subject
        async with asyncio.timeout(10):
            while len(waiting) < 3:
                await asyncio.sleep(0.01)
        assert sizes == [1]  # nothing more went while the first group travels
        gate.opened.set()
        assert await asyncio.gather(first, *rest) == [[], [], [], []]
        assert sizes == [1, 3]
        # The gather is bounded: past it the next group goes though one still travels.
        monkeypatch.setattr(forward, "GATHER_S", 0.01)
        gate.opened.clear()
        held = asyncio.create_task(forwarder.send(AgentOffers("alice"), None))
        await gate.held(5)
        later = asyncio.create_task(forwarder.send(AgentOffers("alice"), None))
        await gate.held(6)
        gate.opened.set()
        assert [await held, await later] == [[], []]
        assert sizes == [1, 3, 1, 1]
        await forwarder.aclose()


async def test_a_code_the_forwarding_node_does_not_know_keeps_a_4xx_and_retries_a_5xx(
    leader: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = leader.engine.run_local

    async def newer(message: Message[Any], key: str | None = None, **kw: Any) -> Any:
        if message == AgentOffers("bob"):
            raise DomainError(ErrorCode.CONFLICT, "bob is on a new kind of break", "agent_id")
        if message == AgentOffers("carol"):
            raise RuntimeError("a bug of the newer version")
        return await run(message, key, **kw)

    encode = codec.encode_error

    def encode_newer(err: DomainError) -> dict[str, Any]:
        renamed = {ErrorCode.CONFLICT: "AGENT_ON_BREAK", ErrorCode.INTERNAL_ERROR: "NEW_FAILURE"}
        return encode(err) | {"code": renamed.get(err.code, err.code.value)}

    # The leader speaks a newer version: codes this node's ErrorCode does not have.
    monkeypatch.setattr(leader.engine, "run_local", newer)
    monkeypatch.setattr(codec, "encode_error", encode_newer)
    secret = leader.app.state.settings.secret_key.get_secret_value()
    async with served(leader) as url:
        forwarder = HttpForwarder(cast("ClusterNode", ApiNode(url)), secret, 10)
        with pytest.raises(ForeignError) as on_break:
            await forwarder.send(AgentOffers("bob"), None)
        answer = error_response(on_break.value)
        assert answer.status_code == 409
        assert json.loads(bytes(answer.body))["error"] == {
            "code": "AGENT_ON_BREAK",
            "message": "bob is on a new kind of break",
            "field": "agent_id",
        }
        with pytest.raises(DomainError) as failed:
            await forwarder.send(AgentOffers("carol"), None)
        assert error_response(failed.value).status_code == 503
        assert failed.value.code is ErrorCode.STORE_UNAVAILABLE
        assert "NEW_FAILURE" in failed.value.message
        assert await forwarder.send(AgentOffers("alice"), None) == []
        await forwarder.aclose()
