"""The FastAPI application: routers, error mapping, and the engine's life cycle."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from omniroute.api.assets import (
    IMMUTABLE,
    REVALIDATE,
    STATIC_PREFIX,
    WEB_ROOT,
    CachedStatic,
    version,
)
from omniroute.api.auth import TokenCache
from omniroute.api.body_limits import BodyLimit, body_rules
from omniroute.api.chat_cors import PublicChatCors
from omniroute.api.errors import install_error_handlers
from omniroute.api.guard import RequestGuard
from omniroute.api.idempotency import IdempotencyKeys
from omniroute.api.internal_door import InternalDoor
from omniroute.api.openapi import with_error_answers
from omniroute.api.page_headers import SecurityHeaders
from omniroute.api.rate_limits import HashingGate, RateLimits
from omniroute.api.routes import (
    admin,
    agents,
    attachments,
    audit,
    bootstrap,
    call_controls,
    canned,
    case_work,
    catalog,
    chat,
    chat_widgets,
    chat_ws,
    cluster,
    connector_panels,
    customers,
    demo_mailbox,
    docs_pages,
    documents,
    email,
    external,
    feed,
    health,
    notes,
    operations,
    preferences,
    profile_sync,
    reports,
    search,
    session,
    spokes_admin,
    supervisor,
    support,
    widget_texts,
    workspace,
)
from omniroute.api.routes.feed import FeedSockets
from omniroute.api.sessions import LoginThrottle, SessionStore
from omniroute.channels.chat.hub import ChatHub
from omniroute.channels.email.demo_mailbox import DemoMailbox
from omniroute.channels.email.inbound import EmailListener, start_listener
from omniroute.cluster.chat_follower import ChatFollower
from omniroute.cluster.forward import HttpForwarder
from omniroute.cluster.node import ClusterNode, NodeInfo, Role, default_node_id
from omniroute.cluster.singleton import WhileLeading
from omniroute.config import Settings, browse_host
from omniroute.demo import DEMO_SECRETS
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine.claims import OutboxClaims
from omniroute.engine.clock import Clock
from omniroute.engine.dispatcher import Dispatcher
from omniroute.engine.engine import Engine
from omniroute.services.housekeeping import Housekeeper
from omniroute.services.profile_sync import ProfileSync
from omniroute.spokes.manager import SpokeManager
from omniroute.store.db import Database

API_PREFIX = "/api/v1"
# Responses smaller than this are sent as they are: compressing them gains nothing.
GZIP_MIN_BYTES = 500


async def _join(app: FastAPI, cfg: Settings, db: Database, engine: Engine) -> ClusterNode | None:
    """On PostgreSQL join the cluster (lead or stand by); on SQLite run the engine alone."""
    info = NodeInfo(
        cfg.node_id or default_node_id(cfg.port),
        cfg.node_url or f"http://{browse_host(cfg.host)}:{cfg.port}",
        Role.API if cfg.no_engine else Role.STANDBY,
    )
    app.state.cluster = None
    app.state.solo_node = {
        "node_id": info.node_id,
        "url": info.url,
        "role": Role.LEADER.value,
        "started_at": datetime.now(UTC),
    }
    if db.dialect != "postgresql":
        if cfg.no_engine:
            raise DomainError(
                ErrorCode.STORE_UNAVAILABLE,
                "no_engine needs PostgreSQL: on SQLite one node serves with its engine",
            )
        await engine.start()
        return None
    node = ClusterNode(
        db,
        engine,
        info,
        lease_s=cfg.lease_s,
        renew_s=cfg.lease_renew_s,
    )
    assert cfg.secret_key is not None  # settings refuse to load without one
    node.forwarder = HttpForwarder(
        node,
        cfg.secret_key.get_secret_value(),
        cfg.forward_timeout_s,
        door_max_in_flight=cfg.door_max_in_flight,
        door_body_max_bytes=cfg.door_body_max_bytes,
    )
    engine.forwarder = node.forwarder
    await node.start()
    app.state.cluster = node
    return node


class OmnirouteApp(FastAPI):
    """FastAPI with the request guard outside every other layer, Starlette's own included."""

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, feed sockets and the leader's door served before it, in the guard."""
        return RequestGuard(FeedSockets(InternalDoor(super().build_middleware_stack())))

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, with every operation's error answers in our error shape."""
        if self.openapi_schema is None:
            self.openapi_schema = with_error_answers(super().openapi(), self.routes)
        return self.openapi_schema


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, *, freeze_heap: bool = False
) -> FastAPI:
    """Build the app; the engine starts with the app and stops with it.

    `freeze_heap` is for a process that serves this one app (`omniroute serve`): once started,
    what start-up made is moved out of the garbage collector's sight (see below).
    """
    cfg = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pg = cfg.database_url.startswith("postgresql")
        db = Database(
            cfg.database_url,
            idle_tx_timeout_s=cfg.idle_tx_timeout_s if pg else None,
            load_idle_tx_timeout_s=cfg.load_idle_tx_timeout_s,
        )
        engine = Engine(
            db,
            clock,
            batch_max=cfg.engine_batch_max,
            timer_batch=cfg.engine_timer_batch,
            checks=cfg.engine_checks or None,
            guard=cfg.engine_checks or None,
        )
        app.state.db = db
        app.state.engine = engine
        app.state.tokens = TokenCache(db, demo=cfg.demo)
        app.state.sessions = SessionStore(
            db,
            engine.clock,
            timedelta(hours=cfg.session_hours),
            LoginThrottle(
                engine.clock, cfg.sign_in_max_failures, timedelta(seconds=cfg.sign_in_lockout_s)
            ),
            HashingGate(cfg.password_hash_concurrency, cfg.password_hash_queue),
            demo=cfg.demo,
        )
        app.state.rate_limits = RateLimits(cfg)
        app.state.settings = cfg
        node = await _join(app, cfg, db, engine)
        spokes = SpokeManager(
            db,
            engine.clock,
            refused_secrets=frozenset() if cfg.demo else DEMO_SECRETS,
            store_max_value_bytes=cfg.spoke_store_max_value_bytes,
        )
        claims = OutboxClaims(db, node.node_id) if node is not None else None
        dispatcher = Dispatcher(db, spokes, engine.clock, claims=claims)
        if node is not None:
            # Other nodes' commits ring the doorbell: their new events may be ours to deliver.
            node.follower.outbox_listeners.append(dispatcher.wake)
        app.state.spokes = spokes
        app.state.dispatcher = dispatcher
        try:
            await spokes.start()
            dispatcher.attach(engine)
            await dispatcher.start()
            app.state.chat = ChatHub(db, engine)
            await app.state.chat.start()
            if node is not None:
                chats = ChatFollower(db, app.state.chat, engine)
                await chats.start()
                node.follower.ring_listeners.append(chats.ring)
                app.state.chat_follower = chats
            profiles = ProfileSync(db, engine.clock, spokes.ready, engine.reload_config)
            app.state.profile_sync = profiles
            # Scheduled syncs run where the engine runs: on the leader only.
            schedule = asyncio.create_task(profiles.run_schedule(lambda: engine.running))
            keeper = Housekeeper(
                db,
                engine.clock,
                cfg.housekeeping_batch,
                cfg.change_log_kept_s,
                cfg.audit_retention_days,
            )
            housekeeping = asyncio.create_task(keeper.run(lambda: engine.running))
            listener: EmailListener | None = None
            leading_mail: WhileLeading[EmailListener] | None = None
            if cfg.email_enabled and node is None:
                listener = await start_listener(db, engine, cfg)
            elif cfg.email_enabled:
                # One SMTP port and one inbox per cluster: only the node that leads listens.
                leading_mail = WhileLeading(
                    "email listener",
                    engine,
                    functools.partial(start_listener, db, engine, cfg),
                    EmailListener.stop,
                )
                await leading_mail.start()
            mailbox = DemoMailbox(cfg) if cfg.demo_mailbox_port is not None else None
            if mailbox is not None:
                await mailbox.start()
                app.state.demo_mailbox = mailbox
            if freeze_heap:
                # What start-up made (modules, schemas, the loaded state) lives as long as the
                # process: out of the collector's sight, a full collection no longer stops the
                # event loop for a scan of all of it (hundreds of ms; it set the offer latency).
                gc.collect()
                gc.freeze()
            try:
                yield
            finally:
                if mailbox is not None:
                    await mailbox.stop()
                if listener is not None:
                    await listener.stop()
                if leading_mail is not None:
                    await leading_mail.stop()
        finally:
            if hasattr(app.state, "profile_sync"):
                schedule.cancel()
                housekeeping.cancel()
                await app.state.profile_sync.stop()
            if hasattr(app.state, "chat_follower"):
                await app.state.chat_follower.stop()
            if hasattr(app.state, "chat"):
                await app.state.chat.stop()
            await dispatcher.stop()
            await spokes.stop()
            if node is not None:
                await node.stop()
                await node.forwarder.aclose()
            else:
                await engine.stop()
            await db.dispose()

    app = OmnirouteApp(
        title="Omniroute",
        version="0.1.0",
        summary="Open customer-service routing hub: work-assignment engine API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(cluster.router, prefix=API_PREFIX)
    app.include_router(cluster.internal)
    app.include_router(docs_pages.router)
    for module in (agents, documents, feed, admin, external, audit, operations, reports):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(catalog.router, prefix=API_PREFIX)
    app.include_router(spokes_admin.router, prefix=API_PREFIX)
    app.include_router(email.router, prefix=API_PREFIX)
    app.include_router(session.router, prefix=API_PREFIX)
    app.include_router(workspace.router, prefix=API_PREFIX)
    app.include_router(preferences.router, prefix=API_PREFIX)
    app.include_router(bootstrap.router, prefix=API_PREFIX)
    app.include_router(workspace.pages)
    app.include_router(call_controls.router, prefix=API_PREFIX)
    app.include_router(connector_panels.router, prefix=API_PREFIX)
    app.include_router(profile_sync.router, prefix=API_PREFIX)
    app.include_router(supervisor.router, prefix=API_PREFIX)
    app.include_router(supervisor.page_router)
    app.mount(docs_pages.ASSETS, docs_pages.assets(), name="docs-assets")
    app.mount(
        f"{STATIC_PREFIX}/v/{version()}",
        CachedStatic(directory=WEB_ROOT, cache_control=IMMUTABLE),
        name="static-versioned",
    )
    app.mount(
        STATIC_PREFIX, CachedStatic(directory=WEB_ROOT, cache_control=REVALIDATE), name="static"
    )
    for module in (chat, chat_widgets, chat_ws, widget_texts):
        app.include_router(module.router, prefix=API_PREFIX)
    for module in (canned, notes, attachments, case_work, customers, search):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(support.router)
    app.add_middleware(IdempotencyKeys)
    app.add_middleware(BodyLimit, rules=body_rules(cfg))
    app.include_router(demo_mailbox.router)
    app.add_middleware(PublicChatCors)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    app.add_middleware(SecurityHeaders)
    if cfg.trusted_proxy_list:
        # Outermost, so that rate limits, lock-outs and logs see the client behind the proxy.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=cfg.trusted_proxy_list)
    return app


def served_app() -> FastAPI:
    """The app `omniroute serve` runs, the only one of its process (see `freeze_heap`)."""
    return create_app(freeze_heap=True)
