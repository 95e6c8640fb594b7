"""The HTTP servers under test, each its own process: the real one and the baseline app."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.config import PROJECT_ROOT
from bench.metrics import ProcessTree
from bench.wire import Target

HOST = "127.0.0.1"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    target: Target
    log_path: Path

    def wait_ready(self, path: str = "/readyz", timeout: float = READY_TIMEOUT) -> float:
        """Poll `path` until it answers 200; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
                try:
                    if client.get(self.target.base_url + path).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f}s:\n{self.log_tail()}")

    def tree(self) -> ProcessTree:
        return ProcessTree(self.process.pid)

    def stop(self) -> int | None:
        """SIGINT (a graceful stop), then SIGKILL for this process only if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def keepalive_probe(target: Target, path: str, count: int = 20) -> float:
    """p50 in ms of `count` sequential GETs on one keep-alive connection.

    About 40 ms means responses wait for the client's delayed ACK: the server's accepted
    sockets lack TCP_NODELAY (uvicorn's multi-worker listener, Kludex/uvicorn#3149).
    """
    timings = []
    connection = http.client.HTTPConnection(target.host, target.port, timeout=5)
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path)
            connection.getresponse().read()
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return sorted(timings)[len(timings) // 2]


def _start(name: str, command: list[str], env: Mapping[str, str], workdir: Path) -> ServerProcess:
    port = int(env["PORT"])
    log_path = workdir / f"{name}.log"
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(workdir)),
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed commands of the bench
            command, env=environ, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    return ServerProcess(name, process, Target(HOST, port), log_path)


def start_app_server(
    *,
    database_url: str,
    secret_key: str,
    workers: int,
    pool_size: int,
    workdir: Path,
) -> ServerProcess:
    """`server.py serve` as in production, but with plain-HTTP cookie names."""
    env = {
        "ORDERLY_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "HOST": HOST,
        "PORT": str(free_port()),
        "WORKERS": str(workers),
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": str(pool_size),
        "COOKIE_SECURE": "false",  # orderly_access, not __Host-orderly_access, over http
        "ACCESS_TOKEN_TTL": "86400",  # no token expires during a long run
        "ORDERLY_DATA_DIR": str(workdir / "data"),
    }
    command = [sys.executable, str(PROJECT_ROOT / "server.py"), "serve"]
    return _start("server", command, env, workdir)


def start_baseline(
    *,
    dsn: str,
    secret_key: str,
    workers: int,
    pool_size: int,
    static_dir: Path,
    min_minor: int,
    max_minor: int,
    workdir: Path,
) -> ServerProcess:
    """bench/baseline_app.py under uvicorn with the same worker count and settings."""
    port = free_port()
    env = {
        "BENCH_DSN": dsn,
        "SECRET_KEY": secret_key,
        "DB_POOL_SIZE": str(pool_size),
        "BENCH_STATIC_DIR": str(static_dir),
        "BENCH_MIN_MINOR": str(min_minor),
        "BENCH_MAX_MINOR": str(max_minor),
        "PORT": str(port),
    }
    command = [
        sys.executable, "-m", "uvicorn", "bench.baseline_app:create_app", "--factory",
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--no-server-header",
        "--app-dir", str(PROJECT_ROOT),
    ]  # fmt: skip
    return _start("baseline", command, env, workdir)


def log_findings(server: ServerProcess, limit: int = 8) -> dict[str, Any]:
    """WARNING/ERROR lines of a server log, grouped by message and exception (JSON or text)."""
    counts: dict[str, int] = {}
    levels = {"WARNING": 0, "ERROR": 0}
    for line in server.log_tail(chars=50_000_000).splitlines():
        level, summary = _summarize(line)
        if level is None:
            continue
        levels[level] += 1
        counts[summary] = counts.get(summary, 0) + 1
    common = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    return {
        "warnings": levels["WARNING"],
        "errors": levels["ERROR"],
        "kinds": [{"count": count, "line": line} for line, count in common],
    }


def _summarize(line: str) -> tuple[str | None, str]:
    if line.startswith("{"):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            level = str(record.get("level", ""))
            if level not in ("WARNING", "ERROR", "CRITICAL"):
                return None, ""
            exception = str(record.get("exception") or "").strip().splitlines()
            where = [ln.strip() for ln in exception if ln.strip().startswith("File ")]
            summary = f"{level} {record.get('logger')}: {str(record.get('message')).strip()}"
            if exception:
                summary += f" | {exception[-1][:200]}"
            if where:
                summary += f" | at {where[-1][:200]}"
            return ("ERROR" if level == "CRITICAL" else level), summary
    if "ERROR" in line or "Traceback" in line:
        return "ERROR", line.strip()[:300]
    if "WARNING" in line:
        return "WARNING", line.strip()[:300]
    return None, ""
