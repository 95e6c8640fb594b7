"""A method a path does not have is 405 with `Allow`, before any other check, and runs
nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import count, register_admin
from web.state import AppState

UNDECLARED = [
    ("POST", "/api/products/UHJvZHVjdDox", "DELETE, GET, HEAD, PATCH"),
    ("PUT", "/api/products", "GET, HEAD, POST"),
    ("POST", "/api/users/me", "GET, HEAD"),
    ("DELETE", "/api/orders/T3JkZXI6MQ/cancel", "POST"),
    ("GET", "/api/auth/logout", "POST"),
    ("PUT", "/graphql", "GET, HEAD, POST"),
    ("DELETE", "/graphql", "GET, HEAD, POST"),
]


@pytest.mark.parametrize(("method", "path", "allow"), UNDECLARED)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
async def test_an_undeclared_method_is_405_with_allow(
    client: httpx.AsyncClient,
    state: AppState,
    method: str,
    path: str,
    allow: str,
    content_type: str | None,
) -> None:
    await register_admin(client, state, "admin@example.com")
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"name": "Made by a stray method", "price": "1.00"}'
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert await count(state, "products") == 0


async def test_a_foreign_origin_is_still_403_on_an_undeclared_method(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/users/me", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_head_is_answered_like_get(client: httpx.AsyncClient) -> None:
    for path in ("/api/products", "/api/products/UHJvZHVjdDox"):
        get, head = await client.get(path), await client.head(path)
        assert head.status_code == get.status_code, head.text
        assert head.headers["content-type"] == get.headers["content-type"]
