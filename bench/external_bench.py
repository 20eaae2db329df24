"""External routing through the simulator: outbox, webhook, provider decision, Work Offer API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

from bench.data import create_schema, mark_migrated, seed_agents, seed_config, seed_external_queue
from bench.http_bench import (
    API,
    HOST,
    INTEGRATION,
    ClientPool,
    Server,
    _check_hello,
    free_port,
    frozen_heap,
    paced,
    percentile,
)
from omniroute.sim.world import ON_QUEUE, SimAgent, default_world
from omniroute.store.db import Database

SPOKE = "sim"
SIM_SECRET = "omniroute-bench-webhook-secret-0123456789abcdef"
SIM_QUEUE = "sim-queue-general"
THINK_MS = 0
AGENTS = 20
SIM_CAPACITY = 50
CAPACITY = 100_000
LANES = 32  # throughput is flat from 16 to 128 items in flight; more only queue up
SAT_WARMUP_S = 3.0
SAT_WINDOW_S = 8.0
LATENCY_S = 15.0
DRAIN_S = 30.0
READY_TIMEOUT_S = 60.0
LANE_TIMEOUT_S = 30.0
ADMIN = {"Authorization": "Bearer tok-admin"}


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[external] {message}", file=sys.stderr, flush=True)


def scenario(agent_ids: list[str]) -> dict[str, Any]:
    """The default world's queues and codes, with one big-capacity sim agent per bench agent."""
    world = default_world()
    world.agents = [
        SimAgent(
            id=f"sim-{aid}", email=f"{aid}@bench.test", name=aid, capacity=SIM_CAPACITY, skills=[]
        )
        for aid in agent_ids
    ]
    world.settings.think_ms = THINK_MS
    world.settings.offer_timeout_s = 600
    data: dict[str, Any] = world.model_dump(mode="json")
    return data


class Simulator:
    """The contact-center simulator as a child process (`python -m omniroute.sim`)."""

    def __init__(self, workdir: Path, port: int, omniroute_url: str) -> None:
        self.port = port
        self.base = f"http://{HOST}:{port}"
        self.omniroute_url = omniroute_url
        self.scenario_path = workdir / "sim-scenario.json"
        self.log_path = workdir / "sim.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.ps: psutil.Process | None = None

    async def start(self, world: dict[str, Any]) -> None:
        """Write the scenario, start the process and wait until /readyz answers 200."""
        self.scenario_path.write_text(json.dumps(world))
        # `python -m omniroute.sim` rather than `omniroute.cli sim`: only it takes --log-level,
        # and a per-request access log would cost the simulator more than its routing does.
        out = self.log_path.open("wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "omniroute.sim",
                "--host", HOST, "--port", str(self.port),
                "--omniroute-url", self.omniroute_url, "--token", "tok-int",
                "--secret", SIM_SECRET, "--spoke", SPOKE, "--think-ms", str(THINK_MS),
                "--scenario", str(self.scenario_path), "--log-level", "warning",
                stdout=out, stderr=asyncio.subprocess.STDOUT, cwd=self.scenario_path.parent,
            )  # fmt: skip
        finally:
            out.close()
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.perf_counter() + READY_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.base, timeout=5.0) as http:
            while time.perf_counter() < deadline:
                if self.proc.returncode is not None:
                    msg = f"simulator exited with {self.proc.returncode}:\n{self.log_tail()}"
                    raise RuntimeError(msg)
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        msg = f"simulator not ready after {READY_TIMEOUT_S} s:\n{self.log_tail()}"
        raise RuntimeError(msg)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the simulator printed."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

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


