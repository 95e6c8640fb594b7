"""Server-side measurements around one run: SQL statements, CPU time and worker memory.

- SQL: pg_stat_statements is reset before the run and summed after, for the bench database
  only, leaving out the bench's own statements (they all name pg_stat_statements);
- CPU: user + system seconds of a process tree (the server, a baseline, PostgreSQL);
- memory: the peak RSS of each worker process, sampled by a thread during the run.

Per-request figures divide by the requests the server served in the window: the responses
the client counted plus the requests still in flight when the load stopped (one per
connection: the generators are closed loops). The server finishes those too, so the
figures are read once it is idle again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import psutil

SAMPLE_INTERVAL = 0.2
MIB = 1024 * 1024
IDLE_CPU_SHARE = 0.05  # below 5% of one core the tree counts as idle
IDLE_TIMEOUT = 15.0

_RESET = "SELECT pg_stat_statements_reset()"
_OWN_DATABASE = "dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
_NOT_OURS = "query NOT ILIKE '%pg_stat_statements%'"
# Transaction control, and the per-connection set-up of asyncpg and SQLAlchemy (type
# introspection, settings): statements that are not the request's own queries.
_HOUSEKEEPING = (
    r"'^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|RESET ALL|CLOSE ALL"
    r"|UNLISTEN|SELECT pg_advisory_unlock_all|WITH RECURSIVE typeinfo_tree"
    r"|SELECT (current_setting|set_config|pg_catalog\.version)|SHOW |select pg_catalog)'"
)
_TOTALS = f"""
SELECT coalesce(sum(calls), 0)::bigint AS statements,
       coalesce(sum(calls) FILTER (WHERE query !~* {_HOUSEKEEPING}), 0)::bigint AS queries,
       coalesce(sum(total_exec_time), 0)::float8 AS exec_ms
FROM pg_stat_statements WHERE {_OWN_DATABASE} AND {_NOT_OURS}
"""  # noqa: S608 - constant fragments
_TOP = f"""
SELECT calls, total_exec_time, mean_exec_time, rows,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 200)
FROM pg_stat_statements WHERE {_OWN_DATABASE} AND {_NOT_OURS}
ORDER BY calls DESC, total_exec_time DESC LIMIT $1
"""  # noqa: S608 - constant fragments


@dataclass(frozen=True, slots=True)
class SqlTotals:
    statements: int  # every statement, BEGIN/COMMIT/ROLLBACK included
    queries: int  # without transaction control and connection set-up
    exec_ms: float
    top: list[dict[str, Any]]


class StatementCounter:
    """pg_stat_statements over one long-lived connection to the bench database."""

    def __init__(self, connection: asyncpg.Connection | None) -> None:
        self.connection = connection

    @property
    def available(self) -> bool:
        return self.connection is not None

    async def reset(self) -> None:
        if self.connection is not None:
            await self.connection.execute(_RESET)

    async def totals(self, top: int = 12) -> SqlTotals | None:
        if self.connection is None:
            return None
        row = await self.connection.fetchrow(_TOTALS)
        assert row is not None  # noqa: S101 - an aggregate always returns a row
        ranked = await self.connection.fetch(_TOP, top)
        return SqlTotals(
            statements=int(row["statements"]),
            queries=int(row["queries"]),
            exec_ms=float(row["exec_ms"]),
            top=[
                {
                    "calls": int(r[0]),
                    "total_ms": round(float(r[1]), 2),
                    "mean_ms": round(float(r[2]), 4),
                    "rows": int(r[3]),
                    "query": str(r[4]),
                }
                for r in ranked
            ],
        )


class ProcessTree:
    """A process and its descendants, as they are when asked."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_process(self.processes()).values())

    @staticmethod
    def cpu_by_process(processes: list[psutil.Process]) -> dict[int, float]:
        found = {}
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            found[process.pid] = times.user + times.system
        return found

    def wait_idle(self, timeout: float = IDLE_TIMEOUT) -> float:
        """Wait (bounded) until the tree stops using CPU; returns the seconds waited."""
        started = time.monotonic()
        previous = self.cpu_seconds()
        quiet = 0
        while time.monotonic() - started < timeout and quiet < 2:
            time.sleep(0.25)
            current = self.cpu_seconds()
            quiet = quiet + 1 if current - previous < 0.25 * IDLE_CPU_SHARE else 0
            previous = current
        return time.monotonic() - started

    def workers(self) -> list[psutil.Process]:
        """uvicorn's worker processes (spawned children); the root itself with one worker."""
        found = []
        for child in self.processes()[1:]:
            try:
                command = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "spawn_main" in command:
                found.append(child)
        return found or [self.root]


