"""Spoke discovery: each entry point loaded once, on its own; broken packages listed, not fatal."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omniroute.cli import app
from omniroute.spokes import registry
from omniroute.spokes.webhook import WebhookSpoke
from omniroute.store import migrate
from tests.spokes.installed import third_party  # noqa: F401 - the fixture


@pytest.mark.usefixtures("third_party")
def test_a_broken_package_is_listed_and_the_others_work() -> None:
    working = registry.available_spokes()
    assert working["webhook"] is WebhookSpoke
    assert working["kit_good"].manifest.title == "Kit good"
    assert working["kit_good"].manifest.settings_model.__name__ == "GoodSettings"
    broken = {k.name: k for k in registry.broken_spokes()}
    assert set(broken) == {"kit_broken", "kit_not_spoke", "kit_no_manifest"}
    assert "acme_sdk_that_is_not_installed" in (broken["kit_broken"].error or "")
    assert broken["kit_not_spoke"].error == "kit_not_spoke:NotASpoke is not a Spoke class"
    assert "manifest.json" in (broken["kit_no_manifest"].error or "")
    assert {k.distribution for k in broken.values()} == {"omniroute-kit-test"}
    with pytest.raises(KeyError, match="installed but broken: ModuleNotFoundError"):
        registry.spoke_class("kit_broken")
    with pytest.raises(KeyError, match="no spoke of kind 'nope'"):
        registry.spoke_class("nope")


@pytest.mark.usefixtures("third_party")
def test_entry_points_are_loaded_once_not_on_every_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = metadata.entry_points

    def counted(**kwargs: Any) -> Any:
        reads.append(kwargs.get("group", ""))
        return real(**kwargs)

    monkeypatch.setattr(registry, "entry_points", counted)
    registry.refresh()
    for _ in range(3):
        registry.available_spokes()
        registry.spoke_class("webhook")
        registry.broken_spokes()
    assert reads == [registry.GROUP]


@pytest.mark.usefixtures("third_party")
def test_spokes_list_names_the_broken_entry_points(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", url)
    monkeypatch.delenv("OMNIROUTE_CONFIG_FILE", raising=False)
    migrate.upgrade(url)
    result = CliRunner().invoke(app, ["spokes", "list"])
    assert result.exit_code == 0, result.output
    installed = next(line for line in result.output.splitlines() if "installed kinds" in line)
    assert "kit_good" in installed
    assert "webhook" in installed
    assert "kit_broken" not in installed
    assert "broken kind kit_broken (kit_broken_import:BrokenSpoke): ModuleNotFoundError" in (
        result.output
    )
