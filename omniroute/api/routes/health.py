"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from omniroute.api.deps import DbDep, EngineDep
from omniroute.cluster.node import ClusterNode

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, db: DbDep, engine: EngineDep) -> JSONResponse:
    """The store answers and the routing engine has started (here, or on the cluster's leader)."""
    checks: dict[str, str] = {}
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as err:  # noqa: BLE001 - readiness reports any failure
        checks["store"] = f"error: {type(err).__name__}"
    node: ClusterNode | None = request.app.state.cluster
    if node is None:
        checks["engine"] = "ok" if engine.ready else "stopped"
    else:
        checks["leader"] = "ok" if await node.leader_answers() else "no leader reachable"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not_ready", "checks": checks}
    if node is not None:
        # Not a readiness check: whether this node could take over without a full load.
        body["engine"] = _engine_role(node)
    return JSONResponse(body, 200 if ready else 503)


def _engine_role(node: ClusterNode) -> str:
    if not node.can_lead:
        return "none"
    if node.engine.running:
        return "leading"
    return "warm" if node.standby.warm else "loading"
