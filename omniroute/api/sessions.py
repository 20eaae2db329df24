"""Browser sessions: argon2 sign-in, a cookie holding a random token, and a CSRF token."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from omniroute.api.auth import Principal, Role
from omniroute.api.rate_limits import HashingGate
from omniroute.auth_tokens import hash_token
from omniroute.demo import DEMO_PASSWORD
from omniroute.domain.errors import DomainError, ErrorCode, RetryLaterError
from omniroute.engine.clock import Clock
from omniroute.store import tables as t
from omniroute.store.db import Database

COOKIE_NAME = "omniroute_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PREFIX = "session:"
# Cached sessions are re-read this often, so a changed role or a deleted agent takes effect.
CACHE_FOR = timedelta(seconds=30)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)

_HASHER = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("omniroute-no-such-agent")


class Ending(Protocol):
    """Told when the sessions behind a live socket end."""

    def set(self) -> None:
        """The sessions ended."""


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live browser session."""

    principal: Principal
    csrf_token: str
    expires_at: datetime
    name: str
    email: str


class LoginThrottle:
    """Refuses sign-in for one client and email after repeated failures within a window.

    The key is the pair, so someone guessing a known email locks out only themselves, never
    the agent signing in from elsewhere with the right password.
    """

    def __init__(self, clock: Clock, max_failures: int, window: timedelta) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._failures: dict[tuple[str, str], deque[datetime]] = {}

    def check(self, client: str, email: str) -> None:
        """Raise TOO_MANY_ATTEMPTS while this client is locked out for the email."""
        recent = self._recent((client, email))
        if len(recent) >= self._max:
            wait = int((recent[0] + self._window - self._clock.now()).total_seconds()) + 1
            raise RetryLaterError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                f"too many failed sign-ins for this email from here; try again in {wait} s",
                wait,
                "password",
            )

    def failed(self, client: str, email: str) -> None:
        """Count one failed attempt."""
        key = (client, email)
        self._failures[key] = self._recent(key)
        self._failures[key].append(self._clock.now())

    def succeeded(self, client: str, email: str) -> None:
        """Forget the failures of a client that signed in."""
        self._failures.pop((client, email), None)

    def _recent(self, key: tuple[str, str]) -> deque[datetime]:
        """The key's failures within the window; a key with none left is forgotten."""
        recent = self._failures.get(key, deque())
        while recent and recent[0] <= self._clock.now() - self._window:
            recent.popleft()
        if not recent:
            self._failures.pop(key, None)
        return recent


