"""Settings: environment, TOML config file, and the secret-key rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from omniroute.config import DEMO_SECRET_KEY, Settings, StoreSettings, ensure_sqlite_dir

GOOD_KEY = "k" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OMNIROUTE_* variables from the caller's environment."""
    for name in ("DEMO", "SECRET_KEY", "CONFIG_FILE", "PORT", "DATABASE_URL", "LOG_LEVEL"):
        monkeypatch.delenv(f"OMNIROUTE_{name}", raising=False)


def test_defaults_with_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIROUTE_SECRET_KEY", GOOD_KEY)
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///./var/omniroute.db"
    assert (settings.host, settings.port, settings.demo) == ("127.0.0.1", 8080, False)
    assert (settings.log_level, settings.engine_batch_max) == ("info", 512)
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == GOOD_KEY


@pytest.mark.parametrize("key", [None, "short", DEMO_SECRET_KEY])
def test_outside_demo_mode_a_strong_own_key_is_required(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    if key is not None:
        monkeypatch.setenv("OMNIROUTE_SECRET_KEY", key)
    with pytest.raises(ValidationError, match="secret_key"):
        Settings()


def test_demo_mode_defaults_the_demo_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIROUTE_DEMO", "1")
    settings = Settings()
    assert settings.demo
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == DEMO_SECRET_KEY


def test_store_settings_need_no_key() -> None:
    assert StoreSettings().database_url.startswith("sqlite+aiosqlite:")


def test_toml_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "omniroute.toml"
    config.write_text(f'port = 9000\nlog_level = "DEBUG"\nsecret_key = "{GOOD_KEY}"\n')
    monkeypatch.setenv("OMNIROUTE_CONFIG_FILE", str(config))
    assert (Settings().port, Settings().log_level) == (9000, "debug")
    monkeypatch.setenv("OMNIROUTE_PORT", "9001")
    assert Settings().port == 9001


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIROUTE_CONFIG_FILE", str(tmp_path / "absent.toml"))
    with pytest.raises(FileNotFoundError, match="OMNIROUTE_CONFIG_FILE"):
        StoreSettings()


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIROUTE_DEMO", "1")
    monkeypatch.setenv("OMNIROUTE_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="log_level"):
        Settings()


def test_ensure_sqlite_dir(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "omniroute.db"
    ensure_sqlite_dir(f"sqlite+aiosqlite:///{target}")
    assert target.parent.is_dir()
    assert not target.exists()
    ensure_sqlite_dir("sqlite+aiosqlite:///:memory:")
    ensure_sqlite_dir("postgresql+asyncpg://postgres@127.0.0.1:5433/omniroute_test")
