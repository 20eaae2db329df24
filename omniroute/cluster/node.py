"""One node of a cluster: its heartbeat, its role, and leading when the lease comes to it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from omniroute.cluster.commit_fence import EpochFence
from omniroute.cluster.follower import POLL_S, FeedFollower
from omniroute.cluster.lease import LeaderLease, LeaseView, Term
from omniroute.engine.engine import Engine
from omniroute.engine.fence import Deposed
from omniroute.engine.standby import Standby
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.waits import wait_event

if TYPE_CHECKING:
    from omniroute.cluster.forward import HttpForwarder

log = logging.getLogger(__name__)
# A leader whose commits keep its lease renewed re-reads the lease and node list this often.
LEADER_REFRESH_S = 5.0
# A node's heartbeat row (shown by the cluster view, pruned after NODES_KEPT) is written this
# often, and at once when its role changes: leases, not heartbeats, decide who leads.
HEARTBEAT_S = 5.0
# Readiness probes the leader's port at most this often, each within this long.
PROBE_EVERY_S = 1.0


class Role(StrEnum):
    """What a node does."""

    LEADER = "leader"
    STANDBY = "standby"
    API = "api"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """How to reach a node and what it does."""

    node_id: str
    url: str
    role: Role


def default_node_id(port: int) -> str:
    """A node id stable across restarts of the same node: host name and port."""
    return f"{socket.gethostname()}:{port}"


class ClusterNode:
    """Heartbeats, follows the lease, and starts or stops its engine as the lead moves."""

    def __init__(
        self,
        db: Database,
        engine: Engine,
        info: NodeInfo,
        *,
        lease_s: float,
        renew_s: float,
    ) -> None:
        self.db = db
        self.engine = engine
        self.node_id = info.node_id
        self.url = info.url
        self.can_lead = info.role is not Role.API
        self.role = Role.STANDBY if self.can_lead else Role.API
        self.lease = LeaderLease(db, info.node_id, lease_s)
        self.follower = FeedFollower(db, engine)
        # A node that may lead keeps the engine state warm by following the change log.
        self.standby = Standby(db)
        if self.can_lead:
            engine.standby = self.standby
            self.follower.ring_listeners.append(self._ring)
        self._bell = asyncio.Event()
        self._warming: asyncio.Task[None] | None = None
        self._free_since: float | None = None
        self.term: Term | None = None
        self.forwarder: HttpForwarder
        self._renew_s = renew_s
        self._lease_s = lease_s
        self._started_at = datetime.now(UTC)
        self._view = LeaseView(None, 0, None, live=False)
        self._urls: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_renewed = 0.0
        self._refreshed_at = float("-inf")
        self._beat_at = float("-inf")
        # (when, url, whether it answered) of the last readiness probe of the leader's port.
        self._probed: tuple[float, str, bool] = (float("-inf"), "", False)
        self._beat_role: Role | None = None
        engine.stop_listeners.append(self._engine_stopped)

    async def start(self) -> None:
        """Join the cluster; lead at once if nobody does."""
        await self.lease.ensure_row()
        await self.follower.start()
        await self._heartbeat()
        await self._step()
        self._task = asyncio.create_task(self._run(), name="omniroute-cluster-node")
        if self.can_lead:
            self._warming = asyncio.create_task(self._warm(), name="omniroute-standby")

    async def stop(self) -> None:
        """Leave: finish the engine's queue, give the lease back, drop the heartbeat."""
        for task in (self._task, self._warming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        term = self.term
        self.term = None
        await self.engine.stop()
        if term is not None:
            with contextlib.suppress(Exception):
                await self.lease.release(term.epoch)
        await self.follower.stop()
        with contextlib.suppress(Exception):
            async with self.db.session() as session, session.begin():
                await session.execute(
                    delete(t.ClusterNodeRow).where(t.ClusterNodeRow.node_id == self.node_id)
                )

    @property
    def leader_reachable(self) -> bool:
        """Whether a running engine leads: this node's, or another node's under a live lease."""
        if self.engine.ready:
            return True
        # A lease still naming this node while its engine is stopped leads nowhere.
        return self._view.live and self._view.node_id != self.node_id

    async def leader_answers(self) -> bool:
        """Whether a leader runs and this node can connect to it (readiness: a node cut off
        from the leader, or given a wrong `OMNIROUTE_NODE_URL` of it, would fail every command).

        The leader's port is probed at most once a second, with a timeout of a second."""
        if self.engine.ready:
            return True
        if not self.leader_reachable:
            return False
        url = await self.leader_url()
        if url is None:
            return False
        now = time.monotonic()
        at, probed_url, answered = self._probed
        if probed_url == url and now - at < PROBE_EVERY_S:
            return answered
        answered = await _connects(url)
        self._probed = (now, url, answered)
        return answered

    async def leader_url(self) -> str | None:
        """The URL of the node that leads, as last seen."""
        if not self._view.live or self._view.node_id is None:
            return None
        url = self._urls.get(self._view.node_id)
        if url is None:
            await self._refresh()
            url = self._urls.get(self._view.node_id or "")
        return url

    async def forget_leader(self, url: str) -> None:
        """The leader at `url` did not answer: look again."""
        await self._refresh()

    async def wait_for_leader(self, timeout_s: float) -> None:
        """Wait until the lead may have moved (or the timeout), then look again."""
        await wait_event(self._changed, timeout_s)
        await self._refresh()

    async def _refresh(self) -> None:
        self._refreshed_at = asyncio.get_running_loop().time()
        view = await self.lease.view()
        if view != self._view:
            self._view = view
            self._changed.set()
            self._changed = asyncio.Event()
        async with self.db.session() as session:
            rows = await session.execute(select(t.ClusterNodeRow.node_id, t.ClusterNodeRow.url))
            self._urls = {str(node_id): str(url) for node_id, url in rows.all()}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._renew_s)
            try:
                await self._step()
                await self._beat()
            except Exception:
                log.exception("cluster heartbeat failed; retrying")

    async def _step(self) -> None:
        loop = asyncio.get_running_loop()
        if self.term is not None:
            if self._renewed_by_commits(loop.time()):
                if loop.time() - self._refreshed_at >= LEADER_REFRESH_S:
                    await self._refresh()
                return
            try:
                await self.lease.renew(self.term.epoch)
            except Deposed:
                log.warning("node %s was deposed (epoch %s)", self.node_id, self.term.epoch)
                await self._step_down()
                return
            except Exception:
                if loop.time() - self._last_renewed > self._lease_s:
                    log.exception("cannot renew the lease; stepping down")
                    await self._step_down()
                    return
                raise
            self._last_renewed = loop.time()
            await self._refresh()
            return
        await self._refresh()
        if not self.can_lead or self._view.live:
            self._free_since = None
            return
        if self._defers():
            return
        term = await self.lease.try_acquire()
        if term is not None:
            await self._lead(term)

    def _renewed_by_commits(self, now: float) -> bool:
        """Whether the leader's commits renewed the lease since the last beat (under load).

        Then the beat does not renew it again, and re-reads the lease and the node list (which
        the leader does not need to serve) only every few seconds: fewer queries on the busiest
        node.
        """
        fence = self.engine.fence
        if not isinstance(fence, EpochFence) or now - fence.renewed_at > self._renew_s:
            return False
        self._last_renewed = fence.renewed_at
        return True

    def _defers(self) -> bool:
        """A standby without a warm state lets a warm one take a dead leader's lease first."""
        now = asyncio.get_running_loop().time()
        if self._free_since is None:
            self._free_since = now
        if self.standby.warm or self._view.node_id in (None, self.node_id):
            return False
        return now - self._free_since < self._lease_s

    def _ring(self) -> None:
        self._bell.set()

    async def _warm(self) -> None:
        """While standing by: load the state once, then apply each commit's changes."""
        while True:
            if self.term is None and not self.engine.running:
                try:
                    await self.standby.follow()
                except Exception:
                    log.exception("following the leader's changes failed; retrying")
            await wait_event(self._bell, POLL_S)
            self._bell.clear()

    async def _lead(self, term: Term) -> None:
        self.term = term
        self._last_renewed = asyncio.get_running_loop().time()
        log.info("node %s leads (epoch %s)", self.node_id, term.epoch)
        holding = asyncio.create_task(self._hold(term), name="omniroute-lease-hold")
        try:
            # The feeds must have every event of earlier terms before this term's events.
            started = time.perf_counter()
            await self.follower.catch_up()
            log.info(
                "takeover: feed events of earlier terms in %.2f s", time.perf_counter() - started
            )
            self.engine.fence = EpochFence(self.lease, term.epoch)
            await self.engine.start()
        except Exception:
            log.exception("could not start leading; giving the lease back")
            self.term = None
            self.engine.abandon()
            self.standby.resume()
            with contextlib.suppress(Exception):
                await self.lease.release(term.epoch)
            return
        finally:
            holding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holding
        self.role = Role.LEADER
        await self._heartbeat()
        await self._refresh()

    async def _hold(self, term: Term) -> None:
        """Renew the lease while taking over: catching up (or a full load, seconds at 100,000
        items) can outlast it, and a standby must not take a live leader's lease meanwhile.
        A takeover still going after a load's idle limit is stuck: the lease then lapses."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.db.load_idle_tx_timeout_s
        while loop.time() < until:
            await asyncio.sleep(self._renew_s)
            try:
                await self.lease.renew(term.epoch)
            except Deposed:
                return  # the first commit finds it out and stops the engine
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.warning("renewing the lease while taking over failed; retrying")
                continue
            self._last_renewed = asyncio.get_running_loop().time()

    async def _step_down(self) -> None:
        self.term = None
        self.role = Role.STANDBY
        self.engine.abandon()
        with contextlib.suppress(Exception):
            await self.engine.stop()

    def _engine_stopped(self) -> None:
        # The engine stopped itself (a fenced commit): no more leading until the lease says so.
        self.standby.resume()
        if self.term is not None and not self.engine.running:
            self.term = None
            self.role = Role.STANDBY

    async def _beat(self) -> None:
        """The periodic heartbeat row: at once when the role changed, else every few seconds."""
        loop = asyncio.get_running_loop()
        if self._beat_role == self.role and loop.time() - self._beat_at < HEARTBEAT_S:
            return
        await self._heartbeat()

    async def _heartbeat(self) -> None:
        self._beat_at, self._beat_role = asyncio.get_running_loop().time(), self.role
        async with self.db.session() as session, session.begin():
            now = datetime.now(UTC)
            stmt = pg_insert(t.ClusterNodeRow).values(
                node_id=self.node_id,
                url=self.url,
                role=self.role.value,
                started_at=self._started_at,
                last_seen=now,
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["node_id"],
                    set_={"url": self.url, "role": self.role.value, "last_seen": now},
                )
            )


async def _connects(url: str) -> bool:
    """Whether a TCP connection to the host and port of `url` opens within a second."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, port), PROBE_EVERY_S
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
