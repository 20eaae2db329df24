"""Start the Genesys Cloud double as its own process on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.procs import REPO_ROOT, Server, free_port, server_env

# Importing the official SDK takes seconds on a busy machine.
READY_TIMEOUT_S = 60.0


def start_double(
    log_path: Path,
    *,
    omniroute_url: str,
    token: str,
    spoke: str,
    secret: str,
    port: int | None,
    wait: bool = True,
) -> Server:
    """Start the double; unless told not to wait, return once GET /readyz answers 200."""
    port = port if port is not None else free_port()
    command = [sys.executable, "-m", "tests.doubles.genesys", "--port", str(port)]
    command += ["--omniroute-url", omniroute_url, "--token", token]
    command += ["--spoke", spoke, "--secret", secret]
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
    server = Server(process, "127.0.0.1", port, log_path)
    if not wait:
        return server
    try:
        server.wait_ready(READY_TIMEOUT_S)
    except BaseException:
        server.kill()
        raise
    return server
