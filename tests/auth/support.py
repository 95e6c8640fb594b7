"""Helpers shared by the accounts tests: cookies, probes with chosen cookies, SQL checks."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tests.helpers import sql_scalar
from web.state import AppState

ACCESS = "orderly_access"
REFRESH = "orderly_refresh"
SECURE_ACCESS = "__Host-orderly_access"
SECURE_REFRESH = "__Host-orderly_refresh"

ME = "{ me { id email name role } }"
LOGOUT = "mutation { logout { ok } }"
LOGOUT_ALL = "mutation { logoutAll { ok } }"
REFRESH_SESSION = """
mutation { refreshSession { user { id email name role } userErrors { code message field } } }
"""
CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { id email role } userErrors { code message field } }
}
"""
SET_USER_ROLE = """
mutation($id: ID!, $role: Role!) {
  setUserRole(id: $id, role: $role) { user { id email role } userErrors { code message field } }
}
"""


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One parsed `Set-Cookie` header; attribute names are lower-cased."""

    name: str
    value: str
    attributes: dict[str, str | bool]

    def attribute(self, name: str) -> str | bool | None:
        return self.attributes.get(name.lower())


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    """Every cookie a response sets, by name."""
    result: dict[str, SetCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        parsed: dict[str, str | bool] = {}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.strip().lower()] = attribute_value.strip() if has_value else True
        assert name not in result, f"cookie {name} set twice"
        result[name] = SetCookie(name, value, parsed)
    return result


def cookie_header(cookies: Mapping[str, str]) -> dict[str, str]:
    """A `Cookie` header with exactly these cookies (it overrides the client's jar)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    cookies: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a GraphQL document as JSON; with `cookies`, send exactly those cookies."""
    all_headers = dict(headers or {})
    if cookies is not None:
        all_headers.update(cookie_header(cookies))
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )


async def call(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    cookies: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Like `post`, expecting 200, returning the decoded body."""
    response = await post(client, query, variables, cookies=cookies)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: Mapping[str, Any]) -> list[str]:
    """The `extensions.code` of every request-level error, in order."""
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def me_with(client: httpx.AsyncClient, access: str, name: str = ACCESS) -> Any:
    """`me` as seen with only this access cookie."""
    body = await call(client, ME, cookies={name: access})
    assert "errors" not in body, body
    return body["data"]["me"]


async def assert_access_refused(client: httpx.AsyncClient, access: str, name: str = ACCESS) -> None:
    """The access token is not a session: `me` is null and `@authenticated` is refused."""
    assert await me_with(client, access, name) is None
    body = await call(client, LOGOUT_ALL, cookies={name: access})
    assert body["data"] is None, body
    assert error_codes(body) == ["UNAUTHENTICATED"], body


async def assert_refresh_refused(client: httpx.AsyncClient, refresh: str) -> None:
    """`refreshSession` with only this refresh cookie is UNAUTHENTICATED and sets nothing."""
    response = await post(client, REFRESH_SESSION, cookies={REFRESH: refresh})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert set_cookies(response) == {}


def jar(client: httpx.AsyncClient, name: str) -> str:
    """The value of a cookie in the client's jar (it must be there)."""
    value = client.cookies.get(name)
    assert value, f"no {name} cookie in the jar"
    return value


def refresh_hash(token: str) -> bytes:
    """How a refresh token is stored (computed here independently of the app)."""
    return hashlib.sha256(token.encode()).digest()


async def user_id(state: AppState, email: str) -> int:
    found = await sql_scalar(state, "SELECT id FROM users WHERE lower(email) = lower(:e)", e=email)
    assert isinstance(found, int), f"no user {email}"
    return found


async def live_sessions(state: AppState, email: str) -> int:
    """How many unrevoked login sessions the user has."""
    return int(
        await sql_scalar(
            state,
            "SELECT count(*) FROM login_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE lower(u.email) = lower(:e) AND s.revoked_at IS NULL",
            e=email,
        )
    )
