"""The FastAPI application: routers, error mapping, and the engine's life cycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from omniroute.api.auth import TokenCache
from omniroute.api.chat_cors import PublicChatCors
from omniroute.api.errors import install_error_handlers
from omniroute.api.page_headers import SecurityHeaders
from omniroute.api.routes import (
    admin,
    agents,
    audit,
    call_controls,
    catalog,
    chat,
    chat_widgets,
    chat_ws,
    connector_panels,
    docs_pages,
    documents,
    email,
    external,
    feed,
    health,
    operations,
    reports,
    session,
    spokes_admin,
    supervisor,
    support,
    workspace,
)
from omniroute.api.sessions import SessionStore
from omniroute.channels.chat.hub import ChatHub
from omniroute.channels.email.inbound import start_listener
from omniroute.config import Settings
from omniroute.engine.clock import Clock
from omniroute.engine.dispatcher import Dispatcher
from omniroute.engine.engine import Engine
from omniroute.spokes.manager import SpokeManager
from omniroute.store.db import Database

API_PREFIX = "/api/v1"
# Pages, scripts and styles of the workspace, widget and supervisor view: no build step.
WEB_ROOT = Path(__file__).resolve().parent.parent / "web"


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; the engine starts with the app and stops with it."""
    cfg = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(cfg.database_url)
        engine = Engine(db, clock, batch_max=cfg.engine_batch_max, checks=cfg.engine_checks or None)
        app.state.db = db
        app.state.engine = engine
        app.state.tokens = TokenCache(db, demo=cfg.demo)
        app.state.sessions = SessionStore(db, engine.clock, timedelta(hours=cfg.session_hours))
        app.state.settings = cfg
        await engine.start()
        spokes = SpokeManager(db, engine.clock)
        dispatcher = Dispatcher(db, spokes, engine.clock)
        app.state.spokes = spokes
        app.state.dispatcher = dispatcher
        try:
            await spokes.start()
            dispatcher.attach(engine)
            await dispatcher.start()
            app.state.chat = ChatHub(db, engine)
            await app.state.chat.start()
            listener = await start_listener(db, engine, cfg) if cfg.email_enabled else None
            try:
                yield
            finally:
                if listener is not None:
                    await listener.stop()
        finally:
            if hasattr(app.state, "chat"):
                await app.state.chat.stop()
            await dispatcher.stop()
            await spokes.stop()
            await engine.stop()
            await db.dispose()

    app = FastAPI(
        title="Omniroute",
        version="0.1.0",
        summary="Open customer-service routing hub: work-assignment engine API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(docs_pages.router)
    for module in (agents, documents, feed, admin, external, audit, operations, reports):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(catalog.router, prefix=API_PREFIX)
    app.include_router(spokes_admin.router, prefix=API_PREFIX)
    app.include_router(email.router, prefix=API_PREFIX)
    app.include_router(session.router, prefix=API_PREFIX)
    app.include_router(workspace.router, prefix=API_PREFIX)
    app.include_router(workspace.pages)
    app.include_router(call_controls.router, prefix=API_PREFIX)
    app.include_router(connector_panels.router, prefix=API_PREFIX)
    app.include_router(supervisor.router, prefix=API_PREFIX)
    app.include_router(supervisor.page_router)
    app.mount("/static", StaticFiles(directory=WEB_ROOT), name="static")
    for module in (chat, chat_widgets, chat_ws):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(support.router)
    app.add_middleware(PublicChatCors)
    app.add_middleware(SecurityHeaders)
    return app
