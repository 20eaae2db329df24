"""Start and stop real `omniroute serve` processes for tests."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET_KEY = "restart-test-secret-key-0123456789abcdef"
READY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.05


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str, secret_key: str = TEST_SECRET_KEY) -> dict[str, str]:
    """This process's environment with no other Omniroute settings than the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
    env |= {
        "OMNIROUTE_DATABASE_URL": database_url,
        "OMNIROUTE_SECRET_KEY": secret_key,
        "OMNIROUTE_DEMO": "0",
        "OMNIROUTE_LOG_LEVEL": "info",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def serve_command(host: str, port: int) -> list[str]:
    """The command line that serves the API."""
    return [sys.executable, "-m", "omniroute.cli", "serve", "--host", host, "--port", str(port)]


@dataclass
class Server:
    """One running `omniroute serve` process and where its output goes."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        """The server's root URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The root URL of the REST API."""
        return f"{self.base_url}/api/v1"

    @property
    def alive(self) -> bool:
        """Whether the process has not exited."""
        return self.process.poll() is None

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> int:
        """SIGKILL the process (no clean shutdown) and reap it; returns its exit status."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def terminate(self, timeout_s: float = 10.0) -> int:
        """SIGTERM the process and wait for a clean exit, falling back to SIGKILL."""
        if self.alive:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return self.kill()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll GET /readyz until it answers 200; raise if the process dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if not self.alive:
                    msg = f"server exited with {self.process.returncode} before it was ready"
                    raise RuntimeError(f"{msg}\n--- log ---\n{self.log()}")
                try:
                    response = client.get("/readyz")
                except httpx.TransportError as err:
                    last = f"{type(err).__name__}: {err}"
                else:
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text}"
                if time.monotonic() >= deadline:
                    self.kill()
                    msg = f"server not ready after {timeout_s:.0f} s (last: {last})"
                    raise TimeoutError(f"{msg}\n--- log ---\n{self.log()}")
                time.sleep(POLL_INTERVAL_S)


def start_server(
    database_url: str,
    log_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
    env: dict[str, str] | None = None,
    file_limit: tuple[int, int] | None = None,
) -> Server:
    """Start `omniroute serve` on the database and return once GET /readyz answers 200.

    `file_limit` sets the child's (soft, hard) open-file limit before it starts.
    """
    chosen = port if port is not None else free_port(host)

    def limit_files() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, file_limit)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # the child keeps its own copy of the log descriptor
            serve_command(host, chosen),
            cwd=REPO_ROOT,
            env=server_env(database_url) | (env or {}),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=limit_files if file_limit else None,  # noqa: PLW1509 - only setrlimit
        )
    server = Server(process, host, chosen, log_path)
    try:
        server.wait_ready(ready_timeout_s)
    except BaseException:
        server.kill()
        raise
    return server


@dataclass
class Servers:
    """Starts servers into one log directory and stops whatever is still running at the end."""

    log_dir: Path
    started: list[Server] = field(default_factory=list)

    def start(
        self,
        database_url: str,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        file_limit: tuple[int, int] | None = None,
    ) -> Server:
        """Start a server whose output goes to `server-N.log` in the log directory."""
        log_path = self.log_dir / f"server-{len(self.started) + 1}.log"
        server = start_server(database_url, log_path, port=port, env=env, file_limit=file_limit)
        self.started.append(server)
        return server

    def close(self) -> None:
        """Terminate every server still running."""
        for server in self.started:
            if server.alive:
                server.terminate()