async def sign_in_all(sim: Simulator, sim_ids: list[str]) -> None:
    """Sign every sim agent in (linking it by email) and wait until the sim sees it on queue."""
    async with httpx.AsyncClient(base_url=sim.base, timeout=30.0) as http:
        for sid in sim_ids:
            response = await http.post(f"/sim/agents/{sid}/sign-in")
            if response.status_code != 200:
                msg = f"sign-in of {sid}: {response.status_code} {response.text[:300]}"
                raise RuntimeError(msg)
        deadline = time.perf_counter() + READY_TIMEOUT_S
        while time.perf_counter() < deadline:
            state = (await http.get("/sim/state")).json()
            ready = [a for a in state["agents"] if a["state"] == ON_QUEUE and a["linked"]]
            if len(ready) == len(sim_ids):
                return
            await asyncio.sleep(0.1)
    msg = "the simulator never saw every agent on queue"
    raise RuntimeError(msg)


class Meter:
    """CPU use of several processes over a span, in % of one core each."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self._procs = procs

    def start(self) -> None:
        """Begin the span."""
        for proc in self._procs.values():
            proc.cpu_percent(None)

    def stop(self) -> dict[str, float]:
        """Each process's CPU since `start`."""
        return {name: proc.cpu_percent(None) for name, proc in self._procs.items()}


class Desk:
    """The agents' side: one feed each; every offer accepted, then its interaction ended."""

    def __init__(self, server: Server, agent_ids: list[str], wrap_up_code_id: str) -> None:
        self.server = server
        self.agent_ids = agent_ids
        self.end_body = {"wrap_up_code_id": wrap_up_code_id}
        self.http = ClientPool(server.base)
        self.offered: dict[str, float] = {}
        self.accepted: list[float] = []
        self.failures: dict[str, int] = {}
        self._finished: set[str] = set()
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._readers: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open every feed and wait for each hello frame."""
        loop = asyncio.get_running_loop()
        ready = [loop.create_future() for _ in self.agent_ids]
        self._readers = [
            asyncio.create_task(self._read(aid, fut))
            for aid, fut in zip(self.agent_ids, ready, strict=True)
        ]
        await asyncio.gather(*ready)

    def reset(self) -> None:
        """Forget what was measured so far (the feeds stay open)."""
        self.offered.clear()
        self.accepted.clear()
        self.failures.clear()
        self._finished.clear()

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
                    self.offered.setdefault(data["document_id"], now)
                    task = asyncio.create_task(
                        self._take(agent_id, data["offer_id"], data["document_id"])
                    )
                    self._work.add(task)
                    task.add_done_callback(self._work.discard)
        except Exception as err:
            if not ready.done():
                ready.set_exception(err)
                return
            raise

    def _fail(self, what: str, status: int) -> None:
        key = f"{what} {status}"
        self.failures[key] = self.failures.get(key, 0) + 1

    async def _take(self, agent_id: str, offer_id: str, doc_id: str) -> None:
        auth = {"Authorization": f"Bearer tok-{agent_id}"}
        response = await self.http.request("POST", f"{API}/offers/{offer_id}/accept", auth)
        if response.status_code != 200:
            self._fail("accept", response.status_code)
            return
        self.accepted.append(time.perf_counter())
        response = await self.http.request(
            "POST", f"{API}/interactions/{doc_id}/end", auth, self.end_body
        )
        if response.status_code != 200:
            self._fail("end", response.status_code)
        waiter = self._waiters.pop(doc_id, None)
        if waiter is None:
            self._finished.add(doc_id)
        elif not waiter.done():
            waiter.set_result(None)

    async def finished(self, doc_id: str, timeout_s: float) -> bool:
        """Wait until the document's offer was accepted and the interaction ended."""
        if doc_id in self._finished:
            self._finished.discard(doc_id)
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[doc_id] = waiter
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            self._waiters.pop(doc_id, None)
            return False
        return True

    async def drain(self) -> None:
        """Wait for the accepts and ends in flight."""
        deadline = time.perf_counter() + DRAIN_S
        while self._work and time.perf_counter() < deadline:
            await asyncio.wait(set(self._work), timeout=deadline - time.perf_counter())

    async def close(self) -> None:
        """Stop reading the feeds and close the HTTP client."""
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in list(self._work):
            task.cancel()
        await self.http.aclose()


