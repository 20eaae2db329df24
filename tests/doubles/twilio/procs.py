"""Start the TaskRouter double as its own process on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.procs import REPO_ROOT, Server, free_port, server_env


def start_double(
    log_path: Path,
    *,
    callback_url: str,
    reservation_timeout_s: float = 60.0,
    port: int | None = None,
) -> Server:
    """Start the double and return once GET /readyz answers 200."""
    port = port if port is not None else free_port()
    command = [sys.executable, "-m", "tests.doubles.twilio", "--port", str(port)]
    command += ["--callback-url", callback_url, "--reservation-timeout", str(reservation_timeout_s)]
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
    try:
        server.wait_ready()
    except BaseException:
        server.kill()
        raise
    return server
