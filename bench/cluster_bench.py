"""Cluster figures: failover under load, lost and double work, throughput and cost per node.

Starts its own PostgreSQL (like `.ci/run`), then `omniroute serve` nodes on it. Sizes come
from the environment so a small machine can run a smaller version (the JSON says which):
`OMNIROUTE_BENCH_CLUSTER_QUEUED` (100,000 queued items), `OMNIROUTE_BENCH_CLUSTER_KILLS` (5),
`OMNIROUTE_BENCH_FEED_SOCKETS` (10,000 idle feed sockets on one API node);
`OMNIROUTE_BENCH_CLUSTER_OVERDUE=1` seeds items months old, all their escalation steps overdue.
`OMNIROUTE_BENCH_NODE_LOG_LEVEL=info` has the nodes log their takeover phases and
`OMNIROUTE_BENCH_KEEP_LOGS=DIR` keeps their logs there.
Failover is measured with hot standbys: each kill waits until the other nodes are warm
(`/readyz` says so); how long a restarted node took to warm up is reported too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from alembic import command
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench.data import START, create_schema, plain_queues, seed_agents, seed_config, seed_items
from bench.http_bench import HOST, SECRET, free_port, log, percentile
from omniroute.store import migrate
from omniroute.store.db import Database

QUEUED = int(os.environ.get("OMNIROUTE_BENCH_CLUSTER_QUEUED", "100000"))
KILLS = int(os.environ.get("OMNIROUTE_BENCH_CLUSTER_KILLS", "5"))
FEED_SOCKETS = int(os.environ.get("OMNIROUTE_BENCH_FEED_SOCKETS", "10000"))
OVERDUE = os.environ.get("OMNIROUTE_BENCH_CLUSTER_OVERDUE", "") == "1"
NODE_LOG_LEVEL = os.environ.get("OMNIROUTE_BENCH_NODE_LOG_LEVEL", "warning")
KEEP_LOGS = os.environ.get("OMNIROUTE_BENCH_KEEP_LOGS", "")
AGENTS = 20
AVAILABLE = 5
LOAD_S = 10.0
WORKERS = 16
BOUND_S = 600.0
PAUSE_S = 0.05
INT = {"Authorization": "Bearer tok-int"}


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server; yields the URL of an empty database on it."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    initdb = str(found[-1]) if found else shutil.which("initdb")
    if initdb is None:
        msg = "PostgreSQL is not installed (no initdb)"
        raise RuntimeError(msg)
    bin_dir = Path(initdb).parent
    # Its own directory under /tmp, as `.ci/run` does: the server's user must reach it.
    data = Path(tempfile.mkdtemp(prefix="omniroute-bench-pg."))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run([*run, "--no-sync"], check=True, capture_output=True)
    ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data)]
    options = f"-k /tmp -h {HOST} -p {port} -c max_connections=300 -c fsync=on"
    subprocess.run(
        [*ctl, "-l", str(data / "server.log"), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U", "postgres",
             "bench"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        yield f"postgresql+asyncpg://postgres@{HOST}:{port}/bench"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


class Node:
    """One `omniroute serve` process of the cluster."""

    def __init__(self, url: str, workdir: Path, name: str, *args: str) -> None:
        self.url = url
        self.args = args
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None
        self.node_id = ""

    def start(self) -> None:
        """Start the process (not waiting for it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
        env |= {
            "OMNIROUTE_DATABASE_URL": self.url,
            "OMNIROUTE_SECRET_KEY": SECRET,
            "OMNIROUTE_LOG_LEVEL": NODE_LOG_LEVEL,
            # The idle feed sockets are connections too: room for all of them and the load.
            "OMNIROUTE_HTTP_MAX_CONNECTIONS": str(FEED_SOCKETS + 1000),
        }
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "omniroute.cli", "serve", "--host", HOST,
                 "--port", str(self.port), *self.args],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.ps = psutil.Process(self.proc.pid)

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.proc is not None and self.proc.poll() is None

    async def ready(self) -> None:
        """Wait until /readyz answers 200 and learn the node's id."""
        deadline = time.perf_counter() + BOUND_S
        async with httpx.AsyncClient(base_url=self.base, timeout=10.0) as http:
            while time.perf_counter() < deadline:
                if not self.alive:
                    msg = f"node exited:\n{self.log_path.read_text(errors='replace')[-2000:]}"
                    raise RuntimeError(msg)
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        view = await http.get(
                            "/api/v1/cluster", headers={"Authorization": "Bearer tok-admin"}
                        )
                        self.node_id = view.json()["node_id"]
                        return
                await asyncio.sleep(0.1)
        msg = "node not ready"
        raise RuntimeError(msg)

    async def warm(self) -> float:
        """Wait until the node leads or stands by warm (takes over without a full load); seconds."""
        t0 = time.perf_counter()
        async with httpx.AsyncClient(base_url=self.base, timeout=10.0) as http:
            while time.perf_counter() < t0 + BOUND_S:
                with contextlib.suppress(httpx.TransportError, ValueError):
                    if (await http.get("/readyz")).json().get("engine") in ("leading", "warm"):
                        return time.perf_counter() - t0
                await asyncio.sleep(0.1)
        msg = "node never warm"
        raise RuntimeError(msg)

    def cpu_s(self) -> float:
        """CPU seconds used so far."""
        assert self.ps is not None
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss_kb(self) -> float:
        """Resident memory in KiB."""
        assert self.ps is not None
        return float(self.ps.memory_info().rss / 1024)

    def kill(self) -> None:
        """SIGKILL."""
        if self.proc is not None and self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        if self.proc is None or not self.alive:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