class Creator:
    """The integration's side: creates chat interactions in the external queue."""

    def __init__(self, server: Server, queue_id: str) -> None:
        self.http = ClientPool(server.base)
        self.body = {"channel_id": "chat", "queue_id": queue_id}
        self.sent: dict[str, float] = {}
        self.failures: dict[int, int] = {}

    async def create(self) -> str | None:
        """Create one interaction; remember when its request was sent."""
        t0 = time.perf_counter()
        response = await self.http.request("POST", f"{API}/interactions", INTEGRATION, self.body)
        if response.status_code != 201:
            self.failures[response.status_code] = self.failures.get(response.status_code, 0) + 1
            return None
        doc_id: str = orjson.loads(response.content)["id"]
        self.sent[doc_id] = t0
        return doc_id

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


async def outbox_drained(server: Server, timeout_s: float = DRAIN_S) -> tuple[bool, int]:
    """Wait until no routing event is pending; whether it happened, and how many are dead."""
    async with httpx.AsyncClient(base_url=server.base, timeout=30.0) as http:
        deadline = time.perf_counter() + timeout_s
        drained = False
        while time.perf_counter() < deadline:
            pending = await http.get(
                f"{API}/outbox", params={"state": "pending", "limit": 1}, headers=ADMIN
            )
            pending.raise_for_status()
            if not pending.json():
                drained = True
                break
            await asyncio.sleep(0.1)
        dead = await http.get(
            f"{API}/outbox", params={"state": "dead", "limit": 1000}, headers=ADMIN
        )
        dead.raise_for_status()
        return drained, len(dead.json())


async def sim_leftovers(sim: Simulator) -> int:
    """Items the simulator still tracks plus work its agents still hold (0 once all ended)."""
    async with httpx.AsyncClient(base_url=sim.base, timeout=60.0) as http:
        state = (await http.get("/sim/state")).json()
    busy = sum(len(a["work"]) + len(a["offering"]) for a in state["agents"])
    return len(state["items"]) + busy


async def saturation(desk: Desk, creator: Creator, meter: Meter) -> dict[str, Any]:
    """`LANES` items in flight, each lane creating its next one once the last has ended."""
    start = time.perf_counter()
    window = (start + SAT_WARMUP_S, start + SAT_WARMUP_S + SAT_WINDOW_S)
    lost = 0

    async def lane() -> None:
        nonlocal lost
        while time.perf_counter() < window[1]:
            doc_id = await creator.create()
            if doc_id is not None and not await desk.finished(doc_id, LANE_TIMEOUT_S):
                lost += 1

    async def sample() -> dict[str, float]:
        await asyncio.sleep(window[0] - time.perf_counter())
        meter.start()
        await asyncio.sleep(window[1] - time.perf_counter())
        return meter.stop()

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(lane() for _ in range(LANES)))
    cpu = await sampler
    await desk.drain()
    accepted = sum(1 for at in desk.accepted if window[0] <= at < window[1])
    log(
        f"saturation: created {len(creator.sent)}, offered {len(desk.offered)}, "
        f"accepted {len(desk.accepted)} ({accepted} in the {SAT_WINDOW_S:.0f} s window), "
        f"{lost} lanes timed out; failures {desk.failures or '-'} {creator.failures or ''}"
    )
    return {"items_per_s": accepted / SAT_WINDOW_S, "cpu": cpu}


async def latency(desk: Desk, creator: Creator, rate: float) -> dict[str, Any]:
    """Create request sent to offer frame received, creations paced at `rate` per second."""
    with frozen_heap():  # as the internal figure it is compared with
        await paced(
            creator.create, creator.sent, desk.offered, rate, duration_s=LATENCY_S, drain_s=DRAIN_S
        )
    await desk.drain()
    latencies = [
        (desk.offered[doc] - sent) * 1e3
        for doc, sent in creator.sent.items()
        if doc in desk.offered
    ]
    missing = len(creator.sent) - len(latencies)
    if missing or creator.failures or desk.failures:
        log(
            f"latency: {missing} offers never seen; failures {desk.failures} "
            f"create {creator.failures}"
        )
    if not latencies:
        msg = "no offer frame arrived for any interaction in the external queue"
        raise RuntimeError(msg)
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "samples": len(latencies),
    }


