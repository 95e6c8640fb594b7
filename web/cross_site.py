"""Cross-site request protection for every route that reads the session cookies.

- a request whose `Origin` is present and not one of the configured allowed origins (in
  development, by default, the server's own): 403, whatever its method or path (see
  `web.origins`);
- a request with a body (a POST, PUT, PATCH or DELETE) must carry
  `Content-Type: application/json`: 415. A browser cannot send that cross-site without a
  CORS preflight, which is granted to the allowed origins only. A POST without a body
  (logout, refresh) needs no Content-Type, but one that names another media type (an
  HTML form always does) is still refused.

A request that no route takes (an unknown path, a method the path does not have) runs
nothing: only the origin check applies, and the router answers 404 or 405 with `Allow`.
Mutations over GET are refused by the GraphQL endpoint itself (405).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from web.origins import AllowedOrigins, request_origin
from web.problems import problem_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CrossSiteMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Iterable[str],
        protected_prefixes: Iterable[str],
        routes: Sequence[BaseRoute] = (),
    ) -> None:
        self.app = app
        self.allowed = AllowedOrigins(allowed_origins)
        self.prefixes = tuple(protected_prefixes)
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        origin = request_origin(scope)
        if origin is not None and origin not in self.allowed:
            response = problem_response(
                403, "FORBIDDEN", "Requests from this origin are not allowed."
            )
            await response(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if _refused_media_type(scope["method"], headers) and self._routed(scope):
            response = problem_response(
                415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as application/json."
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        """Whether a route takes this request (every request, when no routes were given)."""
        if not self.routes:
            return True
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes)


def _refused_media_type(method: str, headers: dict[str, str]) -> bool:
    if method not in _BODY_METHODS:
        return False
    media_type = _media_type(headers.get("content-type"))
    if media_type == "application/json":
        return False
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    return has_body or (method == "POST" and media_type != "")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()
