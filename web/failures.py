"""Failures no handler answered: `503` when the database is unavailable, `500` otherwise.

Either way the client gets a problem document (never a plain-text page or a dropped
connection) and the log gets one line with the request id.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.failures import is_unavailable
from web.problems import problem_response

log = logging.getLogger("orderly.failures")
RETRY_AFTER_SECONDS = 1
UNAVAILABLE = "UNAVAILABLE"
UNAVAILABLE_DETAIL = "The service is temporarily unavailable; retry shortly."


def log_unavailable(error: BaseException) -> None:
    log.warning("database unavailable: %s: %s", type(error).__name__, str(error)[:200])


class FailureMiddleware:
    """Answers any exception that escapes the application before a response started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise
            if is_unavailable(error):
                log_unavailable(error)
                response = problem_response(
                    503,
                    UNAVAILABLE,
                    UNAVAILABLE_DETAIL,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            else:
                log.exception("unexpected error")
                response = problem_response(
                    500, "INTERNAL_SERVER_ERROR", "The server could not complete the request."
                )
            await response(scope, receive, send)
