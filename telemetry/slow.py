"""Slow-operation logs: requests over SLOW_REQUEST_MS and statements over SLOW_QUERY_MS.

Each line names the operation being served (a GraphQL operation's folded name, or a REST
route's method and template, set by the API layers in `operation_var`); the log handler adds
the request id. A statement is logged without its values: they are the clients' data.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from telemetry.metrics import DB_SLOW_QUERIES

log = logging.getLogger("orderly.slow")
operation_var: ContextVar[str] = ContextVar("operation", default="-")
MAX_STATEMENT_CHARS = 1000


def statement_finished(statement: str, seconds: float, threshold: float) -> None:
    """Log and count a statement that took `seconds`, if that is `threshold` or more."""
    if not threshold or seconds < threshold:
        return
    operation = operation_var.get()
    DB_SLOW_QUERIES.labels(operation).inc()
    text = " ".join(statement.split())
    if len(text) > MAX_STATEMENT_CHARS:
        text = text[:MAX_STATEMENT_CHARS] + "..."
    log.warning(
        "slow query %.1fms (%s): %s",
        seconds * 1000,
        operation,
        text,
        extra={"fields": {"duration_ms": round(seconds * 1000, 1), "operation": operation}},
    )


def request_finished(
    method: str, route: str, status: int, seconds: float, threshold: float
) -> None:
    """Log a request that took `seconds`, if that is `threshold` or more."""
    if not threshold or seconds < threshold:
        return
    operation = operation_var.get()
    log.warning(
        "slow request %s %s %d %.1fms (%s)",
        method,
        route,
        status,
        seconds * 1000,
        operation,
        extra={
            "fields": {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "operation": operation,
            }
        },
    )
