"""The Prometheus metrics every layer records, and how they are gathered.

With several workers (`server.py serve` with `WORKERS` above 1 and metrics on), each worker
writes its values to files in a shared directory (prometheus-client's multiprocess mode,
chosen by `PROMETHEUS_MULTIPROC_DIR`, which `server.py` sets before the workers start), and
a scrape adds them up over all workers. Counters and histograms of a worker that died stay
counted; its gauges are dropped (`forget_worker`). A single process keeps its values in
memory.

Every label has a bounded set of values: routes are route templates, GraphQL operation names
are folded (`operation_label`), outcomes are error codes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TypeVar

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics import MetricWrapperBase

MULTIPROCESS = values.ValueClass is not values.MutexValue
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_OPERATION_NAMES = 100  # distinct GraphQL operation names per worker; later ones fold
OTHER = "other"
ANONYMOUS = "anonymous"

HTTP_REQUESTS = Counter(
    "orderly_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "orderly_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "orderly_http_requests_in_flight",
    "HTTP requests being answered.",
    multiprocess_mode="livesum",
)
GRAPHQL_OPERATIONS = Counter(
    "orderly_graphql_operations",
    "GraphQL operations by (folded) operation name, type, the path that answered it "
    "(compiled or executor) and outcome (ok, error, unavailable).",
    ["operation", "type", "path", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "orderly_graphql_operation_duration_seconds",
    "Time to answer a GraphQL operation, by type and path.",
    ["type", "path"],
    buckets=LATENCY_BUCKETS,
)
COMPILED_FALLBACKS = Counter(
    "orderly_graphql_compiled_fallbacks",
    "Query operations the compiled read path handed to the standard executor, by reason.",
    ["reason"],
)
DB_POOL_IN_USE = Gauge(
    "orderly_db_pool_connections_in_use",
    "Pooled database connections checked out.",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "orderly_db_pool_waiting",
    "Requests waiting for a pooled database connection.",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_TIMEOUTS = Counter(
    "orderly_db_pool_timeouts",
    "Waits for a pooled connection that ran out of time (each answered 503).",
    ["pool"],
)
DB_SLOW_QUERIES = Counter(
    "orderly_db_slow_queries", "Statements slower than SLOW_QUERY_MS.", ["operation"]
)
CHECKOUTS = Counter(
    "orderly_checkouts",
    "Checkout attempts by outcome: placed, replayed (idempotency key), or the error code "
    "(insufficient_stock, ...).",
    ["outcome"],
)
LOGINS = Counter(
    "orderly_logins",
    "Sign-in attempts by outcome: ok, or the error code (invalid_credentials, "
    "rate_limited for a throttle refusal, ...).",
    ["outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "orderly_webhook_deliveries",
    "Webhook delivery attempts by outcome: succeeded, pending (to be retried), failed (given up).",
    ["outcome"],
)
LIVE_CONNECTIONS = Gauge(
    "orderly_live_connections",
    "Open WebSocket connections for GraphQL subscriptions.",
    multiprocess_mode="livesum",
)
LIVE_SUBSCRIPTIONS = Gauge(
    "orderly_graphql_subscriptions",
    "Active GraphQL subscriptions (orderUpdated) over all connections.",
    multiprocess_mode="livesum",
)
WORKER_RESIDENT_MEMORY = Gauge(
    "orderly_process_resident_memory_bytes",
    "Resident memory of each worker.",
    multiprocess_mode="liveall",
)
WORKER_CPU = Gauge(
    "orderly_process_cpu_seconds",
    "CPU time used by each worker since it started.",
    multiprocess_mode="liveall",
)
WORKER_OPEN_FDS = Gauge(
    "orderly_process_open_fds", "Open file descriptors of each worker.", multiprocess_mode="liveall"
)
WORKER_START = Gauge(
    "orderly_process_start_time_seconds",
    "When each worker started (Unix time).",
    multiprocess_mode="liveall",
)

Metric = TypeVar("Metric", bound=MetricWrapperBase)
_children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}


def labelled(metric: Metric, *values: str) -> Metric:
    """`metric.labels(*values)`, found once per set of values: prometheus-client checks the
    values and takes a lock on every `labels` call, and the hot paths (each request, each
    pooled connection) record with the same few values again and again."""
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child  # type: ignore[return-value]  # the child of a Metric is a Metric


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class OperationNames:
    """The GraphQL operation names a worker keeps as label values: the first `limit` valid
    names it sees, "anonymous" when there is none, and "other" for anything else (so no
    client can grow the label set)."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._kept: set[str] = set()

    def label(self, name: object) -> str:
        if name is None or name == "":
            return ANONYMOUS
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            return OTHER
        if name in self._kept:
            return name
        if len(self._kept) >= self.limit:
            return OTHER
        self._kept.add(name)
        return name


operation_label = OperationNames().label


def outcome_label(error: BaseException | None) -> str:
    """`ok`, or the lower-cased code of an expected error, or `error`."""
    if error is None:
        return "ok"
    code = getattr(error, "code", None)
    value = getattr(code, "value", None)
    return value.lower() if isinstance(value, str) else "error"


_self = ProcessCollector(registry=None)


def sample_process() -> None:
    """Copy this worker's CPU, memory, descriptors and start time into its gauges."""
    for family in _self.collect():
        for sample in family.samples:
            gauge = {
                "process_resident_memory_bytes": WORKER_RESIDENT_MEMORY,
                "process_cpu_seconds_total": WORKER_CPU,
                "process_open_fds": WORKER_OPEN_FDS,
                "process_start_time_seconds": WORKER_START,
            }.get(sample.name)
            if gauge is not None:
                gauge.set(sample.value)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: every worker's, added up, in multiprocess
    mode; this process's otherwise (its own process_* metrics included)."""
    if MULTIPROCESS:
        sample_process()
        return generate_latest(gathering_registry(None))
    sample_process()
    return generate_latest(REGISTRY)


def gathering_registry(path: str | None) -> CollectorRegistry:
    """A registry that reads every worker's files (in `path`, or the environment's)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return registry


def prepare_directory(path: Path) -> None:
    """An empty directory for the workers' files: values left by an earlier run would be
    added to this one's."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)


def forget_worker(pid: int, path: str) -> None:
    """A worker died: its live gauges (in use, waiting, process) no longer count."""
    multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
