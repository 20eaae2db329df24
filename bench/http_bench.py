"""HTTP benchmarks against a separate `omniroute serve` process: floor, end to end, latency, RSS."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

from bench import engine_bench
from bench.data import create_schema, mark_migrated, plain_queues, seed_agents, seed_config
from omniroute.store.db import Database

HOST = "127.0.0.1"
SECRET = "omniroute-bench-secret-key-not-for-production"
WORKERS = 32
AGENTS = 20
QUEUES = 13
CAPACITY = 100_000
FLOOR_WARMUP_S = 1.0
FLOOR_S = 5.0
E2E_WARMUP_S = 2.0
E2E_WINDOW_S = 8.0
LATENCY_S = 8.0
DRAIN_S = 10.0
READY_TIMEOUT_S = 600.0
INTEGRATION = {"Authorization": "Bearer tok-int"}
API = "/api/v1"

if importlib.util.find_spec("sniffio") is None:
    # httpcore tries `import sniffio` for every pooled request; without the package each try
    # scans sys.path again (milliseconds per request). A None entry makes the miss instant.
    sys.modules["sniffio"] = None  # type: ignore[assignment]


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[http] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ClientPool:
    """Keep-alive HTTP/1.1 connections, one `httpx.AsyncClient` each; a request borrows one."""

    # httpcore's own pool scans every connection on each request, which costs more client CPU
    # than the request itself at 32 connections; single-connection clients avoid the scan.

    def __init__(self, base: str, size: int = WORKERS) -> None:
        self._idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        self._all = [
            httpx.AsyncClient(
                base_url=base,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                timeout=60.0,
                verify=False,  # plain HTTP; skips loading the CA bundle for every client
            )
            for _ in range(size)
        ]
        for client in self._all:
            self._idle.put_nowait(client)

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, json: Any = None
    ) -> httpx.Response:
        """Send one request on an idle connection."""
        client = await self._idle.get()
        try:
            return await client.request(method, url, headers=headers, json=json)
        finally:
            self._idle.put_nowait(client)

    async def aclose(self) -> None:
        """Close every connection."""
        for client in self._all:
            await client.aclose()


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


class Server:
    """An `omniroute serve` child process on a prepared SQLite file."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.log_path = db_path.with_suffix(".log")
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.ws_base = f"ws://{HOST}:{self.port}"
        self.proc: asyncio.subprocess.Process | None = None
        self.ps: psutil.Process | None = None
        self.ready_s = 0.0

    async def start(self) -> None:
        """Start the process and wait until /readyz answers 200."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
        env |= {
            "OMNIROUTE_DATABASE_URL": f"sqlite+aiosqlite:///{self.db_path}",
            "OMNIROUTE_SECRET_KEY": SECRET,
            # No per-request access log: the benchmark measures the API, not log writing.
            "OMNIROUTE_LOG_LEVEL": "warning",
        }
        out = _open_log(self.log_path)
        t0 = time.perf_counter()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "omniroute.cli", "serve",
                "--host", HOST, "--port", str(self.port),
                env=env, stdout=out, stderr=asyncio.subprocess.STDOUT, cwd=self.db_path.parent,
            )  # fmt: skip
        finally:
            out.close()
        self.ps = psutil.Process(self.proc.pid)
        await self._wait_ready()
        self.ready_s = time.perf_counter() - t0

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server printed."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.perf_counter() + READY_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.base, timeout=10.0) as http:
            while time.perf_counter() < deadline:
                if self.proc.returncode is not None:
                    msg = f"server exited with {self.proc.returncode}:\n{self.log_tail()}"
                    raise RuntimeError(msg)
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        msg = f"server not ready after {READY_TIMEOUT_S} s:\n{self.log_tail()}"
        raise RuntimeError(msg)

    def rss_mb(self) -> float:
        """Resident memory of the server process in MiB."""
        assert self.ps is not None
        return self.ps.memory_info().rss / 2**20

    async def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 15 s)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15.0)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def _check_hello(agent_id: str, raw: str | bytes) -> None:
    """Refuse a feed whose first frame is not the hello snapshot."""
    hello = orjson.loads(raw)
    if hello.get("type") != "hello":
        msg = f"feed of {agent_id} began with {hello!r}"
        raise RuntimeError(msg)


class Agents:
    """The agents' side: one WebSocket feed each; every offer is accepted over REST."""

    def __init__(self, server: Server, agent_ids: list[str]) -> None:
        self.server = server
        self.agent_ids = agent_ids
        self.http = ClientPool(server.base)
        self.offered: dict[str, float] = {}
        self.accepted: list[float] = []
        self.failures: dict[int, int] = {}
        self._readers: list[asyncio.Task[None]] = []
        self._accepts: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open every feed and wait for each hello frame."""
        loop = asyncio.get_running_loop()
        ready = [loop.create_future() for _ in self.agent_ids]
        self._readers = [
            asyncio.create_task(self._read(aid, fut))
            for aid, fut in zip(self.agent_ids, ready, strict=True)
        ]
        await asyncio.gather(*ready)

    async def _read(self, agent_id: str, ready: asyncio.Future[None]) -> None:
        url = f"{self.server.ws_base}{API}/agents/{agent_id}/feed?token=tok-{agent_id}"
        try:
            async with connect(url, max_size=None, ping_interval=None) as ws:
                _check_hello(agent_id, await ws.recv())
                ready.set_result(None)
                async for raw in ws:
                    now = time.perf_counter()
                    frame = orjson.loads(raw)
                    if frame["type"] != "offer.created":
                        continue
                    data = frame["data"]
                    self.offered[data["document_id"]] = now
                    task = asyncio.create_task(self._accept(agent_id, data["offer_id"]))
                    self._accepts.add(task)
                    task.add_done_callback(self._accepts.discard)
        except Exception as err:
            if not ready.done():
                ready.set_exception(err)
                return
            raise

    async def _accept(self, agent_id: str, offer_id: str) -> None:
        response = await self.http.request(
            "POST", f"{API}/offers/{offer_id}/accept", {"Authorization": f"Bearer tok-{agent_id}"}
        )
        if response.status_code == 200:
            self.accepted.append(time.perf_counter())
        else:
            self.failures[response.status_code] = self.failures.get(response.status_code, 0) + 1

    async def drain(self) -> None:
        """Wait for the accepts in flight."""
        deadline = time.perf_counter() + DRAIN_S
        while self._accepts and time.perf_counter() < deadline:
            await asyncio.wait(set(self._accepts), timeout=deadline - time.perf_counter())

    async def close(self) -> None:
        """Stop reading the feeds and close the HTTP client."""
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in list(self._accepts):
            task.cancel()
        await self.http.aclose()


async def _workers(count: int, until: float, work: Callable[[int], Awaitable[None]]) -> None:
    async def loop(worker: int) -> None:
        while time.perf_counter() < until:
            await work(worker)

    await asyncio.gather(*(loop(i) for i in range(count)))


class CpuMeter:
    """CPU use of the server and of this (client) process over a span, in % of one core."""

    def __init__(self, server: Server) -> None:
        assert server.ps is not None
        self._procs = (server.ps, psutil.Process())

    def start(self) -> None:
        """Begin the span."""
        for proc in self._procs:
            proc.cpu_percent(None)

    def stop(self) -> tuple[float, float]:
        """Server and client CPU since `start`."""
        server, client = (proc.cpu_percent(None) for proc in self._procs)
        return server, client


async def http_floor(server: Server, workers: int = WORKERS) -> dict[str, Any]:
    """GET /healthz from `workers` concurrent workers at saturation."""
    done = 0
    http = ClientPool(server.base, workers)
    cpu = CpuMeter(server)

    async def get(_worker: int) -> None:
        nonlocal done
        response = await http.request("GET", "/healthz")
        response.raise_for_status()
        done += 1

    try:
        await _workers(workers, time.perf_counter() + FLOOR_WARMUP_S, get)
        done = 0
        cpu.start()
        t0 = time.perf_counter()
        await _workers(workers, t0 + FLOOR_S, get)
        elapsed = time.perf_counter() - t0
        server_cpu, client_cpu = cpu.stop()
    finally:
        await http.aclose()
    return {
        "http_floor_req_per_s": done / elapsed,
        "http_floor_server_cpu": server_cpu,
        "http_floor_client_cpu": client_cpu,
    }


class Creator:
    """The integration's side: creates chat interactions over REST."""

    def __init__(self, server: Server, queues: list[str]) -> None:
        self.http = ClientPool(server.base)
        self.queues = queues
        self.sent: dict[str, float] = {}
        self.failures: dict[int, int] = {}
        self._next = 0

    async def create(self, _worker: int = 0) -> None:
        """Create one interaction; remember when its request was sent."""
        queue = self.queues[self._next % len(self.queues)]
        self._next += 1
        t0 = time.perf_counter()
        body = {"channel_id": "chat", "queue_id": queue}
        response = await self.http.request("POST", f"{API}/interactions", INTEGRATION, body)
        if response.status_code == 201:
            self.sent[orjson.loads(response.content)["id"]] = t0
        else:
            self.failures[response.status_code] = self.failures.get(response.status_code, 0) + 1

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


