"""The `omniroute` command line: serve, migrate, load demo data, create API tokens."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, NoReturn, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute import server
from omniroute.api.auth import Role
from omniroute.auth_tokens import hash_token, new_token
from omniroute.config import Settings, StoreSettings, browse_host
from omniroute.demo import (
    DEMO_EMAIL_QUEUE,
    DEMO_MAILBOX_PORT,
    REMOVE_COMMAND,
    SUPERVISORS,
    DemoInfo,
    demo_credentials,
    load_demo_data,
    remove_demo_credentials,
)
from omniroute.domain.errors import DomainError
from omniroute.engine.lease import EngineLease
from omniroute.logs import log_config, redact
from omniroute.spokes.base import CatalogKind
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database

APP_FACTORY = "omniroute.api.app:served_app"

app = typer.Typer(
    help="Omniroute: open, self-hosted customer-service routing hub.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")

S = TypeVar("S", bound=StoreSettings)
R = TypeVar("R")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _problem(loc: tuple[int | str, ...], msg: str) -> str:
    where = ".".join(str(part) for part in loc) or "settings"
    return f"{where}: {msg.removeprefix('Value error, ')}"


def _settings(kind: type[S]) -> S:
    """Settings of the given kind, or a readable error and exit status 2."""
    try:
        return kind()
    except ValidationError as err:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in err.errors())
        _fail(f"invalid settings: {problems}", 2)
    except FileNotFoundError as err:
        _fail(str(err), 2)


def _migrate(url: str) -> None:
    before = migrate.current(url)
    migrate.upgrade(url)
    after = migrate.current(url)
    if before == after:
        typer.echo(f"database is up to date (revision {after})")
    else:
        typer.echo(f"database upgraded from revision {before or '(empty)'} to {after}")


async def _load_demo(url: str, *, fixed_tokens: bool) -> DemoInfo:
    db = Database(url)
    try:
        return await load_demo_data(db, fixed_tokens=fixed_tokens)
    finally:
        await db.dispose()


def _print_demo(info: DemoInfo) -> None:
    if info.loaded:
        typer.echo("demo data loaded")
    else:
        typer.echo("demo data already present; nothing loaded")
    typer.echo(f'demo agents (password "{info.password}"):')
    for agent in info.agents:
        role = "  (supervisor)" if agent.id in SUPERVISORS else ""
        typer.echo(f"  {agent.id:<8} {agent.email}{role}")
    if not info.tokens:
        typer.echo("the demo API tokens are not known (they were random and shown only once)")
        return
    typer.echo("API tokens (send as 'Authorization: Bearer <token>'):")
    for token in info.tokens:
        who = f"agent {token.agent_id}" if token.agent_id else token.role
        typer.echo(f"  {who:<14} {token.token}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind [default: settings]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: settings]")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Demo mode: demo secret key, demo data, fixed tokens")
    ] = False,
    with_sim: Annotated[
        bool,
        typer.Option("--sim/--no-sim", help="In demo mode, also run the contact-center simulator"),
    ] = True,
    no_engine: Annotated[
        bool,
        typer.Option(
            "--no-engine", help="Serve the API only and never lead the cluster (PostgreSQL)"
        ),
    ] = False,
) -> None:
    """Migrate the database, load demo data in demo mode, and serve the API.

    Every node of a cluster runs this same command on the same PostgreSQL database.
    """
    # The app factory reads its settings from the environment, so pass choices on there.
    if demo:
        os.environ["OMNIROUTE_DEMO"] = "1"
    if no_engine:
        os.environ["OMNIROUTE_NO_ENGINE"] = "1"
    if host is not None:
        os.environ["OMNIROUTE_HOST"] = host
    if port is not None:
        os.environ["OMNIROUTE_PORT"] = str(port)
    settings = _settings(Settings)
    _single_node_check(settings)
    if settings.demo and not settings.email_enabled and settings.smtp_relay_host is None:
        _demo_email()
        settings = _settings(Settings)
    _migrate(settings.database_url)
    info: DemoInfo | None = None
    if settings.demo:
        info = asyncio.run(_load_demo(settings.database_url, fixed_tokens=True))
        _print_demo(info)
    else:
        _warn_demo_credentials(settings.database_url)
    base = f"http://{browse_host(settings.host)}:{settings.port}"
    typer.echo(f"Omniroute serving on {base} (database {redact(settings.database_url)})")
    typer.echo(f"  workspace:  {base}/workspace  (sign in as a demo agent)")
    typer.echo(f"  API docs:   {base}/docs")
    typer.echo(f"  OpenAPI:    {base}/openapi.json")
    typer.echo(f"  health:     {base}/healthz")
    typer.echo(f"  readiness:  {base}/readyz")
    agent_tokens = [tok for tok in info.tokens if tok.agent_id] if info else []
    if agent_tokens:
        tok = agent_tokens[0]
        typer.echo(
            f"  try:        curl -H 'Authorization: Bearer {tok.token}' "
            f"{base}/api/v1/agents/{tok.agent_id}/presence"
        )
    if settings.demo:
        typer.echo(f"  chat demo:  {base}/widget/demo")
        typer.echo(f"  case form:  {base}/support/case")
    if settings.email_enabled:
        typer.echo(
            f"  email:      SMTP in on {settings.smtp_listen_host}:{settings.smtp_listen_port}"
            f" (queue {settings.email_queue_id})"
        )
    if settings.demo_mailbox_port is not None:
        typer.echo(f"  sent mail:  {base}/demo/mailbox  (the demo's catch-all relay)")
    simulator = _start_demo_sim(base) if settings.demo and with_sim else None
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=log_config(settings.log_level),
            http=server.configure(settings),
            timeout_keep_alive=settings.http_keepalive_timeout_s,
            ws_per_message_deflate=settings.ws_compression,
            ws_max_size=settings.ws_max_message_bytes,
            ws_ping_interval=settings.ws_ping_interval_s,
            ws_ping_timeout=settings.ws_ping_timeout_s,
            # The app honours X-Forwarded-For from OMNIROUTE_TRUSTED_PROXIES only.
            proxy_headers=False,
        )
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(timeout=10)


def _single_node_check(settings: Settings) -> None:
    """On SQLite refuse a second node (or an API-only one) before touching anything."""
    if settings.database_url.startswith("postgresql"):
        return
    if settings.no_engine:
        _fail("--no-engine needs PostgreSQL: on SQLite one node serves the API with its engine")

    async def probe() -> None:
        db = Database(settings.database_url)
        lease = EngineLease(db)
        try:
            await lease.acquire()
            await lease.release()
        finally:
            await db.dispose()

    try:
        asyncio.run(probe())
    except DomainError as err:
        _fail(err.message)


def _demo_email() -> None:
    """Demo mode with no email set up: turn email on, replies caught by a local relay."""
    port = os.environ.setdefault("OMNIROUTE_DEMO_MAILBOX_PORT", str(DEMO_MAILBOX_PORT))
    os.environ["OMNIROUTE_EMAIL_ENABLED"] = "1"
    os.environ.setdefault("OMNIROUTE_EMAIL_QUEUE_ID", DEMO_EMAIL_QUEUE)
    os.environ["OMNIROUTE_SMTP_RELAY_HOST"] = "127.0.0.1"
    os.environ["OMNIROUTE_SMTP_RELAY_PORT"] = port
    typer.echo("demo mode: email is on; replies go to the demo mailbox, not to the internet")


def _start_demo_sim(omniroute_url: str) -> subprocess.Popen[bytes]:
    """The contact-center simulator behind the demo's external queue, as a child process."""
    from omniroute.demo import INTEGRATION_TOKEN, SIM_PORT, SIM_SECRET, SIM_SPOKE

    command = [
        sys.executable, "-m", "omniroute.cli", "sim",
        "--token", INTEGRATION_TOKEN, "--secret", SIM_SECRET, "--spoke", SIM_SPOKE,
        "--port", str(SIM_PORT), "--omniroute-url", omniroute_url, "--sign-in-all",
        "--log-level", "warning",
    ]  # fmt: skip
    typer.echo(
        f"  simulator:  http://127.0.0.1:{SIM_PORT}/sim/state (external queue 'sim-chat'; "
        "its agents sign in as alice, bob, carol and dave)"
    )
    typer.echo(
        f"  calls:      POST http://127.0.0.1:{SIM_PORT}/sim/calls "
        """'{"queue_id": "sim-voice", "kind": "inbound" or "callback"}' (or from its panel)"""
    )
    return subprocess.Popen(command)  # noqa: S603 - our own module with fixed arguments


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Upgrade the database schema (to the newest revision by default)."""
    url = _settings(StoreSettings).database_url
    if revision == "head":
        _migrate(url)
        return
    migrate.upgrade(url, revision)
    typer.echo(f"database at revision {migrate.current(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    url = _settings(StoreSettings).database_url
    revision = migrate.current(url)
    newest = migrate.head()
    if revision is None:
        typer.echo(f"(empty): not migrated; newest revision is {newest}")
    elif revision == newest:
        typer.echo(f"{revision} (head)")
    else:
        typer.echo(f"{revision}; newest revision is {newest}: run 'omniroute db upgrade'")


def _warn_demo_credentials(url: str) -> None:
    """Say at start that demo credentials are stored (they are refused outside demo mode)."""
    found = asyncio.run(_on_db(url, demo_credentials))
    if found:
        typer.secho(
            f"warning: the database holds demo data ({'; '.join(found)}). Outside demo mode "
            f"every demo credential is refused; remove them with: {REMOVE_COMMAND}",
            fg=typer.colors.YELLOW,
            err=True,
        )


async def _on_db(url: str, fn: Callable[[Database], Awaitable[R]]) -> R:
    db = Database(url)
    try:
        return await fn(db)
    finally:
        await db.dispose()


@app.command("demo-data")
def demo_data(
    random_tokens: Annotated[
        bool,
        typer.Option(
            "--random-tokens", help="Create random API tokens instead of the fixed demo ones"
        ),
    ] = False,
    remove: Annotated[
        bool,
        typer.Option(
            "--remove",
            help="Remove every demo credential (tokens, passwords, widget, spoke secrets); "
            "the demo's configuration and work stay",
        ),
    ] = False,
) -> None:
    """Migrate the database and load the demo data (once); print the demo tokens."""
    url = _settings(StoreSettings).database_url
    _migrate(url)
    if remove:
        removed = asyncio.run(_on_db(url, remove_demo_credentials))
        if not removed:
            typer.echo("no demo credentials found; nothing removed")
        for item in removed:
            typer.echo(f"removed {item}")
        return
    _print_demo(asyncio.run(_load_demo(url, fixed_tokens=not random_tokens)))


async def _create_token(url: str, role: Role, name: str, agent_id: str | None) -> str:
    token = new_token()
    db = Database(url)
    try:
        async with db.session() as session, session.begin():
            if agent_id is not None and await session.get(t.AgentRow, agent_id) is None:
                _fail(f"agent '{agent_id}' does not exist")
            session.add(
                t.ApiTokenRow(
                    id=uuid.uuid4().hex,
                    name=name,
                    token_hash=hash_token(token),
                    role=role.value,
                    agent_id=agent_id,
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        await db.dispose()
    return token


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(help="What the token may do")],
    name: Annotated[str, typer.Option(help="A label for the token, e.g. who holds it")],
    agent: Annotated[
        str | None, typer.Option(help="The agent id an agent token acts as (role agent only)")
    ] = None,
) -> None:
    """Create an API token and print it (shown this once; only its digest is stored)."""
    if role is Role.AGENT and agent is None:
        _fail("an agent token needs --agent ID")
    if role is not Role.AGENT and agent is not None:
        _fail("--agent applies only to --role agent")
    url = _settings(StoreSettings).database_url
    migrate.upgrade(url)
    token = asyncio.run(_create_token(url, role, name, agent))
    typer.echo(token)
    typer.secho(
        "store it now: Omniroute keeps only its digest and cannot show it again",
        fg=typer.colors.YELLOW,
        err=True,
    )


@app.command("import")
def import_catalog(
    spoke: Annotated[str, typer.Argument(help="The configured spoke to import from")],
    *,
    kind: Annotated[
        list[CatalogKind] | None,
        typer.Option(help="What to import (repeat) [default: skills, queues, wrap_up_codes]"),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Import only these provider ids (repeat)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, write nothing")] = False,
    channel: Annotated[
        list[str] | None, typer.Option(help="Channels of new queues the provider gives none")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Rule of new queues [default: first]")] = None,
) -> None:
    """Compare a spoke's skills, queues and wrap-up codes with ours; import new and changed."""
    from omniroute.domain.errors import DomainError
    from omniroute.services import catalog

    url = _settings(StoreSettings).database_url
    migrate.upgrade(url)
    defaults = catalog.QueueDefaults(tuple(channel or ["chat"]), rule)

    async def run() -> catalog.CatalogImport:
        db = Database(url)
        try:
            return await catalog.import_from_spoke(
                db,
                spoke,
                kind or catalog.DEFAULT_KINDS,
                only=set(only) if only else None,
                dry_run=dry_run,
                queue_defaults=defaults,
            )
        finally:
            await db.dispose()

    try:
        outcome = asyncio.run(run())
    except DomainError as err:
        _fail(f"{err.code.value}: {err.message}")
    for line in catalog.report_lines(outcome):
        typer.echo(line)


