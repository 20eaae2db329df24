"""The spoke manager and the outbox dispatcher, with a fake spoke, the real engine and store."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from omniroute.cli import app as cli_app
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.engine.clock import ManualClock
from omniroute.engine.dispatcher import DEFAULT_MAX_ATTEMPTS, Backoff, Dispatcher
from omniroute.engine.engine import Engine
from omniroute.services import outbox_admin
from omniroute.spokes.base import SpokeUnavailableError
from omniroute.spokes.manager import SpokeManager, SpokeStatus
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.door_commands import SendOutboxEvents
from tests.fake_spoke import FakeProvider, FakeSpoke, install
from tests.seed import NOW

SPOKE = "acme"
DEADLINE_S = 10.0


# -- fixtures and helpers -------------------------------------------------------------


async def add_spoke(db: Database, name: str = SPOKE, kind: str = "fake", **fields: Any) -> None:
    """A configured spoke row."""
    values: dict[str, Any] = {"settings": {"url": "https://provider.test"}, "enabled": True}
    values |= fields
    async with db.session() as s, s.begin():
        s.add(
            t.SpokeRow(
                name=name,
                kind=kind,
                presence_map={},
                allow_provisioning=False,
                created_at=NOW,
                updated_at=NOW,
                **values,
            )
        )


@dataclass
class Hub:
    """The engine, spokes and dispatcher of one test, on one manual clock."""

    db: Database
    clock: ManualClock
    engine: Engine
    spokes: SpokeManager
    dispatcher: Dispatcher
    provider: FakeProvider

    async def send(self, key: str, *ns: int, spoke: str = SPOKE) -> None:
        """Events numbered `ns` for one ordering key, committed in one engine batch."""

        await self.engine.execute(SendOutboxEvents(spoke, key, ns))

    async def settle(self) -> None:
        """Wait until nothing is in flight and nothing eligible is due."""
        await asyncio.wait_for(self.dispatcher.idle(), DEADLINE_S)

    async def tick(self, seconds: float) -> None:
        """Let time pass and let the dispatcher act on what fell due."""
        self.clock.advance(seconds)
        self.dispatcher.wake()
        await self.settle()

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest pending retry, None if none waits."""
        async with self.db.session() as s:
            due = await s.scalar(
                select(func.min(t.OutboxEventRow.next_attempt_at)).where(
                    t.OutboxEventRow.state == "pending",
                    t.OutboxEventRow.next_attempt_at > self.clock.now(),
                )
            )
        return None if due is None else (due - self.clock.now()).total_seconds()

    async def rows(self) -> list[t.OutboxEventRow]:
        """Every outbox row, by seq."""
        async with self.db.session() as s:
            return list(
                (await s.scalars(select(t.OutboxEventRow).order_by(t.OutboxEventRow.seq))).all()
            )

    async def states(self) -> dict[int, str]:
        """Each event's state by its number `n`."""
        return {int(r.payload["n"]): r.state for r in await self.rows()}

    def new_dispatcher(self, **options: Any) -> Dispatcher:
        """A dispatcher on this hub, attached to the engine (not started)."""
        options.setdefault("rng", random.Random(42))
        dispatcher = Dispatcher(self.db, self.spokes, self.clock, **options)
        dispatcher.attach(self.engine)
        return dispatcher


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """The fake spoke kind, installed."""
    return install(monkeypatch)


@pytest.fixture
async def hub(db: Database, provider: FakeProvider) -> AsyncIterator[Hub]:
    """A running engine, spoke manager and dispatcher with one fake spoke."""
    await add_spoke(db)
    clock = ManualClock(NOW)
    engine = Engine(db, clock)
    await engine.start()
    spokes = SpokeManager(db, clock)
    await spokes.start()
    dispatcher = Dispatcher(db, spokes, clock, rng=random.Random(42))
    dispatcher.attach(engine)
    await dispatcher.start()
    hub = Hub(db, clock, engine, spokes, dispatcher, provider)
    yield hub
    provider.release()
    await hub.dispatcher.stop()
    await spokes.stop()
    await engine.stop()


