"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from omniroute.api.deps import DbDep, EngineDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(db: DbDep, engine: EngineDep) -> JSONResponse:
    """The store answers and the routing engine runs."""
    checks: dict[str, str] = {}
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as err:  # noqa: BLE001 - readiness reports any failure
        checks["store"] = f"error: {type(err).__name__}"
    checks["engine"] = "ok" if engine.running else "stopped"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
    )