async def prepare(url: str, queued: int) -> tuple[list[str], list[str]]:
    """Schema at head, 13 queues, agents (a few available) and `queued` queued items."""
    db = Database(url)
    try:
        await create_schema(db)
        queues = await seed_config(db, queues=13)
        agents = await seed_agents(db, AGENTS)
        # The nodes run on the wall clock: the items arrived just now, so their escalation steps
        # (hours) do not fall due during the run. With OVERDUE they arrived months ago: every
        # step is overdue and the leaders work off that backlog (3 timers an item) meanwhile.
        arrived = START if OVERDUE else datetime.now(UTC) - timedelta(milliseconds=queued)
        await seed_items(db, queues, queued, start=arrived)
        async with db.session() as s, s.begin():
            await s.execute(
                text("UPDATE agents SET presence_id = 'available' WHERE id = ANY(:ids)"),
                {"ids": agents[:AVAILABLE]},
            )
    finally:
        await db.dispose()
    await asyncio.to_thread(command.stamp, migrate.alembic_config(url), "head")
    return agents, plain_queues(queues)


async def leader(nodes: list[Node]) -> Node:
    """The node that leads now (waits through a failover)."""
    deadline = time.perf_counter() + BOUND_S
    while time.perf_counter() < deadline:
        for node in nodes:
            if not node.alive:
                continue
            with contextlib.suppress(httpx.TransportError, KeyError, TypeError):
                async with httpx.AsyncClient(base_url=node.base, timeout=5) as http:
                    view = (
                        await http.get(
                            "/api/v1/cluster", headers={"Authorization": "Bearer tok-admin"}
                        )
                    ).json()
                lead = view["leader"]["node_id"]
                for other in nodes:
                    if other.alive and other.node_id == lead:
                        return other
        await asyncio.sleep(PAUSE_S)
    msg = "no leader"
    raise RuntimeError(msg)


async def post(nodes: list[Node], path: str, body: Any, key: str, headers: dict[str, str]) -> Any:
    """A change through any live node, retried with its Idempotency-Key until answered."""
    turn = 0
    deadline = time.perf_counter() + BOUND_S
    async with httpx.AsyncClient(timeout=30) as http:
        while time.perf_counter() < deadline:
            live = [n for n in nodes if n.alive]
            node = live[turn % len(live)]
            turn += 1
            with contextlib.suppress(httpx.TransportError):
                answer = await http.post(
                    f"{node.base}/api/v1{path}",
                    json=body,
                    headers=headers | {"Idempotency-Key": key},
                )
                if answer.status_code < 500:
                    return answer.json()
            await asyncio.sleep(PAUSE_S)
    msg = f"POST {path} never answered"
    raise RuntimeError(msg)