async def e2e(server: Server, agent_ids: list[str], queues: list[str]) -> dict[str, Any]:
    """Interactions created, offered over the feeds and accepted, at saturation."""
    agents = Agents(server, agent_ids)
    creator = Creator(server, queues)
    cpu = CpuMeter(server)
    try:
        await agents.start()
        start = time.perf_counter()
        window = (start + E2E_WARMUP_S, start + E2E_WARMUP_S + E2E_WINDOW_S)

        async def sample_cpu() -> tuple[float, float]:
            await asyncio.sleep(window[0] - time.perf_counter())
            cpu.start()
            await asyncio.sleep(window[1] - time.perf_counter())
            return cpu.stop()

        sampler = asyncio.create_task(sample_cpu())
        await _workers(WORKERS, window[1], creator.create)
        server_cpu, client_cpu = await sampler
        await agents.drain()
    finally:
        await agents.close()
        await creator.close()
    accepted = sum(1 for at in agents.accepted if window[0] <= at < window[1])
    if agents.failures or creator.failures:
        log(f"e2e failures: create {creator.failures}, accept {agents.failures}")
    log(
        f"e2e: created {len(creator.sent)}, offered {len(agents.offered)}, "
        f"accepted {len(agents.accepted)} ({accepted} in the {E2E_WINDOW_S:.0f} s window)"
    )
    return {
        "e2e_items_per_s": accepted / E2E_WINDOW_S,
        "e2e_server_cpu": server_cpu,
        "e2e_client_cpu": client_cpu,
    }


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep this process's own garbage collector off what exists so far, for a measurement.

    The bench process holds well over 100,000 objects (SQLAlchemy, the server's modules, the
    figures so far); a full collection of them stopped its loop for about 100 ms, and every
    frame arriving meanwhile was stamped late: the client's pause, counted as the server's.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def paced(
    create: Callable[[], Coroutine[Any, Any, object]],
    sent: dict[str, float],
    offered: dict[str, float],
    rate: float,
    *,
    duration_s: float,
    drain_s: float,
) -> None:
    """Create for `duration_s` at `rate` per second; wait until each was offered (bounded)."""
    pending: list[asyncio.Task[object]] = []
    t0 = time.perf_counter()
    for i in range(max(1, int(rate * duration_s))):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(create()))
    await asyncio.gather(*pending)
    for _ in range(int(drain_s / 0.05)):
        if sent.keys() <= offered.keys():
            break
        await asyncio.sleep(0.05)


