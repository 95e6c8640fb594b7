"""Cross-site request protection for every route that reads the session cookies.

- a POST must carry `Content-Type: application/json` (a browser cannot send that cross-site
  without a CORS preflight, which this server never grants), and so must a PUT, PATCH or
  DELETE that has a body: 415;
- a request whose `Origin` is present and not one of the configured allowed origins (in
  development, by default, the server's own): 403. The origin is compared, scheme and port
  included, with configuration only, never with the request's own `Host`, which whoever
  sends the request controls (a DNS-rebinding page sends a matching pair).

Mutations over GET are refused by the GraphQL endpoint itself (405).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from web.problems import problem_response

_BODY_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


class CrossSiteMiddleware:
    def __init__(
        self, app: ASGIApp, *, allowed_origins: Iterable[str], protected_prefixes: Iterable[str]
    ) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed_origins)
        self.prefixes = tuple(protected_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self.allowed:
            response = problem_response(
                403, "FORBIDDEN", "Requests from this origin are not allowed."
            )
            await response(scope, receive, send)
            return
        if (
            _needs_json(scope["method"], headers)
            and _media_type(headers.get("content-type")) != "application/json"
        ):
            response = problem_response(
                415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json."
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _needs_json(method: str, headers: dict[str, str]) -> bool:
    if method == "POST":
        return True
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    return method in _BODY_METHODS and has_body


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()
