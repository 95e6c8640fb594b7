"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from web.state import AppState

log = logging.getLogger("orderly.health")
READINESS_DEADLINE = 1.0


async def healthz(request: Request) -> JSONResponse:
    """The process is alive; touches no database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers within the deadline, 503 when it does not or the process
    is stopping. The check has a connection of its own: a busy request pool is still ready."""
    state: AppState = request.app.state.orderly
    if state.shutting_down:
        return JSONResponse({"status": "shutting down"}, status_code=503)
    try:
        async with asyncio.timeout(READINESS_DEADLINE), state.probe.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"
        log.warning("readiness check failed: %s", error.__class__.__name__)
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})
