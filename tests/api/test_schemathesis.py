"""Schemathesis against the in-process app with each role's token: no 5xx, no schema violation.

The examples, coverage and fuzzing phases run with every check and a bounded number of
examples per operation. One exception is configured: positive_data_acceptance also accepts
422, because rules across fields (one of two ids, a queue that serves the channel, an
installed spoke kind, an origin's form) are enforced by the API but not written in JSON Schema,
and 413 and 415, because attachment sizes and types are settings, not schema.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.config import PositiveDataAcceptanceConfig, SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.python import asgi

from omniroute.api.app import create_app
from omniroute.config import Settings
from omniroute.store.db import Database
from tests.api.conftest import seed_api, seed_supervisor_token
from tests.conftest import reset_schema

# Fuzzing examples per operation; the coverage phase adds its own deterministic cases.
MAX_EXAMPLES = 3
ROLES = {
    "admin": "token-admin",
    "supervisor": "token-sup",
    "agent": "token-alice",
    "integration": "token-integration",
}


@dataclass
class Figures:
    """What one run tested and found."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failures: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    errors: list[str] = field(default_factory=list)


async def _seed(url: str) -> None:
    db = Database(url)
    try:
        await reset_schema(db)
        await seed_api(db)
        await seed_supervisor_token(db)
    finally:
        await db.dispose()


@pytest.fixture
def seeded_url(db_url: str) -> Iterator[str]:
    """The test's database with the API tests' seed and a supervisor token."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _seed(db_url)).result()
    yield db_url
    # The lifespans schemathesis started (engine, store) stop with the test.
    asgi.shutdown_lifespans()


def _config(token: str) -> SchemathesisConfig:
    config = SchemathesisConfig()
    project = config.projects.override
    project.phases.update(phases=["examples", "coverage", "fuzzing"])
    project.checks.update(included_check_names=["all"])
    project.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "401", "403", "404", "409", "413", "415", "422"]
    )
    project.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    project.update(headers={"Authorization": f"Bearer {token}"})
    return config


def run(url: str, token: str) -> Figures:
    """Run schemathesis once and gather what it tested and what failed."""
    app = create_app(Settings(database_url=url, demo=True))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(token))
    figures = Figures()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.label:
            figures.operations.add(event.label)
            figures.cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE:
                        case = event.recorder.cases[case_id].value
                        seen = f"{case.path_parameters} {case.query} {str(case.body)[:120]}"
                        figures.failures[(event.label, check.name)].append(seen)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            figures.errors.append(str(getattr(event, "info", event))[:300])
    return figures


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("role", list(ROLES))
def test_schemathesis_finds_no_server_error_and_no_violation(seeded_url: str, role: str) -> None:
    if role != "admin" and seeded_url.startswith("postgresql"):
        # Bounded run time: every role on SQLite, the role that reaches every write on both.
        pytest.skip("PostgreSQL runs the admin role only")
    figures = run(seeded_url, ROLES[role])
    # The figures the issue asks to report (pytest -s shows them).
    print(
        f"\nschemathesis {role}: {len(figures.operations)} operations, "
        f"{figures.cases} cases, {sum(map(len, figures.failures.values()))} failures"
    )
    assert figures.errors == []
    assert len(figures.operations) > 100
    assert dict(figures.failures) == {}
