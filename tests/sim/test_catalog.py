"""The simulator's signed catalog endpoints and their paging."""

from __future__ import annotations

import time
from typing import Any

import pytest

from omniroute.sim.world import World, default_world
from omniroute.spokes.signing import sign
from tests.sim.conftest import SECRET, Sim, make_world


async def _get(sim: Sim, url: str, secret: str = SECRET, now: float | None = None) -> Any:
    return await sim.client.get(url, headers=sign(secret, b"", now=now))


async def _all_pages(sim: Sim, path: str) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    url: str | None = path
    pages = 0
    while url is not None:
        response = await _get(sim, url)
        assert response.status_code == 200
        page = response.json()
        items += page["items"]
        url = page["next"]
        pages += 1
    return items, pages


@pytest.mark.parametrize("world", [default_world()])
async def test_default_catalog(sim: Sim, world: World) -> None:
    skills, pages = await _all_pages(sim, "/catalog/skills")
    assert pages == 1
    assert {"id": "sim-skill-billing", "name": "Billing", "description": ""} in skills
    queues, _ = await _all_pages(sim, "/catalog/queues")
    billing = next(q for q in queues if q["id"] == "sim-queue-billing")
    assert billing == {
        "id": "sim-queue-billing",
        "name": "Billing",
        "skills": ["sim-skill-billing"],
        "channels": ["chat", "email"],
    }
    codes, _ = await _all_pages(sim, "/catalog/wrap-up-codes")
    assert {
        "id": "sim-wrap-follow-up",
        "name": "Follow-up",
        "description": "Needs a follow-up",
        "time_limit_s": 120,
    } in codes
    agents, _ = await _all_pages(sim, "/catalog/agents")
    assert agents[0] == {
        "id": "sim-agent-1",
        "name": "Alice",
        "email": "alice@demo.omniroute.local",
        "skills": ["sim-skill-billing", "sim-skill-english", "sim-skill-french"],
    }


@pytest.mark.parametrize("world", [make_world(agents=5, page_size=2)])
async def test_paging_follows_next_links(sim: Sim, world: World) -> None:
    agents, pages = await _all_pages(sim, "/catalog/agents")
    assert [a["id"] for a in agents] == [f"sim-a{n}" for n in range(1, 6)]
    assert pages == 3
    first = (await _get(sim, "/catalog/agents")).json()
    assert first["next"] == "http://sim.test/catalog/agents?offset=2&limit=2"
    exact, pages = await _all_pages(sim, "/catalog/skills")
    assert len(exact) == 2
    assert pages == 1
    custom = (await _get(sim, "/catalog/agents?limit=4")).json()
    assert len(custom["items"]) == 4
    assert custom["next"].endswith("offset=4&limit=4")
    beyond = (await _get(sim, "/catalog/agents?offset=10")).json()
    assert beyond == {"items": [], "next": None}


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/skills",
        "/catalog/queues",
        "/catalog/wrap-up-codes",
        "/catalog/agents",
        "/catalog/health",
    ],
)
async def test_catalog_needs_a_valid_signature(sim: Sim, path: str) -> None:
    assert (await sim.client.get(path)).status_code == 401
    assert (await _get(sim, path, secret="wrong")).status_code == 401
    stale = await _get(sim, path, now=time.time() - 3600)
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert (await _get(sim, path)).status_code == 200


async def test_health_and_unknown_kinds(sim: Sim) -> None:
    assert (await _get(sim, "/catalog/health")).json() == {"status": "ok", "spoke": "sim"}
    missing = await _get(sim, "/catalog/colours")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert (await _get(sim, "/catalog/agents?limit=0")).status_code == 422