class Watcher:
    """One agent's feed on any live node: its pending offers and when new ones arrive."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.pending: list[str] = []
        self.offered = asyncio.Event()
        self.has_pending = asyncio.Event()
        self.last = 0
        self.started = False

    async def run(self, nodes: list[Node], stop: asyncio.Event) -> None:
        """Follow the feed, resuming with ?since= on another node after a drop."""
        turn = 0
        while not stop.is_set():
            live = [n for n in nodes if n.alive]
            node = live[turn % len(live)]
            turn += 1
            since = f"&since={self.last}" if self.started else ""
            url = f"ws://{HOST}:{node.port}/api/v1/agents/{self.agent_id}/feed"
            with contextlib.suppress(WebSocketException, OSError, TimeoutError):
                async with connect(f"{url}?token=tok-{self.agent_id}{since}") as ws:
                    await self._follow(ws, stop)
            await asyncio.sleep(PAUSE_S)

    async def _follow(self, ws: ClientConnection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if frame["type"] == "hello":
                self.started = True
                self.last = frame["seq"]
                self.pending = [o["id"] for o in frame["data"]["offers"]]
                self._mark()
                continue
            if "seq" in frame and frame["type"] != "resumed":
                self.last = frame["seq"]
            data = frame.get("data", {})
            if frame["type"] == "offer.created":
                self.pending.append(data["offer_id"])
                self.offered.set()
            elif frame["type"] == "offer.ended" and data.get("offer_id") in self.pending:
                self.pending.remove(data["offer_id"])
            self._mark()

    def _mark(self) -> None:
        if self.pending:
            self.has_pending.set()
        else:
            self.has_pending.clear()


async def failover(nodes: list[Node], workdir: Path, url: str, agent: str) -> dict[str, Any]:
    """Kill the leader `KILLS` times under load; kill to the agent's first new offer frame."""
    stop = asyncio.Event()
    watcher = Watcher(agent)
    watching = asyncio.create_task(watcher.run(nodes, stop))
    created: list[str] = []
    queue_ids: list[str] = []

    async def load() -> None:
        n = 0
        while not stop.is_set():
            body = {"channel_id": "chat", "queue_id": queue_ids[n % len(queue_ids)]}
            answer = await post(nodes, "/interactions", body, f"fo-{n}", INT)
            if "id" in answer:
                created.append(answer["id"])
            n += 1
            await asyncio.sleep(0.1)

    queue_ids.extend(await _chat_queues(url))
    loading = asyncio.create_task(load())
    times: list[float] = []
    warming: list[float] = []
    await asyncio.wait_for(watcher.has_pending.wait(), BOUND_S)
    for k in range(KILLS):
        victim = await leader(nodes)
        log(f"cluster: kill {k + 1}/{KILLS} of {victim.node_id}")
        watcher.offered.clear()
        killed = time.perf_counter()
        victim.kill()
        offer = watcher.pending[0] if watcher.pending else None
        if offer is not None:
            await post(nodes, f"/offers/{offer}/reject", {}, f"rej-{offer}",
                       {"Authorization": f"Bearer tok-{agent}"})  # fmt: skip
        await asyncio.wait_for(watcher.offered.wait(), BOUND_S)
        times.append(time.perf_counter() - killed)
        restarted = Node(url, workdir, f"node-r{k}")
        restarted.start()
        await restarted.ready()
        nodes.append(restarted)
        # Hot standbys are what is measured: the next kill waits until this one is warm.
        warming.append(await restarted.warm())
        await asyncio.wait_for(watcher.has_pending.wait(), BOUND_S)
    stop.set()
    await asyncio.gather(loading, watching, return_exceptions=True)
    lost, doubles = await _lost_and_doubles(url, created)
    return {
        "cluster_failover_s_p50": round(percentile(times, 50), 2),
        "cluster_failover_s_p99": round(percentile(times, 99), 2),
        "cluster_failover_s_each": [round(x, 2) for x in times],
        "cluster_standby_warm_s_each": [round(x, 1) for x in warming],
        "cluster_lost": lost,
        "cluster_double_offers": doubles,
        "cluster_failover_created": len(created),
    }


