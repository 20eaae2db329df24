"""The command line: migrations, demo data and token creation against a temporary database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select
from typer.testing import CliRunner

from omniroute.auth_tokens import hash_token
from omniroute.cli import app
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.migrate import alembic_config

runner = CliRunner()


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A SQLite URL in a directory that does not exist yet, set as the database URL."""
    value = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'omniroute.db'}"
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", value)
    monkeypatch.delenv("OMNIROUTE_CONFIG_FILE", raising=False)
    return value


async def _token_row(url: str, token: str) -> t.ApiTokenRow | None:
    db = Database(url)
    try:
        async with db.session() as session:
            return await session.scalar(
                select(t.ApiTokenRow).where(t.ApiTokenRow.token_hash == hash_token(token))
            )
    finally:
        await db.dispose()


def test_db_upgrade_and_current(url: str) -> None:
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert "not migrated" in result.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "upgraded" in result.output
    result = runner.invoke(app, ["db", "current"])
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert result.output.strip() == f"{head} (head)"


def test_demo_data_prints_the_fixed_tokens_every_time(url: str) -> None:
    first = runner.invoke(app, ["demo-data"])
    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    assert "demo-admin-token" in first.output
    second = runner.invoke(app, ["demo-data"])
    assert "already present" in second.output
    assert "demo-agent-alice-token" in second.output


def test_token_create_for_an_agent(url: str) -> None:
    runner.invoke(app, ["demo-data"])
    result = runner.invoke(
        app, ["token", "create", "--role", "agent", "--agent", "bob", "--name", "bob laptop"]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    row = asyncio.run(_token_row(url, token))
    assert row is not None
    assert (row.role, row.agent_id, row.name) == ("agent", "bob", "bob laptop")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "agent", "--name", "n"], "needs --agent"),
        (["--role", "admin", "--name", "n", "--agent", "bob"], "only to --role agent"),
        (["--role", "agent", "--name", "n", "--agent", "nobody"], "does not exist"),
    ],
)
def test_token_create_refuses_bad_combinations(url: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["token", "create", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_serve_refuses_to_start_without_a_secret_key(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNIROUTE_DEMO", raising=False)
    monkeypatch.delenv("OMNIROUTE_SECRET_KEY", raising=False)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "secret_key is required" in result.output
