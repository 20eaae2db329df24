"""Typed FastAPI dependencies: session, engine, caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.api.auth import Principal, Role, TokenCache
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
    """The authenticated caller."""
    token = bearer_token(request.headers.get("authorization"))
    cache: TokenCache = request.app.state.tokens
    return await cache.principal(token)


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """An authenticated administrator."""
    principal.require(Role.ADMIN)
    return principal


DbDep = Annotated[Database, Depends(get_db)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
AdminPrincipal = Annotated[Principal, Depends(get_admin)]
