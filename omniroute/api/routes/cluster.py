"""The cluster's view (admin) and the leader's reload for other nodes (its door: internal_door)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from omniroute.api.deps import AdminPrincipal, DbDep, EngineDep
from omniroute.cluster.forward import RELOAD_PATH, check_node_token
from omniroute.cluster.node import ClusterNode
from omniroute.cluster.status import cluster_status
from omniroute.config import Settings
from omniroute.domain.errors import DomainError, ErrorCode

router = APIRouter(tags=["cluster"])
internal = APIRouter(tags=["internal"], include_in_schema=False)


class LeaderOut(BaseModel):
    """The node that runs the engine."""

    node_id: str
    epoch: int
    since: datetime | None


class NodeOut(BaseModel):
    """One node's heartbeat."""

    node_id: str
    url: str
    role: str
    last_seen: datetime


class ClusterOut(BaseModel):
    """Who answers, who leads, and every node."""

    node_id: str
    leader: LeaderOut | None
    nodes: list[NodeOut]


@router.get("/cluster", response_model=ClusterOut)
async def cluster(request: Request, db: DbDep, _admin: AdminPrincipal) -> dict[str, Any]:
    """The nodes of the cluster and its leader (a single SQLite node leads alone)."""
    node: ClusterNode | None = request.app.state.cluster
    if node is not None:
        return await cluster_status(db, node.node_id)
    solo: dict[str, Any] = request.app.state.solo_node
    return {
        "node_id": solo["node_id"],
        "leader": {"node_id": solo["node_id"], "epoch": 0, "since": solo["started_at"]},
        "nodes": [solo | {"last_seen": datetime.now(UTC)}],
    }


def _from_node(request: Request, token: str | None) -> None:
    settings: Settings = request.app.state.settings
    assert settings.secret_key is not None  # settings refuse to load without one
    check_node_token(settings.secret_key.get_secret_value(), token)


@internal.post(RELOAD_PATH)
async def reload(
    request: Request, engine: EngineDep, x_omniroute_node: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """Re-read configuration in the leader's engine."""
    _from_node(request, x_omniroute_node)
    if not engine.running:
        raise DomainError(ErrorCode.STORE_UNAVAILABLE, "this node does not lead the cluster")
    await engine.reload_config()
    return {"ok": True}
