"""The results: one record per run, a table on stdout, and a JSON file under bench/results/."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench.config import BENCH_DIR, PROJECT_ROOT, Config
from bench.load import LoadResult
from bench.metrics import Measured

SERVER = "orderly"
ASYNCPG = "asyncpg+orjson"
STATIC = "static bytes"


@dataclass(slots=True)
class Run:
    workload: str  # W1 ... W4
    title: str
    target: str  # SERVER, ASYNCPG or STATIC
    load: LoadResult
    measured: Measured | None  # None for a side of a combined run (measured on the other)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.workload} {self.title}"

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "workload": self.workload,
            "title": self.title,
            "target": self.target,
            "load": self.load.as_json(),
        }
        if self.measured is not None:
            result["server"] = self.measured.as_json()
        result.update(self.extra)
        return result


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(runs: list[Run]) -> str:
    header = (
        "run", "target", "req/s", "p50 ms", "p99 ms", "ok/rej/err", "SQL/req", "queries/req",
        "CPU s/1k", "DB CPU s/1k", "worker CPU split %", "peak RSS MiB/worker", "gen CPU%",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = [header]
    for run in runs:
        load = run.load
        measured = run.measured
        sql_stmts = sql_queries = cpu = db_cpu = None
        rss = split = "-"
        if measured is not None:
            split = "/".join(f"{share:.0f}" for share in measured.worker_split())
            if measured.sql is not None:
                sql_stmts = measured.per_request(measured.sql.statements)
                sql_queries = measured.per_request(measured.sql.queries)
            cpu = measured.per_request(measured.server_cpu_s * 1000)
            if measured.db_cpu_s is not None:
                db_cpu = measured.per_request(measured.db_cpu_s * 1000)
            rss = "/".join(f"{m:.0f}" for m in measured.worker_peak_rss_mib)
        counts = f"{load.ok}/{load.rejected}/{load.errors + sum(load.socket_errors.values())}"
        rows.append(
            (
                run.name, run.target, _fmt(load.rps), _fmt(load.latency_ms.get("p50"), 2),
                _fmt(load.latency_ms.get("p99"), 2), counts, _fmt(sql_stmts, 2),
                _fmt(sql_queries, 2), _fmt(cpu, 3), _fmt(db_cpu, 3), split, rss,
                _fmt(100 * load.client_cpu_s / load.duration_s if load.duration_s else None, 0),
            )
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ratios(runs: list[Run]) -> dict[str, dict[str, float]]:
    """For W1 and W2: the server's throughput and latency against each baseline."""
    found: dict[str, dict[str, float]] = {}
    for workload in ("W1", "W2"):
        by_target = {run.target: run for run in runs if run.workload == workload}
        server = by_target.get(SERVER)
        if server is None:
            continue
        for target in (ASYNCPG, STATIC):
            base = by_target.get(target)
            if base is None or base.load.rps == 0:
                continue
            found[f"{workload} vs {target}"] = {
                "throughput": server.load.rps / base.load.rps,
                "p50_latency": _ratio(server.load.latency_ms["p50"], base.load.latency_ms["p50"]),
                "p99_latency": _ratio(server.load.latency_ms["p99"], base.load.latency_ms["p99"]),
            }
    return found


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


def ratio_lines(found: dict[str, dict[str, float]]) -> list[str]:
    return [
        f"{name}: server throughput = {r['throughput']:.1%} of the baseline "
        f"(x{1 / r['throughput']:.1f} slower); p50 x{r['p50_latency']:.1f}, "
        f"p99 x{r['p99_latency']:.1f}"
        for name, r in found.items()
        if r["throughput"] > 0
    ]


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": _wrk_version(),
    }


def _wrk_version() -> str | None:
    path = shutil.which("wrk")
    if path is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - the installed wrk, fixed arguments
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (result.stdout or result.stderr).splitlines()[0].strip() if result else "unknown"


def git_commit() -> str | None:
    """HEAD's commit, read from .git without running git."""
    git = PROJECT_ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        loose = git / ref
        if loose.exists():
            return loose.read_text().strip()
        packed = git / "packed-refs"
        for line in packed.read_text().splitlines() if packed.exists() else []:
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
    except OSError:
        return None
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)


def write_json(config: Config, started: datetime, document: dict[str, Any]) -> Path:
    path = config.output or (
        BENCH_DIR / "results" / f"bench-{started.strftime('%Y%m%d-%H%M%S')}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path
