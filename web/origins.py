"""Which `Origin`s may send cookie-bearing requests: exactly those configured.

One comparison for the cross-site check and for CORS: scheme, host and port, case-insensitive,
a trailing slash ignored. The request's own `Host` never counts (whoever sends the request
controls it; a DNS-rebinding page sends a matching pair).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope


class AllowedOrigins:
    def __init__(self, origins: Iterable[str]) -> None:
        self._allowed = frozenset(_normal(origin) for origin in origins)

    def __contains__(self, origin: object) -> bool:
        return isinstance(origin, str) and _normal(origin) in self._allowed


def request_origin(scope: Scope) -> str | None:
    """The request's `Origin` header, as sent, or None."""
    for key, value in scope["headers"]:
        if key == b"origin":
            return str(value.decode("latin-1"))
    return None


def _normal(origin: str) -> str:
    return origin.rstrip("/").lower()
