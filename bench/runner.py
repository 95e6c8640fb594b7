"""The whole benchmark, in order: database, data, servers, preparation, workloads, report."""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import checkout, workloads
from bench.config import Config
from bench.data import DataSet, customer_email, load_data
from bench.database import BenchDatabase, open_database, server_version
from bench.load import LoadJob, LoadResult, choose_driver, run_load, run_together
from bench.metrics import Measured, Probe, ProcessTree, StatementCounter
from bench.report import (
    ASYNCPG,
    SERVER,
    STATIC,
    Run,
    git_commit,
    machine,
    now_utc,
    ratio_lines,
    ratios,
    table,
    write_json,
)
from bench.servers import (
    ServerProcess,
    keepalive_probe,
    log_findings,
    start_app_server,
    start_baseline,
)
from db import migrate

log = logging.getLogger("bench")
SETTLE_SECONDS = 1.0
NAGLE_SUSPECT_MS = 20.0  # a /healthz round trip on loopback takes about 1 ms
IMBALANCED = 75.0  # percent of the workers' CPU time in the busiest worker


class Bench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.started = now_utc()
        self.workdir = Path(tempfile.mkdtemp(prefix="orderly-bench-run-"))
        self.driver = choose_driver(config.load)
        self.secret = secrets.token_urlsafe(48)
        self.loop = asyncio.Runner()
        self.runs: list[Run] = []
        self.checks: dict[str, Any] = {}
        self.setup: dict[str, Any] = {"load_driver": self.driver}
        self.observations: list[str] = []
        self.db: BenchDatabase | None = None
        self.server: ServerProcess | None = None
        self.baseline: ServerProcess | None = None
        self.monitor: asyncpg.Connection | None = None
        self.counter = StatementCounter(None)
        self.data: DataSet | None = None
        self.admin_cookie = ""
        self.customer_cookies: list[str] = []
        self.cursors: list[str | None] = []
        self.w2_query = workloads.w2_query(config.min_price, config.max_price)
        self.min_minor = workloads.to_minor(config.min_price)
        self.max_minor = workloads.to_minor(config.max_price)
        self.w2_alone: LoadResult | None = None

    # -- set-up ---------------------------------------------------------------------------

    def prepare(self) -> None:
        config = self.config
        timer = time.perf_counter()
        log.info("starting PostgreSQL (%s)", "DATABASE_URL" if config.database_url else "embedded")
        self.db = db = open_database(config.database_url)
        self.observations.extend(db.notes)
        self.setup["postgresql"] = self.loop.run(server_version(db.dsn))
        self.setup["pg_stat_statements"] = db.stat_statements
        self.setup["database_seconds"] = round(time.perf_counter() - timer, 2)

        timer = time.perf_counter()
        migrate.upgrade(db.url)
        self.setup["migrate_seconds"] = round(time.perf_counter() - timer, 2)
        log.info("loading the data set")
        self.data = data = load_data(
            db.dsn, config, min_minor=self.min_minor, max_minor=self.max_minor
        )
        self.setup["data_set"] = {
            "customers": data.customers, "products": data.products, "orders": data.orders,
            "items": data.items, "hot_products": list(data.hot_ids), "hot_stock": data.hot_stock,
            "products_in_w2_price_range": data.filtered_products,
            "load_seconds": round(data.load_seconds, 2),
        }  # fmt: skip
        self.monitor = self.loop.run(asyncpg.connect(db.dsn))
        self.counter = StatementCounter(self.monitor if db.stat_statements else None)

        timer = time.perf_counter()
        self.server = server = start_app_server(
            database_url=db.url, secret_key=self.secret, workers=config.workers,
            pool_size=config.db_pool_size, workdir=self.workdir,
        )  # fmt: skip
        server.wait_ready()
        self.setup["server_start_seconds"] = round(time.perf_counter() - timer, 2)
        self.setup["server_workers"] = [p.pid for p in server.tree().workers()]
        self._probe_keepalive("server", server, "/healthz")
        log.info("server ready on %s; signing in", server.target.base_url)

        target = server.target
        self.admin_cookie = workloads.admin_cookie(target)
        if "W3" in config.workloads:
            emails = [customer_email(n) for n in range(1, config.checkout_customers + 1)]
            self.customer_cookies = workloads.login_many(target, emails)
        if {"W2", "W4"} & set(config.workloads):
            self.cursors = workloads.collect_cursors(target, self.w2_query)
            self.setup["w2_pages"] = len(self.cursors)
        if config.baselines and {"W1", "W2"} & set(config.workloads):
            self._start_baseline()

    def _start_baseline(self) -> None:
        assert self.server is not None and self.db is not None  # noqa: S101
        target = self.server.target
        static = self.workdir / "static"
        static.mkdir()
        w1 = workloads.reference_body(target, workloads.W1_QUERY, cookie=self.admin_cookie)
        w2 = workloads.reference_body(target, self.w2_query, {"after": None})
        (static / "w1.json").write_bytes(w1)
        (static / "w2.json").write_bytes(w2)
        self.baseline = baseline = start_baseline(
            dsn=self.db.dsn, secret_key=self.secret, workers=self.config.workers,
            pool_size=self.config.db_pool_size, static_dir=static, min_minor=self.min_minor,
            max_minor=self.max_minor, workdir=self.workdir,
        )  # fmt: skip
        baseline.wait_ready()
        self._probe_keepalive("baseline", baseline, "/readyz")
        self.checks["baseline_same_json"] = self._same_json(w1)

    def _probe_keepalive(self, name: str, server: ServerProcess, path: str) -> None:
        p50 = keepalive_probe(server.target, path)
        self.setup.setdefault("keepalive_probe_p50_ms", {})[name] = round(p50, 2)
        if p50 > NAGLE_SUSPECT_MS:
            self.observations.append(
                f"{name}: sequential keep-alive GET {path} takes {p50:.0f} ms (p50): responses "
                "wait for the client's delayed ACK, i.e. TCP_NODELAY is off on accepted "
                "sockets (uvicorn --workers N binds its listener without proto, "
                "Kludex/uvicorn#3149); this caps each connection at ~23 requests/s"
            )

    def _same_json(self, w1_reference: bytes) -> dict[str, bool]:
        """Does the asyncpg baseline answer exactly what the server answers?"""
        assert self.server is not None and self.baseline is not None  # noqa: S101
        server, baseline = self.server.target, self.baseline.target
        w1 = workloads.reference_body(
            baseline, workloads.W1_QUERY, path="/sql/w1", cookie=self.admin_cookie
        )
        same = {"W1": orjson.loads(w1) == orjson.loads(w1_reference)}
        picks = sorted({0, len(self.cursors) // 2, len(self.cursors) - 1}) if self.cursors else []
        same["W2"] = all(
            orjson.loads(workloads.reference_body(server, self.w2_query, {"after": c}))
            == orjson.loads(
                workloads.reference_body(baseline, self.w2_query, {"after": c}, path="/sql/w2")
            )
            for c in (self.cursors[i] for i in picks)
        )
        for name, equal in same.items():
            if not equal:
                self.observations.append(f"{name}: the asyncpg baseline's JSON differs")
        return same

    # -- measuring ------------------------------------------------------------------------

    def _job(self, name: str, target: Any, requests: list[bytes], **kw: Any) -> LoadJob:
        config = self.config
        return LoadJob(
            name=name,
            target=target,
            requests=requests,
            connections=kw.get("connections", config.connections),
            duration=kw.get("duration", config.duration),
            max_requests=config.max_requests,
        )

    def _measure(self, jobs: list[LoadJob], tree: ProcessTree) -> tuple[list[LoadResult], Measured]:
        assert self.db is not None  # noqa: S101
        pid = self.db.postmaster_pid
        probe = Probe(self.counter, tree, ProcessTree(pid) if pid else None)
        self.loop.run(probe.start())
        results = run_together(jobs, self.driver, self.workdir)
        in_flight = sum(job.connections for job in jobs)
        served = sum(result.requests for result in results) + in_flight
        measured = self.loop.run(probe.stop(served))
        time.sleep(SETTLE_SECONDS)
        return results, measured

    def _read_run(self, workload: str, title: str, target: str, job: LoadJob) -> Run:
        server = self.server if target == SERVER else self.baseline
        assert server is not None  # noqa: S101
        if self.config.warmup > 0:
            run_load(replace(job, name=job.name + "-warmup", duration=self.config.warmup),
                     self.driver, self.workdir)  # fmt: skip
        (result,), measured = self._measure([job], server.tree())
        run = Run(workload, title, target, result, measured)
        log.info(
            "%s on %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors",
            workload, target, result.rps, result.latency_ms["p50"], result.latency_ms["p99"],
            result.errors + sum(result.socket_errors.values()),
        )  # fmt: skip
        self.runs.append(run)
        return run

    def w1(self) -> None:
        assert self.server is not None  # noqa: S101
        cookie = self.admin_cookie
        title = "nested read"
        target = self.server.target
        requests = workloads.w1_requests(target, cookie)
        self._read_run("W1", title, SERVER, self._job("w1-server", target, requests))
        if self.baseline is not None:
            base = self.baseline.target
            for label, path in ((ASYNCPG, "/sql/w1"), (STATIC, "/static/w1")):
                requests = workloads.w1_requests(base, cookie, path=path)
                job = self._job("w1" + path.replace("/", "-"), base, requests)
                self._read_run("W1", title, label, job)

    def w2(self) -> None:
        assert self.server is not None  # noqa: S101
        title = "catalog page"
        target = self.server.target
        requests = workloads.w2_requests(target, self.w2_query, self.cursors)
        run = self._read_run("W2", title, SERVER, self._job("w2-server", target, requests))
        self.w2_alone = run.load
        if self.baseline is not None:
            base = self.baseline.target
            for label, path in ((ASYNCPG, "/sql/w2"), (STATIC, "/static/w2")):
                requests = workloads.w2_requests(base, self.w2_query, self.cursors, path=path)
                job = self._job("w2" + path.replace("/", "-"), base, requests)
                self._read_run("W2", title, label, job)

    def w3(self) -> None:
        assert self.server is not None and self.data is not None  # noqa: S101
        assert self.monitor is not None  # noqa: S101
        config, data, target = self.config, self.data, self.server.target
        requests = checkout.checkout_requests(
            target, self.customer_cookies, products=data.products, hot_ids=data.hot_ids,
            hot_share=config.hot_share, seed=config.seed,
        )  # fmt: skip
        before = self.loop.run(checkout.snapshot(self.monitor))
        job = self._job("w3-server", target, requests)
        (result,), measured = self._measure([job], self.server.tree())
        books = self.loop.run(checkout.verify(self.monitor, before, data.hot_ids))
        unexpected = result.errors + sum(result.socket_errors.values())
        books["only_insufficient_stock_errors"] = unexpected == 0
        books["placed_responses"] = result.ok
        books["rejected_responses"] = result.rejected
        # Orders whose response was still in flight when the run ended exist but were not seen.
        books["orders_created_minus_placed_responses"] = books["orders_created"] - result.ok
        extra = {
            "orders_per_s": round(result.ok / result.duration_s, 1),
            "rejections_per_s": round(result.rejected / result.duration_s, 1),
        }
        self.checks["W3"] = {**extra, **books}
        self.runs.append(Run("W3", "checkout rush", SERVER, result, measured, extra))
        log.info(
            "W3: %.1f orders/s, %.1f rejections/s, %d unexpected errors, books balanced: %s",
            extra["orders_per_s"], extra["rejections_per_s"], unexpected, books["balanced"],
        )  # fmt: skip
        if not books["balanced"]:
            self.observations.append(f"W3: the books do not balance: {books}")
        if unexpected:
            self.observations.append(
                f"W3: {unexpected} responses other than orders and INSUFFICIENT_STOCK, e.g. "
                f"{result.error_sample[:300]!r}"
            )

    def w4(self) -> None:
        assert self.server is not None and self.data is not None  # noqa: S101
        target = self.server.target
        w2_requests = workloads.w2_requests(target, self.w2_query, self.cursors)
        if self.w2_alone is None:  # W2 was not run: measure the reference first
            self._read_run(
                "W2", "catalog page", SERVER, self._job("w2-server", target, w2_requests)
            )
            self.w2_alone = self.runs[-1].load
        catalog = self._job("w4-catalog", target, w2_requests)
        logins = self._job(
            "w4-logins", target, workloads.login_requests(target, self.data.customers),
            connections=self.config.login_connections,
        )  # fmt: skip
        (during, storm), measured = self._measure([catalog, logins], self.server.tree())
        # One server, two request streams: the measurements are over both.
        self.runs.append(Run("W4", "catalog during storm", SERVER, during, None))
        self.runs.append(Run("W4", "login storm (+catalog)", SERVER, storm, measured))
        alone = self.w2_alone.latency_ms["p99"]
        self.checks["W4"] = {
            "w2_p99_ms_alone": round(alone, 2),
            "w2_p99_ms_during_storm": round(during.latency_ms["p99"], 2),
            "p99_ratio": round(during.latency_ms["p99"] / alone, 2) if alone else None,
            "w2_rps_alone": round(self.w2_alone.rps, 1),
            "w2_rps_during_storm": round(during.rps, 1),
            "logins_per_s": round(storm.rps, 1),
        }
        log.info(
            "W4: %.1f logins/s; W2 p99 %.1f ms alone, %.1f ms during the storm",
            storm.rps, alone, during.latency_ms["p99"],
        )  # fmt: skip

    # -- the end --------------------------------------------------------------------------

    def close(self) -> None:
        for process in (self.baseline, self.server):
            if process is not None:
                process.stop()
        if self.server is not None:
            self.setup["server_log"] = log_findings(self.server)
        if self.baseline is not None:
            self.setup["baseline_log"] = log_findings(self.baseline)
        if self.monitor is not None:
            self.loop.run(self.monitor.close())
        self.loop.close()
        if self.db is not None:
            self.db.close()

    def document(self) -> dict[str, Any]:
        for run in self.runs:
            split = run.measured.worker_split() if run.measured else []
            if len(split) > 1 and split[0] > IMBALANCED:
                self.observations.append(
                    f"{run.name} on {run.target}: one worker did {split[0]:.0f}% of the "
                    "workers' CPU work (keep-alive connections are not spread over workers)"
                )
            broken = run.load.errors + sum(run.load.socket_errors.values())
            if broken and run.workload != "W3":
                self.observations.append(
                    f"{run.name} on {run.target}: {broken} failed responses, e.g. "
                    f"{run.load.error_sample[:300]!r}"
                )
        for name in ("server_log", "baseline_log"):
            found = self.setup.get(name) or {}
            if found.get("errors") or found.get("warnings"):
                kinds = "; ".join(f"{k['count']}x {k['line']}" for k in found["kinds"][:3])
                self.observations.append(
                    f"{name.replace('_', ' ')}: {found['errors']} error and "
                    f"{found['warnings']} warning lines: {kinds}"
                )
        return {
            "bench": "orderly",
            "date": self.started.isoformat(),
            "git_commit": git_commit(),
            "machine": machine(),
            "parameters": self.config.as_json(),
            "setup": self.setup,
            "runs": [run.as_json() for run in self.runs],
            "ratios": {
                k: {m: round(v, 4) for m, v in r.items()} for k, r in ratios(self.runs).items()
            },
            "checks": self.checks,
            "observations": self.observations,
        }


def run(config: Config) -> int:
    bench = Bench(config)
    failed = False
    try:
        bench.prepare()
        steps = {"W1": bench.w1, "W2": bench.w2, "W3": bench.w3, "W4": bench.w4}
        for workload in config.workloads:
            log.info("running %s", workload)
            steps[workload]()
    except BaseException:
        failed = True
        log.error("the bench failed; logs are kept in %s", bench.workdir)
        raise
    finally:
        bench.close()
        document = bench.document()
        path = write_json(config, bench.started, document)
        print(table(bench.runs))
        print()
        for line in ratio_lines(ratios(bench.runs)):
            print(line)
        for name, check in bench.checks.items():
            print(f"{name}: {orjson.dumps(check).decode()}")
        for note in bench.observations:
            print(f"note: {note}")
        print(f"\nresults: {path}")
        if not failed:
            shutil.rmtree(bench.workdir, ignore_errors=True)
    w3 = bench.checks.get("W3")
    if w3 and not (w3["balanced"] and w3["only_insufficient_stock_errors"]):
        return 1
    return 0
