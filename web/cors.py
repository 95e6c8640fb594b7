"""CORS for the allowed origins on the cookie-reading routes (`/graphql`, `/api`).

A request from an origin in `ALLOWED_ORIGINS` gets its exact origin back in
`Access-Control-Allow-Origin`, with `Access-Control-Allow-Credentials: true` (the session
travels in cookies) and the headers a frontend may read. Its preflight (`OPTIONS` with
`Access-Control-Request-Method`) is answered here, 204, naming the methods and request
headers the API uses. Every response on these routes carries `Vary: Origin`, so no cache
hands one origin's answer to another.

Any other origin gets nothing from this module: its requests and preflights go on to the
cross-site check, which refuses them (403).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.origins import AllowedOrigins, request_origin

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Content-Type", "Idempotency-Key", "X-Request-ID")
# What a frontend's script may read besides the CORS-safelisted response headers.
EXPOSED_HEADERS = ("Location", "Retry-After", "X-Request-ID")
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


class CorsMiddleware:
    def __init__(
        self, app: ASGIApp, *, allowed_origins: Iterable[str], prefixes: Iterable[str]
    ) -> None:
        self.app = app
        self.allowed = AllowedOrigins(allowed_origins)
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        origin = request_origin(scope)
        allowed = origin is not None and origin in self.allowed
        if allowed and _is_preflight(scope):
            await _preflight(origin or "")(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                if allowed:
                    _grant(headers, origin or "")
                    headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and any(
        key == b"access-control-request-method" for key, _ in scope["headers"]
    )


def _preflight(origin: str) -> Response:
    response = Response(status_code=204)
    _grant(response.headers, origin)
    response.headers["Access-Control-Allow-Methods"] = ", ".join(ALLOWED_METHODS)
    response.headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_HEADERS)
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    response.headers.add_vary_header("Origin")
    return response


def _grant(headers: MutableHeaders, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
