"""A real `server.py serve` process for tests that need one."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
SECRET = "process-test-secret-that-is-long-enough-0123456789"


def measured() -> dict[str, str]:
    """The environment that tells a subprocess to measure coverage when this run does."""
    return {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`server.py serve` in `tmp`, or `command` (run in the repository) with the same setup.

    With `command` the process starts in a session of its own, so that `signal_group`
    reaches it and its children the way a terminal's Ctrl-C does.
    """

    def __init__(self, tmp: Path, env: dict[str, str], command: list[str] | None = None) -> None:
        self.port = free_port()
        self.own_session = command is not None
        self.log = tmp / f"server-{self.port}.log"
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(tmp)),
            "ORDERLY_DATA_DIR": str(tmp / "data"),
            "PORT": str(self.port),
            **measured(),
            **env,
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command or [sys.executable, str(ROOT / "server.py"), "serve"],
                env=environ, cwd=ROOT if command else tmp, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=self.own_session,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout}s:\n{self.log.read_text()}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)

    def signal_group(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """Kill what is still running (the whole session, for a `command`) and reap it."""
        if self.process.poll() is None:
            if self.own_session:
                self.signal_group(signal.SIGKILL)
            else:
                self.process.kill()
            self.process.wait()

    def workers(self) -> list[psutil.Process]:
        """The worker processes of a server started with WORKERS > 1."""
        found = []
        for child in psutil.Process(self.process.pid).children():
            with contextlib.suppress(psutil.Error):  # it exited meanwhile
                if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(
                    child.cmdline()
                ):
                    found.append(child)
        return found

    def serving_workers(self) -> list[psutil.Process]:
        """The workers listening on the port: uvicorn listens once its start-up is complete."""
        found = []
        for worker in self.workers():
            with contextlib.suppress(psutil.Error):
                sockets = worker.net_connections("tcp")
                if any(
                    c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in sockets
                ):
                    found.append(worker)
        return found

    def output(self) -> str:
        return self.log.read_text()
