"""Fixtures of the cluster tests: a migrated, seeded PostgreSQL database of the test's own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.api.conftest import seed_api
from tests.procs import REPO_ROOT, Server, free_port, server_env


def auth(who: str) -> dict[str, str]:
    """Authorization headers for a token seeded by `seed_api`."""
    return {"Authorization": f"Bearer token-{who}"}


@pytest.fixture
def pg_server_url(server_db_url: str) -> str:
    """A database of the test's own; the cluster tests need PostgreSQL."""
    if not server_db_url.startswith("postgresql"):
        pytest.skip("a cluster needs PostgreSQL (set OMNIROUTE_TEST_PG_URL)")
    return server_db_url


@pytest.fixture
async def seeded(pg_server_url: str) -> AsyncIterator[Database]:
    """The migrated, seeded database; every agent available."""
    migrate.upgrade(pg_server_url)
    db = Database(pg_server_url)
    await seed_api(db)
    async with db.session() as s, s.begin():
        await s.execute(update(t.AgentRow).values(presence_id="available"))
    yield db
    await db.dispose()


def spawn(url: str, log_path: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """Start `omniroute serve` with extra arguments; does not wait for it."""
    port = free_port()
    command = [sys.executable, "-m", "omniroute.cli", "serve", "--port", str(port), *args]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=server_env(url) | (env or {}),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(process, "127.0.0.1", port, log_path)


class Cluster:
    """Nodes started by one test, stopped at its end."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.url = url
        self.log_dir = log_dir
        self.nodes: list[Server] = []

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> Server:
        """Start a node (not waiting for it)."""
        name = f"node-{len(self.nodes) + 1}.log"
        fast = {
            "OMNIROUTE_LEASE_S": "2",
            "OMNIROUTE_LEASE_RENEW_S": "0.5",
            # A retry takes over a request its killed node left running after 2 s, not 10.
            "OMNIROUTE_IDEMPOTENCY_STALE_S": "2",
        }
        server = spawn(self.url, self.log_dir / name, *args, env=fast | (env or {}))
        self.nodes.append(server)
        return server

    def start(self, *args: str) -> Server:
        """Start a node and wait until it is ready."""
        server = self.spawn(*args)
        server.wait_ready()
        return server

    def close(self) -> None:
        """Stop every node still running."""
        for server in self.nodes:
            if server.alive:
                server.terminate()


@pytest.fixture
def cluster(pg_server_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Nodes on the test's PostgreSQL database."""
    nodes = Cluster(pg_server_url, tmp_path / "logs")
    yield nodes
    nodes.close()


def status(server: Server) -> dict[str, object]:
    """GET /api/v1/cluster from one node, as the administrator."""
    response = httpx.get(f"{server.api_url}/cluster", headers=auth("admin"), timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body