@dataclass(slots=True)
class RssSampler:
    """Samples the RSS of the workers of `tree` in a thread; keeps each one's peak."""

    tree: ProcessTree
    peaks: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        """Peak RSS of each worker, in MiB, largest first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sample()
        return sorted((peak / MIB for peak in self.peaks.values()), reverse=True)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL):
            self._sample()

    def _sample(self) -> None:
        for worker in self.tree.workers():
            try:
                rss = worker.memory_info().rss
            except psutil.Error:
                continue
            self.peaks[worker.pid] = max(self.peaks.get(worker.pid, 0), rss)


@dataclass(frozen=True, slots=True)
class Measured:
    """What one run cost on the server side; per-request figures need the request count."""

    sql: SqlTotals | None
    server_cpu_s: float
    db_cpu_s: float | None
    worker_peak_rss_mib: list[float]
    worker_cpu_s: list[float]  # each worker's share of the CPU time, largest first
    served: int  # requests the server served in the window (see the module's docstring)

    def worker_split(self) -> list[float]:
        """Each worker's share of the workers' CPU time, in percent, largest first."""
        total = sum(self.worker_cpu_s)
        return [100 * c / total for c in self.worker_cpu_s] if total > 0 else []

    def per_request(self, value: float) -> float:
        return value / max(1, self.served)

    def as_json(self) -> dict[str, Any]:
        per = max(1, self.served)
        sql = self.sql
        return {
            "served_requests": self.served,
            "sql_statements_per_request": round(sql.statements / per, 2) if sql else None,
            "sql_queries_per_request": round(sql.queries / per, 2) if sql else None,
            "sql_exec_ms_per_request": round(sql.exec_ms / per, 4) if sql else None,
            "server_cpu_s": round(self.server_cpu_s, 3),
            "server_cpu_s_per_1k_requests": round(self.server_cpu_s * 1000 / per, 4),
            "db_cpu_s": round(self.db_cpu_s, 3) if self.db_cpu_s is not None else None,
            "db_cpu_s_per_1k_requests": (
                round(self.db_cpu_s * 1000 / per, 4) if self.db_cpu_s is not None else None
            ),
            "worker_peak_rss_mib": [round(m, 1) for m in self.worker_peak_rss_mib],
            "worker_cpu_s": [round(c, 3) for c in self.worker_cpu_s],
            "top_statements": sql.top if sql else None,
        }


class Probe:
    """Brackets one run: reset and snapshot before, collect after."""

    def __init__(
        self, counter: StatementCounter, server: ProcessTree, database: ProcessTree | None
    ) -> None:
        self.counter = counter
        self.server = server
        self.database = database
        self._sampler: RssSampler | None = None
        self._cpu = 0.0
        self._db_cpu = 0.0
        self._workers: list[psutil.Process] = []
        self._worker_cpu: dict[int, float] = {}

    async def start(self) -> None:
        await self.counter.reset()
        self._cpu = self.server.cpu_seconds()
        self._workers = self.server.workers()
        self._worker_cpu = ProcessTree.cpu_by_process(self._workers)
        self._db_cpu = self.database.cpu_seconds() if self.database else 0.0
        self._sampler = RssSampler(self.server)
        self._sampler.start()

    async def stop(self, served: int) -> Measured:
        """Collect, once the server is idle again; `served` as in the module's docstring."""
        assert self._sampler is not None  # noqa: S101 - start() first
        self.server.wait_idle()
        peaks = self._sampler.stop()
        cpu = self.server.cpu_seconds() - self._cpu
        after = ProcessTree.cpu_by_process(self._workers)
        workers = sorted(
            (after[pid] - before for pid, before in self._worker_cpu.items() if pid in after),
            reverse=True,
        )
        db_cpu = self.database.cpu_seconds() - self._db_cpu if self.database else None
        sql = await self.counter.totals()
        return Measured(
            sql=sql,
            server_cpu_s=cpu,
            db_cpu_s=db_cpu,
            worker_peak_rss_mib=peaks,
            worker_cpu_s=workers,
            served=served,
        )
