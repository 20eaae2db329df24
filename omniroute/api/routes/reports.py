"""Reports: interval statistics per queue and per agent over a date range, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from omniroute.api.bounds import Instant
from omniroute.api.deps import DbDep, EngineDep
from omniroute.api.routes.supervisor import SupervisorPrincipal
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.services.reports.query import ReportRow, report
from omniroute.services.reports.rollup import Rollup

router = APIRouter(tags=["reports"])
Bucket = Literal["15m", "hour", "day", "total"]
Format = Literal["json", "csv"]
# Fine buckets over long ranges would answer hundreds of thousands of rows.
FINE_MAX = timedelta(days=31)
FIELDS = (
    "offered",
    "accepted",
    "rejected",
    "timed_out",
    "abandoned",
    "transferred",
    "answered",
    "answered_within",
    "handled",
    "longest_wait_s",
)


class ReportEntry(BaseModel):
    """One queue's or agent's figures over one bucket; see docs/supervisor.md for each."""

    key: str
    start: datetime
    offered: int
    accepted: int
    rejected: int
    timed_out: int
    abandoned: int
    transferred: int
    answered: int
    answered_within: int
    handled: int
    longest_wait_s: float
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    occupancy: float | None
    presence_s: dict[str, float]


def rollup_of(request: Request) -> Rollup:
    """The process's rollup of interval statistics (made on first use)."""
    state = request.app.state
    rollup: Rollup | None = getattr(state, "report_rollup", None)
    if rollup is None:
        rollup = Rollup(state.db, state.settings.report_retention_days)
        state.report_rollup = rollup
    return rollup


def _entry(row: ReportRow) -> ReportEntry:
    stat = row.stat
    values: dict[str, Any] = {name: getattr(stat, name) for name in FIELDS}
    return ReportEntry(
        key=row.key,
        start=row.start,
        service_level=row.service_level,
        asa_s=row.asa_s,
        aht_s=row.aht_s,
        occupancy=row.occupancy,
        presence_s=stat.presence_s,
        **values,
    )


def _csv(scope: str, entries: list[ReportEntry]) -> Response:
    states = sorted({p for e in entries for p in e.presence_s})
    out = io.StringIO()
    writer = csv.writer(out)
    head = [f"{scope}_id", "start", *FIELDS, "service_level", "asa_s", "aht_s", "occupancy"]
    writer.writerow(head + [f"presence_{p}_s" for p in states])
    for e in entries:
        derived = [e.service_level, e.asa_s, e.aht_s, e.occupancy]
        writer.writerow(
            [e.key, e.start.isoformat()]
            + [getattr(e, f) for f in FIELDS]
            + ["" if v is None else round(v, 4) for v in derived]
            + [round(e.presence_s.get(p, 0.0), 1) for p in states]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{scope}-report.csv"'},
    )


async def _report(  # noqa: PLR0917 - the report's parameters
    request: Request,
    engine: EngineDep,
    db: DbDep,
    scope: str,
    since: datetime,
    until: datetime,
    bucket: str,
    keys: list[str] | None,
    fmt: str,
) -> Any:
    if until <= since:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "until must be after since", "until")
    retention = request.app.state.settings.report_retention_days
    if until - since > timedelta(days=retention + 1):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"a report covers at most {retention} days (the retention); shorten the range",
            "since",
        )
    if bucket in ("15m", "hour") and until - since > FINE_MAX:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "15m and hour buckets cover at most 31 days; use day or total",
            "bucket",
        )
    await rollup_of(request).catch_up(engine.clock.now())
    async with db.session() as session:
        rows = await report(session, scope, since, until, bucket, keys)
    entries = [_entry(r) for r in rows]
    return _csv(scope, entries) if fmt == "csv" else entries


Since = Annotated[Instant, Query(description="start of the range, with an offset")]
Until = Annotated[Instant, Query(description="end of the range (excluded)")]
Keys = Annotated[list[str] | None, Query(max_length=500)]


@router.get("/reports/queues", response_model=list[ReportEntry])
async def queue_report(  # noqa: PLR0917 - query parameters
    request: Request,
    _who: SupervisorPrincipal,
    engine: EngineDep,
    db: DbDep,
    since: Since,
    until: Until,
    bucket: Bucket = "total",
    queue_id: Keys = None,
    format: Format = "json",  # noqa: A002 - the query parameter's name
) -> Any:
    """Per queue: offers and outcomes, abandoned, transferred, service level, ASA, AHT."""
    return await _report(request, engine, db, "queue", since, until, bucket, queue_id, format)


@router.get("/reports/agents", response_model=list[ReportEntry])
async def agent_report(  # noqa: PLR0917 - query parameters
    request: Request,
    _who: SupervisorPrincipal,
    engine: EngineDep,
    db: DbDep,
    since: Since,
    until: Until,
    bucket: Bucket = "total",
    agent_id: Keys = None,
    format: Format = "json",  # noqa: A002 - the query parameter's name
) -> Any:
    """Per agent: the same, plus seconds in each presence state and occupancy."""
    return await _report(request, engine, db, "agent", since, until, bucket, agent_id, format)
