"""The session cookies: names, attributes, setting and clearing."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from auth.tokens import IssuedTokens
from settings import Settings


def access_cookie_name(settings: Settings) -> str:
    return "__Host-orderly_access" if settings.cookie_secure else "orderly_access"


def refresh_cookie_name(settings: Settings) -> str:
    return "__Host-orderly_refresh" if settings.cookie_secure else "orderly_refresh"


def read_access_cookie(request: HTTPConnection, settings: Settings) -> str | None:
    return request.cookies.get(access_cookie_name(settings)) or None


def read_refresh_cookie(request: HTTPConnection, settings: Settings) -> str | None:
    return request.cookies.get(refresh_cookie_name(settings)) or None


def set_session_cookies(response: Response, settings: Settings, tokens: IssuedTokens) -> None:
    """HttpOnly, SameSite=Lax, Path=/ cookies; Secure with the __Host- prefix when configured."""
    for name, value, max_age in (
        (access_cookie_name(settings), tokens.access_token, settings.access_token_ttl),
        (refresh_cookie_name(settings), tokens.refresh_token, settings.refresh_token_ttl),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="lax",
        )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    for name in (access_cookie_name(settings), refresh_cookie_name(settings)):
        response.delete_cookie(
            name, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
        )