async def offer_latency(
    server: Server, agent_ids: list[str], queues: list[str], rate: float
) -> dict[str, Any]:
    """Create request sent to offer frame received, with creations paced at `rate` per second."""
    agents = Agents(server, agent_ids)
    creator = Creator(server, queues)
    try:
        await agents.start()
        with frozen_heap():
            await paced(
                creator.create,
                creator.sent,
                agents.offered,
                rate,
                duration_s=LATENCY_S,
                drain_s=DRAIN_S,
            )
        await agents.drain()
    finally:
        await agents.close()
        await creator.close()
    latencies = [
        (agents.offered[doc] - sent) * 1e3
        for doc, sent in creator.sent.items()
        if doc in agents.offered
    ]
    missing = len(creator.sent) - len(latencies)
    if missing or creator.failures:
        log(f"latency: {missing} offers never seen, create failures {creator.failures}")
    if not latencies:
        msg = "no offer frame arrived for any created interaction"
        raise RuntimeError(msg)
    return {
        "offer_latency_ms_p50": percentile(latencies, 50),
        "offer_latency_ms_p99": percentile(latencies, 99),
        "offer_latency_rate_per_s": rate,
        "offer_latency_samples": len(latencies),
    }


async def prepare_e2e(path: Path) -> tuple[list[str], list[str]]:
    """A SQLite file with available agents of huge chat capacity; their ids and plain queues."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await create_schema(db)
        queues = await seed_config(db, QUEUES, capacity=CAPACITY)
        agent_ids = await seed_agents(db, AGENTS, presence="available")
    finally:
        await db.dispose()
    await asyncio.to_thread(mark_migrated, path)
    return agent_ids, plain_queues(queues)


async def rss_100k(workdir: Path) -> dict[str, Any]:
    """A fresh server holding 10,000 agents and 100,000 queued items: its resident memory."""
    path = workdir / "http-rss.db"
    db = await engine_bench.prepare(path, engine_bench.ITEMS)
    await db.dispose()
    await asyncio.to_thread(mark_migrated, path)
    server = Server(path)
    try:
        await server.start()
        await asyncio.sleep(1.0)
        rss = server.rss_mb()
    finally:
        await server.stop()
    log(f"rss: {rss:.1f} MiB after a {server.ready_s:.1f} s start")
    return {"rss_mb_100k": rss, "server_ready_s_100k": server.ready_s}


async def run(workdir: Path) -> dict[str, Any]:
    """Run the HTTP benchmarks; one figure per key."""
    load_1m = os.getloadavg()[0]
    path = workdir / "http-e2e.db"
    agent_ids, queues = await prepare_e2e(path)
    server = Server(path)
    try:
        await server.start()
        log(f"server up on {server.base} ({server.ready_s:.1f} s)")
        floor = await http_floor(server)
        log(
            f"floor: {floor['http_floor_req_per_s']:.0f} GET /healthz per s "
            f"(CPU server {floor['http_floor_server_cpu']:.0f}%, "
            f"client {floor['http_floor_client_cpu']:.0f}%)"
        )
        flow = await e2e(server, agent_ids, queues)
        log(
            f"e2e: {flow['e2e_items_per_s']:.0f} items/s "
            f"(CPU server {flow['e2e_server_cpu']:.0f}%, client {flow['e2e_client_cpu']:.0f}%)"
        )
        latency = await offer_latency(server, agent_ids, queues, flow["e2e_items_per_s"] / 2)
        log(
            f"latency: p50 {latency['offer_latency_ms_p50']:.1f} ms, "
            f"p99 {latency['offer_latency_ms_p99']:.1f} ms "
            f"at {latency['offer_latency_rate_per_s']:.0f} creations/s"
        )
    finally:
        await server.stop()
    memory = await rss_100k(workdir)
    out: dict[str, Any] = {
        "http_floor_req_per_s": floor["http_floor_req_per_s"],
        "e2e_items_per_s": flow["e2e_items_per_s"],
        "e2e_floor_ratio": flow["e2e_items_per_s"] / floor["http_floor_req_per_s"],
        "offer_latency_ms_p50": latency["offer_latency_ms_p50"],
        "offer_latency_ms_p99": latency["offer_latency_ms_p99"],
        "rss_mb_100k": memory["rss_mb_100k"],
        # Hints for reading the figures above.
        "http_floor_server_cpu": floor["http_floor_server_cpu"],
        "http_floor_client_cpu": floor["http_floor_client_cpu"],
        "e2e_server_cpu": flow["e2e_server_cpu"],
        "e2e_client_cpu": flow["e2e_client_cpu"],
        "offer_latency_rate_per_s": latency["offer_latency_rate_per_s"],
        "server_ready_s_100k": memory["server_ready_s_100k"],
        "host_cpus": os.cpu_count(),
        "host_load_1m": load_1m,  # other work on the machine when the HTTP part began
    }
    return {k: round(v, 3 if k == "e2e_floor_ratio" else 1) for k, v in out.items()}