async def _chat_queues(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.session() as s:
            rows = await s.execute(text("SELECT id, channels, skills FROM queues ORDER BY id"))
            return [
                qid
                for qid, channels, skills in rows
                if "chat" in channels and not any(sk.get("mandatory") for sk in skills)
            ]
    finally:
        await db.dispose()


async def _lost_and_doubles(url: str, created: list[str]) -> tuple[int, int]:
    db = Database(url)
    try:
        async with db.session() as s:
            found = await s.scalar(
                text("SELECT count(*) FROM interactions WHERE id = ANY(:ids)"), {"ids": created}
            )
            doubles = await s.scalar(
                text(
                    "SELECT count(*) FROM (SELECT work_item_id FROM offers "
                    "WHERE state IN ('pending', 'accepted') GROUP BY work_item_id "
                    "HAVING count(*) > 1) AS d"
                )
            )
    finally:
        await db.dispose()
    return len(created) - int(found or 0), int(doubles or 0)


async def throughput(front: list[Node], behind: Node, queues: list[str]) -> dict[str, float]:
    """Items created per second through `front`; CPU per item of `behind` and of `front`."""
    done = 0
    until = time.perf_counter() + LOAD_S

    async def worker(w: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=30) as http:
            n = 0
            while time.perf_counter() < until:
                node = front[(w + n) % len(front)]
                body = {"channel_id": "chat", "queue_id": queues[n % len(queues)]}
                answer = await http.post(f"{node.base}/api/v1/interactions", json=body, headers=INT)
                if answer.status_code == 201:
                    done += 1
                n += 1

    cpu_behind = behind.cpu_s()
    cpu_front = [n.cpu_s() for n in front]
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    elapsed = time.perf_counter() - t0
    items = max(done, 1)
    front_cpu = sum(n.cpu_s() - c for n, c in zip(front, cpu_front, strict=True))
    return {
        "items_per_s": done / elapsed,
        "leader_cpu_ms": (behind.cpu_s() - cpu_behind) * 1000 / items,
        "front_cpu_ms": front_cpu * 1000 / items,
    }


async def feed_sockets(api: Node, agent: str, count: int) -> float:
    """RSS per idle feed socket on one API node, in KiB."""
    before = api.rss_kb()
    url = f"ws://{HOST}:{api.port}/api/v1/agents/{agent}/feed?token=tok-{agent}&since=0"
    sockets: list[ClientConnection] = []
    try:
        for start in range(0, count, 200):
            batch = await asyncio.gather(
                *(connect(url, max_size=2**20) for _ in range(min(200, count - start)))
            )
            sockets.extend(batch)
        await asyncio.sleep(2.0)
        after = api.rss_kb()
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return (after - before) / max(len(sockets), 1)


async def run(workdir: Path) -> dict[str, Any]:
    """Every cluster figure, on a PostgreSQL started here."""
    results: dict[str, Any] = {
        "cluster_queued": QUEUED,
        "cluster_kills": KILLS,
        "cluster_overdue": OVERDUE,
    }
    with postgres(workdir) as url:
        log(f"cluster: seeding {QUEUED} queued items")
        agents, queues = await prepare(url, QUEUED)
        nodes = [Node(url, workdir, f"node-{n}") for n in range(3)]
        for node in nodes:
            node.start()
            await node.ready()
        for node in nodes:
            await node.warm()
        results |= await failover(nodes, workdir, url, agents[0])
        for node in nodes:
            node.stop()

        log("cluster: throughput, one node")
        single = Node(url, workdir, "single")
        single.start()
        await single.ready()
        one = await throughput([single], single, queues)
        results["single_node_items_per_s"] = round(one["items_per_s"], 1)
        log("cluster: throughput, a leader behind two API nodes")
        apis = [Node(url, workdir, f"api-{n}", "--no-engine") for n in range(2)]
        for node in apis:
            node.start()
            await node.ready()
        three = await throughput(apis, single, queues)
        results["cluster_items_per_s"] = round(three["items_per_s"], 1)
        results["leader_cpu_ms_per_item"] = round(three["leader_cpu_ms"], 3)
        # Each item went through one API node: its CPU per item is the fronts' total per item.
        results["api_node_cpu_ms_per_item"] = round(three["front_cpu_ms"], 3)
        log(f"cluster: {FEED_SOCKETS} idle feed sockets on one API node")
        results["feed_sockets"] = FEED_SOCKETS
        results["feed_sockets_rss_kb_each"] = round(
            await feed_sockets(apis[0], agents[AVAILABLE], FEED_SOCKETS), 1
        )
        for node in [single, *apis]:
            node.stop()
    return results


def main() -> None:
    """Run the cluster figures alone: `python -m bench.cluster_bench`."""
    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        try:
            results = asyncio.run(run(Path(tmp)))
        finally:
            if KEEP_LOGS:
                shutil.copytree(tmp, KEEP_LOGS, dirs_exist_ok=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
