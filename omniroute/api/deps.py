"""Typed FastAPI dependencies: session, engine, caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from omniroute.api.auth import Principal, Role, TokenCache
from omniroute.api.rate_limits import Door, limit
from omniroute.api.sessions import (
    COOKIE_NAME,
    CSRF_HEADER,
    SessionStore,
    WebSession,
    check_csrf,
)
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.engine.engine import Engine
from omniroute.store.db import Database


async def get_db(request: Request) -> Database:
    """The app's database."""
    db: Database = request.app.state.db
    return db


async def get_engine(request: Request) -> Engine:
    """The app's routing engine."""
    engine: Engine = request.app.state.engine
    return engine


async def get_session(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[AsyncSession]:
    """A session for reads or for administrative writes."""
    async with db.session() as session:
        yield session


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer` header."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "send an API token as 'Authorization: Bearer <token>'"
        )
    return authorization[7:].strip()


async def get_principal(request: Request) -> Principal:
    """The authenticated caller, counted against its credential's rate limit."""
    principal = await _authenticate(request)
    await limit(request, Door.API, principal.token_id)
    return principal


async def _authenticate(request: Request) -> Principal:
    """A bearer token's caller, or a browser session's that echoes its CSRF token."""
    authorization = request.headers.get("authorization")
    cookie = request.cookies.get(COOKIE_NAME)
    if authorization is None and cookie:
        web = await get_web_session(request)
        check_csrf(web, request.method, request.headers.get(CSRF_HEADER))
        return web.principal
    token = bearer_token(authorization)
    cache: TokenCache = request.app.state.tokens
    return await cache.principal(token)


async def get_web_session(request: HTTPConnection) -> WebSession:
    """The browser session of the request's cookie, or UNAUTHENTICATED."""
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "sign in first")
    store: SessionStore = request.app.state.sessions
    return await store.find(cookie)


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """An authenticated administrator."""
    principal.require(Role.ADMIN)
    return principal


DbDep = Annotated[Database, Depends(get_db)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
AdminPrincipal = Annotated[Principal, Depends(get_admin)]
CurrentWebSession = Annotated[WebSession, Depends(get_web_session)]
