"""A third-party distribution on sys.path: one good spoke and three broken entry points."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from omniroute.spokes import registry

MODULES = ("kit_good", "kit_good.spoke", "kit_broken_import", "kit_not_spoke", "kit_no_manifest")
GOOD = '''
    """A small working spoke."""

    from pydantic import BaseModel

    from omniroute.spokes.base import RoutingEvent, Spoke


    class GoodSettings(BaseModel):
        """Where the provider is."""

        url: str


    class GoodSpoke(Spoke[GoodSettings]):
        """Delivers nothing anywhere."""

        async def health(self) -> None:
            """Always healthy."""

        async def deliver(self, event: RoutingEvent) -> None:
            """Drop the event."""
'''
MANIFEST = '{"name": "kit_good", "version": "0.1.0", "title": "Kit good", "supports": ["routing"]}'
NO_MANIFEST = """
    from pydantic import BaseModel

    from omniroute.spokes.base import Spoke


    class NoManifestSpoke(Spoke[BaseModel]):
        async def health(self) -> None: ...

        async def deliver(self, event: object) -> None: ...
"""
ENTRY_POINTS = """
    [omniroute.spokes]
    kit_good = kit_good.spoke:GoodSpoke
    kit_broken = kit_broken_import:BrokenSpoke
    kit_not_spoke = kit_not_spoke:NotASpoke
    kit_no_manifest = kit_no_manifest:NoManifestSpoke
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution with one good spoke and three broken entry points."""
    site = tmp_path / "site"
    _write(site / "kit_good/__init__.py", '"""A good third-party spoke."""\n')
    _write(site / "kit_good/spoke.py", GOOD)
    _write(site / "kit_good/manifest.json", MANIFEST)
    _write(site / "kit_broken_import.py", "import acme_sdk_that_is_not_installed  # noqa\n")
    _write(site / "kit_not_spoke.py", "class NotASpoke:\n    pass\n")
    _write(site / "kit_no_manifest/__init__.py", NO_MANIFEST)
    dist = site / "omniroute_kit_test-1.0.dist-info"
    _write(dist / "METADATA", "Metadata-Version: 2.1\nName: omniroute-kit-test\nVersion: 1.0\n")
    _write(dist / "entry_points.txt", ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    registry.refresh()
    yield site
    registry.refresh()
    for name in MODULES:
        sys.modules.pop(name, None)
