"""Identical nodes on one PostgreSQL database: one leads, the others forward to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select
from websockets.exceptions import InvalidStatus

from omniroute.cluster.forward import DOOR_PATH, NODE_HEADER, node_token
from omniroute.core.messages import AgentOffers
from omniroute.engine import codec
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.cluster.conftest import Cluster, auth, spawn, status
from tests.procs import REPO_ROOT, TEST_SECRET_KEY, free_port, server_env

pytestmark = pytest.mark.timeout(120)
# The demo's mail listener and mailbox have fixed ports: one machine has room for one of each.
NO_DEMO_MAIL = {"OMNIROUTE_SMTP_RELAY_HOST": "127.0.0.1"}


async def test_nodes_share_one_leader_and_forward_to_it(seeded: Database, cluster: Cluster) -> None:
    # Every node has the same mail settings: only the one that leads listens on the port.
    smtp_port = free_port()
    mail = {
        "OMNIROUTE_EMAIL_ENABLED": "1",
        "OMNIROUTE_SMTP_LISTEN_PORT": str(smtp_port),
        "OMNIROUTE_EMAIL_QUEUE_ID": "support",
        "OMNIROUTE_SMTP_RELAY_HOST": "127.0.0.1",
    }
    first, second, api_only = (
        cluster.spawn(*args, env=mail) for args in ((), (), ("--no-engine",))
    )
    for node in (first, second, api_only):
        node.wait_ready()
    views = [status(node) for node in (first, second, api_only)]
    leader = views[0]["leader"]
    assert isinstance(leader, dict)
    assert set(leader) == {"node_id", "epoch", "since"}
    assert all(view["leader"] == leader for view in views)
    nodes = views[0]["nodes"]
    assert isinstance(nodes, list)
    assert {frozenset(n) for n in nodes} == {frozenset({"node_id", "url", "role", "last_seen"})}
    roles = sorted(n["role"] for n in nodes)
    assert roles == ["api", "leader", "standby"]
    assert {v["node_id"] for v in views} == {n["node_id"] for n in nodes}
    by_id = {n["node_id"]: n for n in nodes}
    assert by_id[views[2]["node_id"]]["role"] == "api"
    # The operator's command prints the same view (no node of its own answers it).
    printed = json.loads(await asyncio.to_thread(_cli_status, seeded.url))
    assert printed["node_id"] is None
    assert printed["leader"] == leader
    assert [{**n, "last_seen": None} for n in printed["nodes"]] == [
        {**n, "last_seen": None} for n in nodes
    ]
    # Readiness says what each node's engine does; a standby turns warm once it has loaded.
    engines = {}
    for node, view in zip((first, second, api_only), views, strict=True):
        for _ in range(300):  # bounded: 30 s
            engines[by_id[view["node_id"]]["role"]] = engine = _engine(node.base_url)
            if engine != "loading":
                break
            await asyncio.sleep(0.1)
    assert engines == {"leader": "leading", "standby": "warm", "api": "none"}

    # The supervisor's live view on a node that does not lead follows the leader's commits.
    url = f"ws://{api_only.host}:{api_only.port}/api/v1/supervisor/feed?token=token-admin"
    async with websockets.connect(url) as supervisor:
        before = json.loads(await asyncio.wait_for(supervisor.recv(), 30))["data"]["agents"]

        # A command through any node reaches the leader's engine; a live query anywhere sees it.
        body = {"presence_id": "away"}
        answer = httpx.put(
            f"{api_only.api_url}/agents/alice/presence",
            json=body,
            headers=auth("alice"),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        for node in (first, second, api_only):
            seen = httpx.get(f"{node.api_url}/agents/alice/presence", headers=auth("alice"))
            assert seen.status_code == 200, seen.text
            assert seen.json()["presence_id"] == "away"
        # Well before the 30 s refresh a node without the leader's commits would wait for.
        after = json.loads(await asyncio.wait_for(supervisor.recv(), 15))["data"]["agents"]
        assert after["unavailable"] == before["unavailable"] + 1

    pairs = zip((first, second, api_only), views, strict=True)
    lead = next(n for n, v in pairs if v["node_id"] == leader["node_id"])
    await _door_stream(f"ws://{lead.host}:{lead.port}{DOOR_PATH}")

    await asyncio.to_thread(_send_mail, smtp_port)
    async with seeded.session() as session:
        for _ in range(200):
            emails = await session.scalar(
                select(func.count()).where(t.InteractionRow.channel_id == "email")
            )
            if emails:
                break
            await asyncio.sleep(0.05)
    assert emails == 1

    # With no node left that may lead, the API node is not ready (a load balancer skips it).
    first.kill()
    second.kill()
    for _ in range(300):  # bounded: 30 s; the lease lasts 2 s here
        ready = httpx.get(f"{api_only.base_url}/readyz", timeout=10)
        if ready.status_code == 503:
            break
        await asyncio.sleep(0.1)
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["leader"] == "no leader reachable"


def _omniroute(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `omniroute` command line on the database and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "omniroute.cli", *args],
        cwd=REPO_ROOT,
        env=server_env(url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _cli_status(url: str, *, ok: bool = True) -> str:
    done = _omniroute(url, "cluster", "status")
    assert (done.returncode == 0) is ok, done.stderr
    return done.stdout if ok else done.stderr


async def _door_stream(url: str) -> None:
    """The leader's door stream: nodes only; each group answered under its id."""
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(url, additional_headers={NODE_HEADER: "forged"})
    assert refused.value.response.status_code == 403
    offers = {"message": codec.encode_message(AgentOffers("alice"))}
    node = {NODE_HEADER: node_token(TEST_SECRET_KEY)}
    async with websockets.connect(url, additional_headers=node) as door:
        await door.send(json.dumps({"id": 7, "messages": [offers, offers]}))
        await door.send(json.dumps({"id": 8, "messages": "none"}))
        answers = [json.loads(await asyncio.wait_for(door.recv(), 30)) for _ in range(2)]
    by_id = {a["id"]: a for a in answers}
    assert by_id[7]["answers"] == [{"ok": True, "result": []}] * 2
    assert by_id[8]["error"]["code"] == "VALIDATION_ERROR"


