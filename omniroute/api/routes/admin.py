"""Administration: CRUD for the routing catalog, agents and API tokens."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["admin"])
