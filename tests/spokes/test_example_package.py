"""examples/spoke-example, installed with `pip install -e`, is discovered and passes the kit."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.procs import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "spoke-example"
INSTALL_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300
# A pip install and a second pytest run: slow on a busy machine, bounded by the two above.
pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT_S + RUN_TIMEOUT_S + 60)
RUN = """
import site, sys
site.addsitedir(sys.argv[1])
from omniroute.spokes import registry
kinds = registry.available_spokes()
assert kinds["pigeon"].__module__ == "omniroute_spoke_example.spoke", kinds
assert not registry.broken_spokes(), registry.broken_spokes()
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-rs", "tests"]))
"""


def _site_packages(prefix: Path) -> Path:
    scheme = sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})
    return Path(scheme["purelib"])


def test_the_example_installs_is_discovered_and_passes_the_contract(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    install += ["--prefix", str(prefix), "-e", str(EXAMPLE)]
    done = subprocess.run(
        install, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    site = _site_packages(prefix)
    entry_points = list(site.glob("omniroute_spoke_example-*.dist-info/entry_points.txt"))
    assert len(entry_points) == 1
    assert "pigeon = omniroute_spoke_example:PigeonSpoke" in entry_points[0].read_text()
    run = subprocess.run(
        [sys.executable, "-c", RUN, str(site)],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "10 passed" in run.stdout, run.stdout
    assert "skipped" not in run.stdout, run.stdout
