"""Start a real `omniroute sim` process for tests (end-to-end tests may use it too)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.procs import REPO_ROOT, Server, free_port, server_env


def sim_command(
    *,
    host: str,
    port: int,
    omniroute_url: str,
    token: str,
    secret: str,
    spoke: str,
    think_ms: int | None = None,
    scenario: Path | None = None,
) -> list[str]:
    """The command line that runs the simulator."""
    command = [sys.executable, "-m", "omniroute.cli", "sim", "--host", host, "--port", str(port)]
    command += ["--omniroute-url", omniroute_url, "--token", token, "--secret", secret]
    command += ["--spoke", spoke]
    if think_ms is not None:
        command += ["--think-ms", str(think_ms)]
    if scenario is not None:
        command += ["--scenario", str(scenario)]
    return command


def start_sim(
    log_path: Path,
    *,
    omniroute_url: str,
    token: str,
    secret: str,
    spoke: str,
    think_ms: int | None = None,
    scenario: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> Server:
    """Start the simulator and return once GET /readyz answers 200."""
    port = port if port is not None else free_port(host)
    command = sim_command(
        host=host,
        port=port,
        omniroute_url=omniroute_url,
        token=token,
        secret=secret,
        spoke=spoke,
        think_ms=think_ms,
        scenario=scenario,
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # the child keeps its own copy of the log descriptor
            command,
            cwd=REPO_ROOT,
            env=server_env("sqlite+aiosqlite:///:memory:"),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, host, port, log_path)
    try:
        server.wait_ready()
    except BaseException:
        server.kill()
        raise
    return server