@app.command()
def sim(
    *,
    token: Annotated[str, typer.Option(help="Omniroute integration token")],
    secret: Annotated[str, typer.Option(help="The webhook spoke's shared secret")],
    spoke: Annotated[str, typer.Option(help="The spoke's name in Omniroute")],
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8090,
    omniroute_url: Annotated[str, typer.Option(help="Omniroute's base URL")] = (
        "http://127.0.0.1:8080"
    ),
    think_ms: Annotated[
        int | None, typer.Option(min=0, help="Delay before each offer [default: scenario]")
    ] = None,
    scenario: Annotated[str | None, typer.Option(help="JSON scenario file")] = None,
    sign_in_all: Annotated[
        bool, typer.Option("--sign-in-all", help="Sign every agent in once Omniroute answers")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the contact-center simulator that plays a provider over the webhook spoke."""
    from omniroute.sim.app import serve as serve_sim
    from omniroute.sim.core import Config as SimConfig
    from omniroute.sim.world import ScenarioError, build_world

    try:
        world = build_world(scenario, think_ms)
    except ScenarioError as err:
        _fail(str(err), 2)
    base = f"http://{browse_host(host)}:{port}"
    typer.echo(f"simulator for spoke '{spoke}' serving on {base} (Omniroute at {omniroute_url})")
    typer.echo(f"  webhook:    {base}/webhook")
    typer.echo(f"  catalog:    {base}/catalog/skills (queues, wrap-up-codes, agents, health)")
    typer.echo(f"  state:      {base}/sim/state")
    config = SimConfig(omniroute_url, token, secret, spoke, sign_in_all)
    serve_sim(config, world, host, port, log_level=log_level)


# -- outbox and spokes ----------------------------------------------------------------

outbox_app = typer.Typer(help="Routing events waiting for, or failed at, their spokes.")
spokes_app = typer.Typer(help="Configured spokes (connectors to providers).")
app.add_typer(outbox_app, name="outbox")
app.add_typer(spokes_app, name="spokes")


class OutboxListState(StrEnum):
    """States `outbox list` can show."""

    PENDING = "pending"
    DEAD = "dead"
    DELIVERED = "delivered"
    DISCARDED = "discarded"


def _store_url() -> str:
    """The database URL of a database at the newest revision, or a readable exit."""
    url = _settings(StoreSettings).database_url
    if migrate.current(url) != migrate.head():
        _fail("the database is not at the newest revision: run 'omniroute db upgrade'")
    return url


async def _with_db(url: str, fn: Callable[[AsyncSession], Awaitable[R]]) -> R:
    db = Database(url)
    try:
        async with db.session() as session:
            return await fn(session)
    finally:
        await db.dispose()


def _stamp(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


@outbox_app.command("list")
def outbox_list(
    *,
    state: Annotated[
        OutboxListState | None, typer.Option(help="Only this state [default: pending and dead]")
    ] = None,
    spoke: Annotated[str | None, typer.Option(help="Only this spoke's events")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")] = 100,
) -> None:
    """List routing events with their attempts, last error and what blocks them."""
    from omniroute.services import outbox_admin

    url = _store_url()
    views = asyncio.run(
        _with_db(
            url,
            lambda s: outbox_admin.list_events(
                s, state=state.value if state else None, spoke=spoke, limit=limit
            ),
        )
    )
    if not views:
        typer.echo("no events")
        return
    typer.echo(
        f"{'SEQ':>7}  {'STATE':<9} {'SPOKE':<12} {'TYPE':<18} {'KEY':<24} "
        f"{'TRIES':>5}  {'NEXT ATTEMPT':<19}  NOTE"
    )
    for v in views:
        note = f"blocked by {v.blocked_by}" if v.blocked_by is not None else ""
        if v.last_error:
            note = f"{note}; {v.last_error}" if note else v.last_error
        typer.echo(
            f"{v.seq:>7}  {v.state:<9} {v.spoke:<12.12} {v.type:<18.18} {v.ordering_key:<24.24} "
            f"{v.attempts:>5}  {_stamp(v.next_attempt_at):<19}  {note[:120]}"
        )


@outbox_app.command("retry")
def outbox_retry(
    event: Annotated[
        str | None, typer.Argument(help="The event's seq or id (see 'omniroute outbox list')")
    ] = None,
    *,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Retry every dead event")] = False,
    spoke: Annotated[str | None, typer.Option(help="With --all-dead: only this spoke")] = None,
) -> None:
    """Send a dead event again (attempts start over), or a pending one now."""
    from omniroute.domain.errors import DomainError
    from omniroute.services import outbox_admin

    if (event is None) == (not all_dead):
        _fail("give an event's seq or id, or --all-dead")
    if spoke is not None and not all_dead:
        _fail("--spoke applies only to --all-dead")
    url = _store_url()
    now = datetime.now(UTC)

    async def run(session: AsyncSession) -> str:
        async with session.begin():
            if event is None:
                count = await outbox_admin.retry_dead(session, now, spoke)
                return f"{count} dead event(s) pending again"
            row = await outbox_admin.retry(session, event, now)
            return f"event {row.seq} pending, due now"

    try:
        message = asyncio.run(_with_db(url, run))
    except DomainError as err:
        _fail(f"{err.code.value}: {err.message}")
    typer.echo(message)
    typer.echo("a running Omniroute sends it within its idle poll interval (30 s)")


@outbox_app.command("discard")
def outbox_discard(
    event: Annotated[str, typer.Argument(help="The event's seq or id")],
) -> None:
    """Give up on a dead or pending event: never sent, no longer blocking later events."""
    from omniroute.domain.errors import DomainError
    from omniroute.services import outbox_admin

    url = _store_url()

    async def run(session: AsyncSession) -> int:
        async with session.begin():
            return (await outbox_admin.discard(session, event)).seq

    try:
        seq = asyncio.run(_with_db(url, run))
    except DomainError as err:
        _fail(f"{err.code.value}: {err.message}")
    typer.echo(f"event {seq} discarded")


@spokes_app.command("list")
def spokes_list() -> None:
    """List configured spokes with their outbox counts, and the installed kinds."""
    from sqlalchemy import select

    from omniroute.services import outbox_admin
    from omniroute.spokes import registry

    url = _store_url()

    async def run(session: AsyncSession) -> tuple[list[t.SpokeRow], dict[str, dict[str, int]]]:
        rows = (await session.scalars(select(t.SpokeRow).order_by(t.SpokeRow.name))).all()
        return list(rows), await outbox_admin.counts(session)

    rows, counts = asyncio.run(_with_db(url, run))
    kinds = ", ".join(sorted(registry.available_spokes())) or "none"
    typer.echo(f"installed kinds: {kinds}")
    for broken in registry.broken_spokes():
        typer.echo(f"broken kind {broken.name} ({broken.target}): {broken.error}")
    if not rows:
        typer.echo("no spokes configured")
        return
    typer.echo(f"{'NAME':<16} {'KIND':<12} {'ENABLED':<8} {'PENDING':>7} {'DEAD':>5}")
    for row in rows:
        mine = counts.get(row.name, {})
        typer.echo(
            f"{row.name:<16} {row.kind:<12} {'yes' if row.enabled else 'no':<8} "
            f"{mine.get('pending', 0):>7} {mine.get('dead', 0):>5}"
        )


cluster_app = typer.Typer(help="Several nodes on one PostgreSQL database.", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("status")
def cluster_status_command() -> None:
    """Print the leader and every node's heartbeat, as GET /api/v1/cluster answers."""
    from omniroute.cluster.status import cluster_status

    url = _store_url()
    if not url.startswith("postgresql"):
        _fail("this database is SQLite: it has a single node and no cluster")

    async def run() -> dict[str, object]:
        db = Database(url)
        try:
            return await cluster_status(db, None)
        finally:
            await db.dispose()

    typer.echo(json.dumps(asyncio.run(run()), indent=2))


if __name__ == "__main__":
    app()
