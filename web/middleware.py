"""Pure ASGI middleware: request ids with access logging, the request body limit, and the
refusal of encoded (compressed) request bodies."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.metrics import HTTP_IN_FLIGHT
from telemetry.slow import request_finished
from web.logs import request_id_var
from web.metrics import observe_request, route_label
from web.problems import problem_response

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
access_log = logging.getLogger("orderly.access")


class RequestIdMiddleware:
    """Adopt a well-formed incoming `X-Request-ID` (or make one), echo it, log the request."""

    def __init__(self, app: ASGIApp, slow_request_ms: int = 0) -> None:
        self.app = app
        self.slow_request = slow_request_ms / 1000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            observe_request(scope, status, elapsed)
            request_finished(
                scope["method"], route_label(scope), status, elapsed, self.slow_request
            )
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                extra={
                    "fields": {"method": scope["method"], "path": scope["path"], "status": status}
                },
            )
            request_id_var.reset(token)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies above `max_bytes` with 413, declared or streamed, and bodies
    with a Content-Encoding with 415."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (
            not declared.isdigit() or len(declared) > 18 or int(declared) > self.max_bytes
        ):
            await self._refuse(scope, receive, send)
            return
        coding = _header(scope, b"content-encoding")
        if coding is not None and coding.strip().lower() not in ("", "identity"):
            # Nothing here decompresses: an encoded body could only be misread.
            response = problem_response(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Encoding is not supported; send the request body uncompressed.",
                headers={"Accept-Encoding": "identity"},
            )
            await response(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "PAYLOAD_TOO_LARGE",
            f"The request body is larger than {self.max_bytes} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