def _engine(base_url: str) -> str:
    ready = httpx.get(f"{base_url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    engine = ready.json()["engine"]
    assert isinstance(engine, str)
    return engine


def _send_mail(port: int) -> None:
    mail = EmailMessage()
    mail["From"] = "dana@customer.test"
    mail["To"] = "support@omniroute.localhost"
    mail["Subject"] = "My order"
    mail.set_content("Where is it?")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10) as client:
        client.send_message(mail)


def test_a_second_sqlite_node_is_refused(tmp_path: Path) -> None:
    # The first node starts although its database's directory does not exist yet (`make run`).
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'one.db'}"
    first = spawn(url, tmp_path / "first.log")
    try:
        first.wait_ready()
        _second_node_refused(url)
        assert first.alive
        assert "SQLite" in _cli_status(url, ok=False)
    finally:
        first.terminate()


def _second_node_refused(url: str) -> None:
    for extra in ((), ("--no-engine",)):
        done = _omniroute(url, "serve", "--port", str(free_port()), *extra)
        assert done.returncode != 0
        assert "PostgreSQL" in done.stderr, done.stderr


async def test_demo_on_several_nodes_at_once_loads_once(
    pg_server_url: str, cluster: Cluster
) -> None:
    nodes = [cluster.spawn("--demo", "--no-sim", env=NO_DEMO_MAIL) for _ in range(3)]
    for node in nodes:
        # Three nodes migrating and loading at once on a busy machine: give them time.
        node.wait_ready(timeout_s=120)
    logs = [node.log() for node in nodes]
    assert sum("demo data loaded" in log for log in logs) == 1, logs
    assert sum("already present" in log for log in logs) == 2, logs
    db = Database(pg_server_url)
    try:
        async with db.session() as session:
            channels = await session.scalar(
                select(func.count()).select_from(t.ChannelRow).where(t.ChannelRow.id == "chat")
            )
    finally:
        await db.dispose()
    assert channels == 1


