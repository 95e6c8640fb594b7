"""Helpers for talking to the API through HTTP in tests."""

from __future__ import annotations

import os
from typing import Any

import httpx
from sqlalchemy import text

from web.state import AppState

BASE_URL = "http://127.0.0.1:8000"
PASSWORD = "correct horse battery staple"


def measured() -> dict[str, str]:
    """The environment that tells a subprocess to measure coverage when this run does."""
    return {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """POST a GraphQL document and return the decoded JSON body."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, **kwargs
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { user { id email name role } userErrors { code message field } }
}
"""

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { user { id email name role } userErrors { code message field } }
}
"""


async def register(
    client: httpx.AsyncClient, email: str, *, name: str = "Test User", password: str = PASSWORD
) -> dict[str, Any]:
    """Register (which signs the client in) and return the payload's user."""
    body = await gql(
        client, REGISTER, {"input": {"email": email, "name": name, "password": password}}
    )
    payload = body["data"]["register"]
    assert payload["userErrors"] == [], payload
    user: dict[str, Any] = payload["user"]
    return user


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    body = await gql(client, LOGIN, {"input": {"email": email, "password": password}})
    payload: dict[str, Any] = body["data"]["login"]
    return payload


async def make_admin(state: AppState, email: str) -> None:
    """Promote a user directly in the database (as `server.py create-admin` would)."""
    async with state.sessions.begin() as db:
        await db.execute(
            text("UPDATE users SET role = 'ADMIN' WHERE lower(email) = lower(:email)"),
            {"email": email},
        )


async def register_admin(client: httpx.AsyncClient, state: AppState, email: str) -> dict[str, Any]:
    """A signed-in admin on `client` (registered, promoted, then signed in again)."""
    user = await register(client, email, name="Admin")
    await make_admin(state, email)
    payload = await login(client, email)
    assert payload["userErrors"] == [], payload
    return user


async def count(state: AppState, table: str, where: str = "TRUE") -> int:
    async with state.sessions() as db:
        return int(await db.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}")) or 0)


def new_client(app: Any) -> httpx.AsyncClient:
    """Another HTTP client of `app`, with a cookie jar of its own."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def sql_scalar(state: AppState, statement: str, **params: Any) -> Any:
    async with state.sessions() as db:
        return await db.scalar(text(statement), params)


async def sql_rows(state: AppState, statement: str, **params: Any) -> list[Any]:
    async with state.sessions() as db:
        return list(await db.execute(text(statement), params))


async def sql_execute(state: AppState, statement: str, **params: Any) -> None:
    async with state.sessions.begin() as db:
        await db.execute(text(statement), params)


async def data(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The `data` of a request that must not fail at the request level."""
    body = await gql(http, query, variables)
    assert "errors" not in body, body
    return body["data"]


async def error_code(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> str:
    """The `extensions.code` of a request that must fail at the request level."""
    body = await gql(http, query, variables)
    assert body.get("errors"), body
    codes: set[str] = {error["extensions"]["code"] for error in body["errors"]}
    assert len(codes) == 1, body
    return codes.pop()
