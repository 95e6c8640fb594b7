"""`/metrics` for Prometheus, and what HTTP itself records.

The exposition is served either on a port of its own (`METRICS_PORT`, by the main process,
see `server.py`) or on the API's port at `/metrics` for a scraper that sends
`Authorization: Bearer METRICS_TOKEN`. Without a token the API's port has no `/metrics`.
"""

from __future__ import annotations

import asyncio
import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from telemetry.metrics import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    exposition,
    labelled,
    sample_process,
)
from web.problems import problem_response
from web.state import AppState

UNMATCHED = "unmatched"
SAMPLE_INTERVAL = 10.0


def route_label(scope: Scope) -> str:
    """The template of the route that answered (`/api/orders/{id:order_id}`), never the
    path a client sent; `unmatched` when no route did."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    route, method = route_label(scope), scope["method"]
    labelled(HTTP_REQUESTS, route, method, str(status)).inc()
    labelled(HTTP_DURATION, route, method).observe(seconds)


async def metrics(request: Request) -> Response:
    """The metrics of every worker of this host, for a caller holding METRICS_TOKEN."""
    state: AppState = request.app.state.orderly
    token = state.settings.metrics_token
    supplied = request.headers.get("authorization", "")
    if not token or not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        return problem_response(
            401,
            "UNAUTHENTICATED",
            "Send Authorization: Bearer with the metrics token.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


async def sample_process_regularly() -> None:
    """Keep this worker's process metrics (CPU, memory, descriptors) current."""
    while True:
        sample_process()
        await asyncio.sleep(SAMPLE_INTERVAL)
