"""Driving load from a separate process: wrk with bench/lua/requests.lua, or bench.loadgen.

Both replay the same request file and print one "BENCH_RESULT {json}" line; either way the
run is bounded in time (the duration, plus a hard timeout on the process) and in count.
"""

from __future__ import annotations

import math
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.config import BENCH_DIR, PROJECT_ROOT
from bench.wire import Target, write_requests

LUA_SCRIPT = BENCH_DIR / "lua" / "requests.lua"
RESULT_MARKER = "BENCH_RESULT "
REQUEST_TIMEOUT = 10.0  # seconds before one request counts as timed out
GRACE = 60.0  # seconds past the duration before a load process is killed


@dataclass(frozen=True, slots=True)
class LoadJob:
    name: str
    target: Target
    requests: list[bytes]
    connections: int
    duration: float
    max_requests: int


@dataclass(slots=True)
class LoadResult:
    driver: str
    connections: int
    requests: int
    duration_s: float
    ok: int
    rejected: int
    errors: int
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    error_sample: str
    client_cpu_s: float = 0.0
    distinct_requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "driver": self.driver,
            "connections": self.connections,
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.rps, 1),
            "ok": self.ok,
            "rejected": self.rejected,
            "errors": self.errors,
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
            "latency_ms": {k: round(v, 3) for k, v in self.latency_ms.items()},
            "error_sample": self.error_sample or None,
            "client_cpu_s": round(self.client_cpu_s, 3),
            "distinct_requests": self.distinct_requests,
            **self.extra,
        }


def choose_driver(preference: str) -> str:
    """'wrk' when asked for or (auto) installed, otherwise the built-in generator."""
    installed = shutil.which("wrk") is not None
    if preference == "wrk" and not installed:
        raise SystemExit("--load wrk: wrk is not installed (apt-get install -y wrk)")
    if preference == "python" or not installed:
        return "python"
    return "wrk"


class RunningLoad:
    """A load process in flight; `wait()` collects its result."""

    def __init__(self, job: LoadJob, driver: str, workdir: Path) -> None:
        self.job = job
        self.driver = driver
        self.requests_file = workdir / f"{job.name}.requests"
        distinct = write_requests(self.requests_file, job.requests)
        self.distinct = distinct
        self.log_path = workdir / f"{job.name}.{driver}.log"
        if driver == "wrk":
            command = _wrk_command(job, self.requests_file)
        else:
            spec = workdir / f"{job.name}.spec.json"
            spec.write_bytes(
                orjson.dumps(
                    {
                        "host": job.target.host,
                        "port": job.target.port,
                        "connections": job.connections,
                        "duration": job.duration,
                        "timeout": REQUEST_TIMEOUT,
                        "max_requests": job.max_requests,
                        "requests_file": str(self.requests_file),
                    }
                )
            )
            command = [sys.executable, "-m", "bench.loadgen", str(spec)]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - fixed commands of the bench
            command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        self.started = time.monotonic()

    def wait(self) -> LoadResult:
        timeout = math.ceil(self.job.duration) + GRACE
        # Only this process is reaped in between: the difference is its CPU time.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            stdout, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise RuntimeError(f"load {self.job.name} did not finish in {timeout}s") from None
        finally:
            self._log.close()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (usage.ru_utime - before.ru_utime) + (usage.ru_stime - before.ru_stime)
        line = next((ln for ln in stdout.splitlines() if ln.startswith(RESULT_MARKER)), None)
        if self.process.returncode != 0 or line is None:
            raise RuntimeError(
                f"load {self.job.name} ({self.driver}) failed with {self.process.returncode}:\n"
                f"{stdout[-2000:]}\n{self.log_path.read_text()[-2000:]}"
            )
        raw = orjson.loads(line[len(RESULT_MARKER) :])
        return LoadResult(
            driver=self.driver,
            connections=self.job.connections,
            requests=int(raw["requests"]),
            duration_s=float(raw["duration_s"]),
            ok=int(raw["ok"]),
            rejected=int(raw["rejected"]),
            errors=int(raw["errors"]),
            statuses={str(k): int(v) for k, v in raw["statuses"].items()},
            socket_errors={str(k): int(v) for k, v in raw["socket_errors"].items()},
            latency_ms={str(k): float(v) for k, v in raw["latency_ms"].items()},
            error_sample=str(raw.get("error_sample") or ""),
            client_cpu_s=cpu,
            distinct_requests=self.distinct,
        )


def _wrk_command(job: LoadJob, requests_file: Path) -> list[str]:
    threads = max(1, min(2, job.connections))
    seconds = max(1, round(job.duration))  # wrk takes whole seconds
    return [
        "wrk",
        f"-t{threads}",
        f"-c{job.connections}",
        f"-d{seconds}s",
        f"--timeout={int(REQUEST_TIMEOUT)}s",
        "-s",
        str(LUA_SCRIPT),
        job.target.base_url,
        "--",
        str(requests_file),
        str(threads),
    ]


def run_load(job: LoadJob, driver: str, workdir: Path) -> LoadResult:
    return RunningLoad(job, driver, workdir).wait()


def run_together(jobs: list[LoadJob], driver: str, workdir: Path) -> list[LoadResult]:
    """Start every job at once (separate processes), then collect them in order."""
    running = [RunningLoad(job, driver, workdir) for job in jobs]
    return [load.wait() for load in running]
