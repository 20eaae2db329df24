"""Audit entries for API changes: who (from the caller's principal), what, when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.api.auth import Principal
from omniroute.api.deps import AdminPrincipal
from omniroute.config import Settings
from omniroute.engine.clock import Clock
from omniroute.services import audit as audit_log
from omniroute.services.audit import Actor


def actor_of(principal: Principal) -> Actor:
    """Who a principal is in the audit log: its agent if it has one, else its token."""
    role = "supervisor" if principal.supervisor else principal.role.value
    return Actor(principal.agent_id or principal.token_id, role)


@dataclass(frozen=True, slots=True)
class Auditor:
    """Records the changes one caller makes, in the transaction of each change."""

    who: Principal
    settings: Settings
    clock: Clock

    async def log(
        self, session: AsyncSession, action: str, target: tuple[str, str], details: dict[str, Any]
    ) -> None:
        """Add an entry to the session and drop entries past the retention."""
        now = self.clock.now()
        audit_log.record(session, actor_of(self.who), action, target, details, now)
        settings = self.settings
        await audit_log.purge(
            session, now, settings.audit_retention_days, settings.housekeeping_batch
        )


def auditor(request: Request, who: Principal) -> Auditor:
    """An auditor for a caller already checked for its role."""
    return Auditor(who, request.app.state.settings, request.app.state.engine.clock)


async def get_admin_auditor(request: Request, who: AdminPrincipal) -> Auditor:
    """The auditor of an administrator."""
    return auditor(request, who)


AdminAuditor = Annotated[Auditor, Depends(get_admin_auditor)]
