"""The audit log: `GET /api/v1/audit`, for administrators and supervisors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from omniroute.api.auth import Role
from omniroute.api.bounds import Instant
from omniroute.api.deps import CurrentPrincipal, SessionDep
from omniroute.domain.bounds import MAX_INT64
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.services import audit as audit_log

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    """One change: who (`actor`, `role`), what (`action` on `target_type`/`target_id`), when."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]


@router.get("/audit", response_model=list[AuditEntryOut])
async def list_audit(  # noqa: PLR0917 - one query parameter per filter
    who: CurrentPrincipal,
    session: SessionDep,
    since: Instant | None = None,
    until: Instant | None = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    """Audit entries, newest first; page with `before_id` (the last `id` seen)."""
    who.require(Role.ADMIN, Role.SUPERVISOR)
    if since is not None and until is not None and until <= since:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "until must be after since", "until")
    rows = await audit_log.entries(
        session,
        audit_log.AuditFilter(
            since, until, actor, action, target_type, target_id, limit, before_id
        ),
    )
    return [AuditEntryOut.model_validate(r, from_attributes=True) for r in rows]