async def prepare(path: Path, sim_base: str) -> tuple[list[str], str, str]:
    """A SQLite file with available agents, the simulator's spoke and an external queue."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await create_schema(db)
        await seed_config(db, 1, capacity=CAPACITY)
        agent_ids = await seed_agents(db, AGENTS, presence="available")
        queue_id, code_id = await seed_external_queue(
            db, spoke=SPOKE, sim_base=sim_base, secret=SIM_SECRET, provider_queue_id=SIM_QUEUE
        )
    finally:
        await db.dispose()
    await asyncio.to_thread(mark_migrated, path)
    return agent_ids, queue_id, code_id


async def run(workdir: Path, internal_p99_ms: float | None = None) -> dict[str, Any]:
    """Run the external routing benchmark; one figure per key."""
    t_begin = time.perf_counter()
    load_1m = os.getloadavg()[0]
    sim_port = free_port()
    path = workdir / "external.db"
    agent_ids, queue_id, code_id = await prepare(path, f"http://{HOST}:{sim_port}")
    server = Server(path)
    sim: Simulator | None = None
    try:
        await server.start()
        sim = Simulator(workdir, sim_port, server.base)
        await sim.start(scenario(agent_ids))
        await sign_in_all(sim, [f"sim-{aid}" for aid in agent_ids])
        log(f"server on {server.base}, simulator on {sim.base}; {AGENTS} agents on queue")
        assert server.ps is not None
        assert sim.ps is not None
        meter = Meter({"server": server.ps, "sim": sim.ps, "client": psutil.Process()})
        desk = Desk(server, agent_ids, code_id)
        creator = Creator(server, queue_id)
        try:
            await desk.start()
            sat = await saturation(desk, creator, meter)
            drained, dead = await outbox_drained(server)
            log(
                f"saturation: {sat['items_per_s']:.1f} items/s; CPU "
                + ", ".join(f"{k} {v:.0f}%" for k, v in sat["cpu"].items())
                + f"; outbox drained {drained}, dead {dead}"
            )
            desk.reset()
            creator.sent.clear()
            rate = sat["items_per_s"] / 2
            lat = await latency(desk, creator, rate)
            drained, dead = await outbox_drained(server)
            log(
                f"latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f}"
                f" ms over {lat['samples']} items at {rate:.1f}/s; outbox drained {drained}, "
                f"dead {dead}"
            )
            left = await sim_leftovers(sim)
            log(f"simulator after the drain: {left} items or busy agent slots left")
        finally:
            await desk.close()
            await creator.close()
    finally:
        if sim is not None:
            await sim.stop()
        await server.stop()
    out: dict[str, Any] = {
        "external_offer_latency_ms_p50": round(lat["p50"], 1),
        "external_offer_latency_ms_p99": round(lat["p99"], 1),
        "external_items_per_s": round(sat["items_per_s"], 1),
        "sim_think_ms": THINK_MS,
    }
    if internal_p99_ms:
        target = 2 * internal_p99_ms + THINK_MS
        out |= {
            "external_vs_internal_p99": round(lat["p99"] / internal_p99_ms, 2),
            "external_p99_target_ms": round(target, 1),
            "external_p99_meets_target": lat["p99"] <= target,
        }
    out |= {
        # Hints for reading the figures above.
        "external_latency_rate_per_s": round(rate, 1),
        "external_latency_samples": lat["samples"],
        "external_lanes": LANES,
        "external_server_cpu": round(sat["cpu"]["server"], 1),
        "external_sim_cpu": round(sat["cpu"]["sim"], 1),
        "external_client_cpu": round(sat["cpu"]["client"], 1),
        "external_outbox_dead": dead,
        "external_sim_left": left,
        "external_bench_s": round(time.perf_counter() - t_begin, 1),
        "external_host_load_1m": round(load_1m, 1),
    }
    return out