async def test_a_customer_socket_on_a_standby_follows_the_chat(
    seeded: Database, cluster: Cluster
) -> None:
    leader = cluster.start()
    standby = cluster.start()
    admin = auth("admin")
    async with httpx.AsyncClient(base_url=leader.api_url, timeout=20) as lead:
        widget = {"id": "w", "title": "W", "queue_id": "support"}
        assert (await lead.post("/chat-widgets", json=widget, headers=admin)).status_code == 201
        await lead.put("/agents/bob/presence", json={"presence_id": "offline"}, headers=auth("bob"))
        await lead.put(
            "/agents/carol/presence", json={"presence_id": "offline"}, headers=auth("carol")
        )
    async with httpx.AsyncClient(base_url=standby.api_url, timeout=20) as other:
        started = await other.post(
            "/chat/sessions",
            json={"widget": "w", "name": "Cy", "email": "cy@example.test", "question": "hi"},
        )
        assert started.status_code == 201, started.text
    chat = started.json()
    url = f"ws://{standby.host}:{standby.port}{chat['ws_path']}?token={chat['token']}"
    async with websockets.connect(url, origin=websockets.Origin(standby.base_url)) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello"
        async with httpx.AsyncClient(base_url=leader.api_url, timeout=20) as lead:
            offers = (await lead.get("/agents/alice/offers", headers=auth("alice"))).json()
            assert len(offers) == 1
            accepted = await lead.post(f"/offers/{offers[0]['id']}/accept", headers=auth("alice"))
            assert accepted.status_code == 200, accepted.text
            said = await lead.post(
                f"/interactions/{chat['interaction_id']}/messages",
                json={"body": "Hello Cy, I am on it"},
                headers=auth("alice"),
            )
            assert said.status_code == 201, said.text
        seen: list[dict[str, Any]] = []
        # Both arrive; when the follower reads the accept and the message in one pass, the
        # message's frame comes first.
        while not (
            any(_says(frame, "Hello Cy, I am on it") for frame in seen)
            and any(frame["type"] == "agent_joined" for frame in seen)
        ):
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    last = next(f for f in seen if _says(f, "Hello Cy, I am on it"))["message"]["id"]

    # Away from the standby, the customer misses two messages; back on the leader with `since`
    # it gets exactly those, once each, in order, then the live ones.
    async with httpx.AsyncClient(base_url=standby.api_url, timeout=20) as other:
        for body in ("one", "two"):
            said = await other.post(
                f"/interactions/{chat['interaction_id']}/messages",
                json={"body": body},
                headers=auth("alice"),
            )
            assert said.status_code == 201, said.text
        url = f"ws://{leader.host}:{leader.port}{chat['ws_path']}"
        async with websockets.connect(url, origin=websockets.Origin(leader.base_url)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": chat["token"], "since": last}))
            said = await other.post(
                f"/interactions/{chat['interaction_id']}/messages",
                json={"body": "three"},
                headers=auth("alice"),
            )
            assert said.status_code == 201, said.text
            bodies: list[str] = []
            while "three" not in bodies:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "message":
                    bodies.append(frame["message"]["body"])
    assert bodies == ["one", "two", "three"]


def _says(frame: dict[str, Any], body: str) -> bool:
    return bool(frame["type"] == "message" and frame["message"]["body"] == body)


async def test_a_node_that_cannot_reach_the_leader_is_not_ready(
    seeded: Database, cluster: Cluster
) -> None:
    # The leader tells the others a URL where nothing listens (a wrong OMNIROUTE_NODE_URL, or
    # a network cut between nodes): a node that would fail every command is not ready.
    nowhere = f"http://127.0.0.1:{free_port()}"
    leader = cluster.spawn(env={"OMNIROUTE_NODE_URL": nowhere})
    leader.wait_ready()
    api_only = cluster.spawn("--no-engine", env={"OMNIROUTE_FORWARD_TIMEOUT_S": "1"})
    tried = None
    for _ in range(300):  # bounded: 30 s, until the node is up and has tried the leader
        with contextlib.suppress(httpx.TransportError):
            tried = httpx.put(
                f"{api_only.api_url}/agents/alice/presence",
                json={"presence_id": "away"},
                headers=auth("alice"),
                timeout=10,
            )
            if "did not answer" in tried.text:
                break
        await asyncio.sleep(0.1)
    assert tried is not None
    assert tried.status_code == 503, tried.text
    assert "did not answer" in tried.text
    ready = httpx.get(f"{api_only.base_url}/readyz", timeout=10)
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"] == {"store": "ok", "leader": "no leader reachable"}
    assert httpx.get(f"{leader.base_url}/readyz", timeout=10).status_code == 200