class SessionStore:
    """Creates, finds and ends browser sessions; caches live ones in memory."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ttl: timedelta,
        throttle: LoginThrottle | None = None,
        hashing: HashingGate | None = None,
        *,
        demo: bool = True,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[WebSession, datetime]] = {}
        self.throttle = throttle or LoginThrottle(clock, MAX_FAILURES, FAILURE_WINDOW)
        self._hashing = hashing or HashingGate(concurrency=2, queue=16)
        self._demo = demo
        # Sockets opened with a session, by agent: set when the agent's sessions end.
        self._watchers: dict[str, set[Ending]] = {}
        # Sockets opened with an agent's API token: set when the agent is disabled or deleted.
        self._token_watchers: dict[str, set[Ending]] = {}

    async def sign_in(
        self, email: str, password: str, user_agent: str, client: str = ""
    ) -> tuple[str, WebSession]:
        """Check the password and open a session; the token goes into the cookie only."""
        email = email.strip().lower()
        self.throttle.check(client, email)
        async with self._db.session() as session:
            agent = await session.scalar(
                select(t.AgentRow).where(func.lower(t.AgentRow.email) == email)
            )
        stored = agent.password_hash if agent is not None else None
        if not await self._hashing.run(_verify, stored, password) or agent is None:
            self.throttle.failed(client, email)
            raise DomainError(
                ErrorCode.INVALID_CREDENTIALS, "the email or the password is wrong", "password"
            )
        if agent.disabled:
            # Said only to whoever knows the password, so it reveals nothing to a guesser.
            raise DomainError(
                ErrorCode.AGENT_DISABLED,
                "this agent is disabled; ask an admin to enable it",
                "email",
            )
        if not self._demo and hmac.compare_digest(password, DEMO_PASSWORD):
            # Demo data may outlive demo mode; its published password must not.
            self.throttle.failed(client, email)
            raise DomainError(
                ErrorCode.INVALID_CREDENTIALS,
                "the demo password works only in demo mode; ask an admin to set your password",
                "password",
            )
        self.throttle.succeeded(client, email)
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        row = t.WebSessionRow(
            token_hash=hash_token(token),
            agent_id=agent.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + self._ttl,
            user_agent=user_agent[:300],
        )
        async with self._db.session() as session, session.begin():
            await session.execute(delete(t.WebSessionRow).where(t.WebSessionRow.expires_at <= now))
            session.add(row)
        web = _web_session(row, agent)
        self._cache[row.token_hash] = (web, now)
        return token, web

    async def find(self, token: str) -> WebSession:
        """The live session of a cookie token, or UNAUTHENTICATED."""
        digest = hash_token(token)
        now = self._clock.now()
        cached = self._cache.get(digest)
        web = cached[0] if cached is not None and now - cached[1] < CACHE_FOR else None
        if web is None:
            async with self._db.session() as session:
                found = (
                    await session.execute(
                        select(t.WebSessionRow, t.AgentRow)
                        .join(t.AgentRow, t.AgentRow.id == t.WebSessionRow.agent_id)
                        .where(t.WebSessionRow.token_hash == digest, ~t.AgentRow.disabled)
                    )
                ).first()
            if found is not None:
                web = _web_session(found[0], found[1])
                self._cache[digest] = (web, now)
        if web is None or web.expires_at <= now:
            self._cache.pop(digest, None)
            raise DomainError(ErrorCode.UNAUTHENTICATED, "the session has ended; sign in again")
        return web

    @contextmanager
    def watching(self, principal: Principal) -> Iterator[asyncio.Event]:
        """An event set when the principal's agent's sessions end, or (for its API tokens
        too) when the agent is disabled or deleted."""
        ended = asyncio.Event()
        with self.watch(principal, ended):
            yield ended

    @contextmanager
    def watch(self, principal: Principal, ending: Ending) -> Iterator[None]:
        """Call `ending.set()` when the principal's agent's sessions end, or (for its API
        tokens too) when the agent is disabled or deleted."""
        agent_id = principal.agent_id
        if agent_id is None:
            yield
            return
        watchers = (
            self._watchers
            if principal.token_id.startswith(SESSION_PREFIX)
            else self._token_watchers
        )
        watchers.setdefault(agent_id, set()).add(ending)
        try:
            yield
        finally:
            left = watchers.get(agent_id, set())
            left.discard(ending)
            if not left:
                watchers.pop(agent_id, None)

    async def end_agent(self, agent_id: str, *, tokens_too: bool = False) -> None:
        """End every session of an agent at once (its password changed, it was disabled or it
        went); with tokens_too, also close the sockets opened with its API tokens."""
        async with self._db.session() as session, session.begin():
            await session.execute(
                delete(t.WebSessionRow).where(t.WebSessionRow.agent_id == agent_id)
            )
        for digest, (web, _) in list(self._cache.items()):
            if web.principal.agent_id == agent_id:
                self._cache.pop(digest, None)
        for ended in self._watchers.pop(agent_id, set()):
            ended.set()
        if tokens_too:
            for ended in self._token_watchers.pop(agent_id, set()):
                ended.set()

    async def sign_out(self, token: str) -> None:
        """End the session of a cookie token."""
        digest = hash_token(token)
        self._cache.pop(digest, None)
        async with self._db.session() as session, session.begin():
            await session.execute(
                delete(t.WebSessionRow).where(t.WebSessionRow.token_hash == digest)
            )


def check_csrf(web: WebSession, method: str, header: str | None) -> None:
    """Refuse a state-changing request that does not echo the session's CSRF token."""
    if method in SAFE_METHODS:
        return
    if header is None or not hmac.compare_digest(header, web.csrf_token):
        raise DomainError(
            ErrorCode.CSRF_FAILED,
            "send the session's csrf_token in the X-CSRF-Token header on every change",
        )


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _web_session(row: t.WebSessionRow, agent: t.AgentRow) -> WebSession:
    principal = Principal(
        token_id=f"{SESSION_PREFIX}{row.token_hash[:12]}",
        role=Role.AGENT,
        agent_id=agent.id,
        supervisor=agent.supervisor,
    )
    return WebSession(principal, row.csrf_token, row.expires_at, agent.name, agent.email)
