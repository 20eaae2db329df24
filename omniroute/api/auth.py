"""Bearer-token authentication with roles."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from omniroute.auth_tokens import hash_token
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.store import tables as t
from omniroute.store.db import Database

DEMO_TOKEN_PREFIX = "demo-"  # noqa: S105 - a prefix, not a secret


class Role(StrEnum):
    """What a token may do."""

    ADMIN = "admin"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    INTEGRATION = "integration"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a token."""

    token_id: str
    role: Role
    agent_id: str | None
    supervisor: bool = False

    def require(self, *roles: Role) -> None:
        """Refuse a caller whose role is not among these."""
        if self.supervisor and Role.SUPERVISOR in roles:
            return
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise DomainError(ErrorCode.FORBIDDEN, f"this needs one of the roles: {allowed}")

    def require_agent_or(self, agent_id: str, *roles: Role) -> None:
        """Allow the agent itself, or callers in these roles."""
        if self.role is Role.AGENT and self.agent_id == agent_id:
            return
        if self.role in roles:
            return
        raise DomainError(ErrorCode.FORBIDDEN, "an agent may act only on its own behalf")

    def acting_agent(self) -> str | None:
        """The agent to hold to ownership checks: the caller if it is an agent."""
        return self.agent_id if self.role is Role.AGENT else None


class TokenCache:
    """Looks tokens up by digest, caching principals; cleared when tokens change."""

    def __init__(self, db: Database, *, demo: bool = False) -> None:
        self._db = db
        self._demo = demo
        self._cache: dict[str, Principal] = {}

    async def principal(self, token: str) -> Principal:
        """The principal for a bearer token, or UNAUTHENTICATED."""
        if not self._demo and token.startswith(DEMO_TOKEN_PREFIX):
            # Demo data may outlive demo mode; its well-known tokens must not.
            raise DomainError(ErrorCode.UNAUTHENTICATED, "demo tokens work only in demo mode")
        digest = hash_token(token)
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        async with self._db.session() as session:
            found = (
                await session.execute(
                    select(t.ApiTokenRow, t.AgentRow.disabled)
                    .outerjoin(t.AgentRow, t.AgentRow.id == t.ApiTokenRow.agent_id)
                    .where(t.ApiTokenRow.token_hash == digest)
                )
            ).first()
        if found is None:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "the API token is not valid")
        row, disabled = found
        if disabled:
            raise DomainError(
                ErrorCode.AGENT_DISABLED, "the token's agent is disabled; ask an admin to enable it"
            )
        principal = Principal(row.id, Role(row.role), row.agent_id)
        self._cache[digest] = principal
        return principal

    def clear(self) -> None:
        """Forget every cached principal (after a token was revoked)."""
        self._cache.clear()