async def until(predicate: Callable[[], bool]) -> None:
    """Wait, within the deadline, until the predicate holds."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), DEADLINE_S)


async def incidents(db: Database, kind: str | None = None) -> list[t.SpokeIncidentRow]:
    """Recorded incidents, optionally of one kind."""
    async with db.session() as s:
        query = select(t.SpokeIncidentRow)
        if kind is not None:
            query = query.where(t.SpokeIncidentRow.kind == kind)
        return list((await s.scalars(query)).all())


# -- backoff --------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    backoff = Backoff()
    assert [backoff.ceiling(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.ceiling(DEFAULT_MAX_ATTEMPTS) == 60
    rng = random.Random(1234)
    delays = [backoff.delay(n, rng) for n in range(1, 200)]
    assert all(0 <= d <= backoff.ceiling(n) for n, d in zip(range(1, 200), delays, strict=True))
    again = random.Random(1234)
    assert delays == [backoff.delay(n, again) for n in range(1, 200)]
    # Full jitter: at the cap the delays spread over [0, 60] with a mean near 30.
    capped = [backoff.delay(50, rng) for _ in range(4000)]
    assert min(capped) < 3
    assert max(capped) > 57
    assert 27 < sum(capped) / len(capped) < 33


def test_backoff_honours_retry_after_within_reason() -> None:
    backoff = Backoff()
    rng = random.Random(5)
    assert backoff.delay(1, rng, retry_after_s=120) == 120
    assert backoff.delay(1, rng, retry_after_s=10**9) == 3600
    assert backoff.delay(1, rng, retry_after_s=0) <= 1
    assert all(30 <= backoff.capped(rng) <= 60 for _ in range(100))


# -- delivery order and concurrency ---------------------------------------------------


async def test_in_order_per_key_and_concurrent_across_keys(hub: Hub) -> None:
    hub.provider.hold()
    for key in ("a", "b", "c", "d"):
        await hub.send(key, 0, 1, 2)
    await until(lambda: hub.provider.max_active == 4)
    hub.provider.release()
    await hub.settle()
    assert hub.provider.by_key() == {k: [0, 1, 2] for k in ("a", "b", "c", "d")}
    assert hub.provider.max_active_per_key == 1
    assert set((await hub.states()).values()) == {"delivered"}
    rows = await hub.rows()
    assert all(r.attempts == 1 and r.delivered_at == NOW for r in rows)
    first = hub.provider.delivered[0]
    assert first.attempt == 1
    assert first.spoke == SPOKE
    assert first.id.startswith("ev-")


async def test_concurrency_is_bounded(hub: Hub) -> None:
    await hub.dispatcher.stop()
    hub.dispatcher = hub.new_dispatcher(concurrency=2)
    hub.provider.hold()
    for key in ("a", "b", "c", "d", "e"):
        await hub.send(key, 0, 1)
    await hub.dispatcher.start()
    await until(lambda: hub.provider.max_active == 2)
    hub.provider.release()
    await hub.settle()
    assert hub.provider.max_active == 2
    assert hub.provider.by_key() == {k: [0, 1] for k in ("a", "b", "c", "d", "e")}


async def test_a_commit_with_new_events_wakes_the_dispatcher(hub: Hub) -> None:
    await hub.settle()
    await hub.send("a", 0)
    await hub.settle()
    await hub.send("a", 1)
    await hub.settle()
    assert hub.provider.by_key() == {"a": [0, 1]}


# -- failures -------------------------------------------------------------------------


async def test_provider_down_ten_minutes_then_back_loses_nothing(hub: Hub) -> None:
    hub.provider.down = lambda: SpokeUnavailableError("503 from provider")
    for key in ("a", "b", "c"):
        await hub.send(key, 0, 1, 2)
    await hub.settle()
    outage_end = NOW + timedelta(minutes=10)
    while hub.clock.now() < outage_end:
        wait = await hub.next_due_in()
        assert wait is not None
        await hub.tick(min(wait, (outage_end - hub.clock.now()).total_seconds()))
    rows = await hub.rows()
    assert {r.state for r in rows} == {"pending"}
    heads = [r for r in rows if r.payload["n"] == 0]
    assert all(r.attempts > 10 for r in heads)
    assert all(r.last_error == "SpokeUnavailableError: 503 from provider" for r in heads)
    # Later events of a key were never tried while its head was failing.
    assert {e.payload["n"] for e in hub.provider.attempts} == {0}
    assert all(r.attempts == 0 for r in rows if r.payload["n"] != 0)

    hub.provider.down = None
    await hub.tick(60)
    assert hub.provider.by_key() == {k: [0, 1, 2] for k in ("a", "b", "c")}
    assert set((await hub.states()).values()) == {"delivered"}
    assert len({e.id for e in hub.provider.delivered}) == 9


async def test_retry_delay_grows_and_honours_retry_after(hub: Hub) -> None:
    hub.provider.fail_unavailable(1, retry_after_s=120)
    await hub.send("a", 0)
    await hub.settle()
    assert await hub.next_due_in() == 120
    hub.provider.down = lambda: SpokeUnavailableError("down")
    ceilings = []
    for _ in range(9):
        wait = await hub.next_due_in()
        assert wait is not None
        ceilings.append(wait)
        await hub.tick(wait)
    assert all(0 <= w <= 60 for w in ceilings[1:])
    (row,) = await hub.rows()
    assert row.attempts == 10
    assert row.state == "pending"


async def test_rejected_event_goes_dead_and_blocks_its_key_until_retried(hub: Hub) -> None:
    hub.provider.fail_rejected(1)
    await hub.send("a", 0)
    await hub.settle()
    await hub.send("a", 1, 2)
    await hub.send("b", 10)
    await hub.settle()
    assert await hub.states() == {0: "dead", 1: "pending", 2: "pending", 10: "delivered"}
    dead, waiting = (await hub.rows())[:2]
    assert dead.last_error == "SpokeRejectedError: unknown queue"
    assert dead.attempts == 1
    (incident,) = await incidents(hub.db, "event_dead")
    assert incident.details == {"seq": dead.seq, "event_id": dead.id, "ordering_key": "a"}
    assert "unknown queue" in incident.message
    async with hub.db.session() as s:
        views = await outbox_admin.list_events(s)
    assert [(v.seq, v.state, v.blocked_by) for v in views] == [
        (dead.seq, "dead", None),
        (waiting.seq, "pending", dead.seq),
        (waiting.seq + 1, "pending", dead.seq),
    ]
    await hub.tick(3600)
    assert await hub.states() == {0: "dead", 1: "pending", 2: "pending", 10: "delivered"}

    async with hub.db.session() as s, s.begin():
        await outbox_admin.retry(s, dead.seq, hub.clock.now())
    hub.dispatcher.wake()
    await hub.settle()
    assert hub.provider.by_key() == {"a": [0, 1, 2], "b": [10]}
    assert set((await hub.states()).values()) == {"delivered"}


async def test_discarding_a_dead_event_unblocks_its_key(hub: Hub) -> None:
    hub.provider.fail_rejected(1)
    await hub.send("a", 0, 1)
    await hub.settle()
    assert await hub.states() == {0: "dead", 1: "pending"}
    async with hub.db.session() as s, s.begin():
        await outbox_admin.discard(s, (await hub.rows())[0].seq)
    hub.dispatcher.wake()
    await hub.settle()
    assert await hub.states() == {0: "discarded", 1: "delivered"}
    assert hub.provider.by_key() == {"a": [1]}
    async with hub.db.session() as s:
        with pytest.raises(DomainError) as err:
            await outbox_admin.retry(s, (await hub.rows())[0].seq, hub.clock.now())
    assert err.value.code is ErrorCode.INVALID_STATE_TRANSITION


async def test_auth_failure_records_one_incident_and_retries_near_the_cap(hub: Hub) -> None:
    hub.provider.fail_auth(3)
    await hub.send("a", 0)
    await hub.settle()
    for _ in range(2):
        wait = await hub.next_due_in()
        assert wait is not None
        assert 30 <= wait <= 60
        await hub.tick(60)
    await hub.tick(60)
    assert set((await hub.states()).values()) == {"delivered"}
    found = await incidents(hub.db, "auth_failed")
    assert len(found) == 1
    assert "token expired" in found[0].message
    assert found[0].spoke == SPOKE


async def test_gives_up_after_max_attempts(hub: Hub) -> None:
    await hub.dispatcher.stop()
    hub.dispatcher = hub.new_dispatcher(max_attempts=3)
    await hub.dispatcher.start()
    hub.provider.down = lambda: SpokeUnavailableError("down")
    await hub.send("a", 0, 1)
    await hub.settle()
    await hub.tick(60)
    await hub.tick(60)
    (dead, waiting) = await hub.rows()
    assert dead.state == "dead"
    assert dead.attempts == 3
    assert dead.last_error == "gave up after 3 attempts: SpokeUnavailableError: down"
    assert len(await incidents(hub.db, "event_dead")) == 1
    assert waiting.state == "pending"
    assert waiting.attempts == 0


async def test_events_for_an_unknown_or_disabled_spoke_wait_and_retry(hub: Hub) -> None:
    await add_spoke(hub.db, "off", enabled=False)
    await hub.send("x", 0, spoke="nobody")
    await hub.send("y", 1, spoke="off")
    await hub.settle()
    unknown, disabled = await hub.rows()
    assert unknown.state == disabled.state == "pending"
    assert unknown.last_error == "NotFoundError: spoke 'nobody' does not exist"
    assert disabled.last_error == "DomainError: spoke 'off' is disabled"

    async with hub.db.session() as s, s.begin():
        await s.execute(update(t.SpokeRow).where(t.SpokeRow.name == "off").values(enabled=True))
    await hub.spokes.reload("off")
    async with hub.db.session() as s, s.begin():
        assert await outbox_admin.retry_spoke_now(s, "off", hub.clock.now()) == 1
    hub.dispatcher.wake()
    await hub.settle()
    assert await hub.states() == {0: "pending", 1: "delivered"}


# -- restarts -------------------------------------------------------------------------


async def test_restart_mid_delivery_redelivers_only_the_interrupted_events(hub: Hub) -> None:
    await hub.send("a", 0, 1, 2)
    await hub.send("b", 10, 11)
    await hub.settle()
    await hub.dispatcher.stop()
    await hub.send("a", 3, 4)
    await hub.send("b", 12)
    hub.dispatcher = hub.new_dispatcher(stop_grace_s=0)
    # The provider takes the next event of each key, but its answers are lost.
    hub.provider.hold(after_delivery=True)
    await hub.dispatcher.start()
    await until(lambda: len(hub.provider.delivered) == 7)
    await hub.dispatcher.stop()
    hub.provider.release()

    hub.dispatcher = hub.new_dispatcher()
    await hub.dispatcher.start()
    await hub.settle()
    assert hub.provider.by_key() == {"a": [0, 1, 2, 3, 3, 4], "b": [10, 11, 12, 12]}
    first, again = (e for e in hub.provider.delivered if e.payload["n"] == 3)
    assert first.id == again.id
    assert set((await hub.states()).values()) == {"delivered"}


async def test_events_stored_while_no_dispatcher_runs_are_delivered_at_start(hub: Hub) -> None:
    await hub.dispatcher.stop()
    await hub.send("a", 0, 1)
    await hub.send("b", 5)
    assert await hub.states() == {0: "pending", 1: "pending", 5: "pending"}
    hub.dispatcher = hub.new_dispatcher()
    await hub.dispatcher.start()
    await hub.settle()
    assert hub.provider.by_key() == {"a": [0, 1], "b": [5]}


async def test_a_failure_to_store_outcomes_is_retried_without_redelivering(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hub.dispatcher.stop()
    hub.dispatcher = hub.new_dispatcher(error_pause_s=0)
    original = Dispatcher._flush
    failures = 0

    async def flaky(self: Dispatcher) -> None:
        nonlocal failures
        if self._done and failures == 0:
            failures += 1
            msg = "database is locked"
            raise RuntimeError(msg)
        await original(self)

    monkeypatch.setattr(Dispatcher, "_flush", flaky)
    await hub.send("a", 0, 1)
    await hub.dispatcher.start()
    await hub.settle()
    assert failures == 1
    assert await hub.states() == {0: "delivered", 1: "delivered"}
    assert hub.provider.by_key() == {"a": [0, 1]}


# -- the spoke manager ----------------------------------------------------------------


async def test_manager_reports_invalid_settings_and_unknown_kinds(
    db: Database, provider: FakeProvider
) -> None:
    await add_spoke(db, "good")
    await add_spoke(db, "bad", settings={"url": "ftp://nope", "extra": 1})
    await add_spoke(db, "alien", kind="martian")
    await add_spoke(db, "off", enabled=False)
    manager = SpokeManager(db, ManualClock(NOW))
    await manager.start()
    assert isinstance(manager.get("good"), FakeSpoke)
    status = manager.status("bad")
    assert status is not None
    assert status[0] is SpokeStatus.INVALID
    with pytest.raises(DomainError) as err:
        manager.get("bad")
    assert err.value.code is ErrorCode.SPOKE_UNAVAILABLE
    assert "settings.url" in err.value.message
    with pytest.raises(DomainError) as err:
        manager.get("off")
    assert err.value.code is ErrorCode.SPOKE_UNAVAILABLE
    with pytest.raises(NotFoundError):
        manager.get("nobody")
    # A second node loads the same spokes: the incidents are not said twice.
    other_node = SpokeManager(db, ManualClock(NOW))
    await other_node.start()
    await other_node.stop()
    (bad,) = await incidents(db, "invalid_settings")
    assert bad.spoke == "bad"
    fields = {e["field"] for e in bad.details["errors"]}
    assert fields == {"settings.url", "settings.extra"}
    assert "ftp://nope" not in bad.message
    (alien,) = await incidents(db, "unknown_kind")
    assert "martian" in alien.message
    assert "fake" in alien.message
    await manager.stop()
    assert provider.unloads == 2  # the good spoke, once on each node


async def test_manager_retries_a_failed_setup_and_reloads(
    db: Database, provider: FakeProvider
) -> None:
    provider.setup_failures = 1
    await add_spoke(db)
    clock = ManualClock(NOW)
    manager = SpokeManager(db, clock, setup_retry_s=5)
    await manager.start()
    assert manager.status(SPOKE) == (
        SpokeStatus.FAILED,
        "set-up failed: SpokeUnavailableError: provider starting up",
    )
    assert len(await incidents(db, "setup_failed")) == 1
    with pytest.raises(DomainError):
        await manager.ready(SPOKE)
    clock.advance(5)
    spoke = await manager.ready(SPOKE)
    assert manager.status(SPOKE) == (SpokeStatus.LOADED, None)

    async with db.session() as s, s.begin():
        await s.execute(
            update(t.SpokeRow).values(settings={"url": "https://other.test", "token": "s3"})
        )
    await manager.reload(SPOKE)
    reloaded = manager.get(SPOKE)
    assert reloaded is not spoke
    assert reloaded.settings.model_dump()["url"] == "https://other.test"
    assert provider.unloads == 1

    await add_spoke(db, "late")
    assert isinstance(await manager.ready("late"), FakeSpoke)
    async with db.session() as s, s.begin():
        await s.delete(await s.get(t.SpokeRow, "late"))
    await manager.reload("late")
    with pytest.raises(NotFoundError):
        manager.get("late")
    await manager.stop()
    assert provider.unloads == 3


# -- the command line -----------------------------------------------------------------


@pytest.fixture
def cli_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A migrated SQLite database with a spoke and three outbox events."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", url)
    monkeypatch.delenv("OMNIROUTE_CONFIG_FILE", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0

    async def seed() -> None:
        db = Database(url)
        await add_spoke(db)
        async with db.session() as s, s.begin():
            for seq, state in ((1, "dead"), (2, "pending"), (3, "delivered")):
                s.add(
                    t.OutboxEventRow(
                        seq=seq,
                        id=f"ev-{seq}",
                        spoke=SPOKE,
                        ordering_key="doc-1",
                        type="new_interaction",
                        payload={"n": seq},
                        state=state,
                        attempts=2 if state == "dead" else 0,
                        next_attempt_at=NOW,
                        last_error="SpokeRejectedError: no" if state == "dead" else None,
                        created_at=NOW,
                    )
                )
        await db.dispose()

    asyncio.run(seed())
    return url


def test_outbox_and_spokes_commands(cli_url: str) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["outbox", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 3
    assert "dead" in lines[1]
    assert "SpokeRejectedError: no" in lines[1]
    assert "blocked by 1" in lines[2]
    delivered = runner.invoke(cli_app, ["outbox", "list", "--state", "delivered"])
    assert "ev-3" not in delivered.output
    assert len(delivered.output.splitlines()) == 2

    spokes = runner.invoke(cli_app, ["spokes", "list"])
    assert spokes.exit_code == 0, spokes.output
    assert "acme" in spokes.output
    assert spokes.output.splitlines()[-1].split()[-2:] == ["1", "1"]

    retried = runner.invoke(cli_app, ["outbox", "retry", "ev-1"])
    assert retried.exit_code == 0, retried.output
    assert "event 1 pending" in retried.output
    refused = runner.invoke(cli_app, ["outbox", "retry", "3"])
    assert refused.exit_code == 1
    assert "INVALID_STATE_TRANSITION" in refused.output
    assert runner.invoke(cli_app, ["outbox", "retry"]).exit_code == 1
    assert runner.invoke(cli_app, ["outbox", "discard", "1"]).exit_code == 0
    assert "no events" not in runner.invoke(cli_app, ["outbox", "list"]).output
    assert runner.invoke(cli_app, ["outbox", "discard", "2"]).exit_code == 0
    assert "no events" in runner.invoke(cli_app, ["outbox", "list"]).output
    all_dead = runner.invoke(cli_app, ["outbox", "retry", "--all-dead"])
    assert all_dead.exit_code == 0, all_dead.output
    assert "0 dead event(s)" in all_dead.output
