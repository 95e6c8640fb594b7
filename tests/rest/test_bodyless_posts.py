"""POSTs that carry no body (logout, logout-all, refresh) need no Content-Type, as generated
clients and Swagger UI send them; the cross-site rules still hold for them."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import live_sessions, register
from web.state import AppState

EMAIL = "bodyless@example.com"
BODYLESS = {"/api/auth/logout": 204, "/api/auth/logout-all": 204, "/api/auth/refresh": 200}


def _bare_post(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Request:
    request = client.build_request("POST", path, headers=headers)
    assert request.headers.get("content-type") == headers.get("Content-Type")
    assert request.content == b""
    return request


@pytest.mark.parametrize(("path", "status"), sorted(BODYLESS.items()))
async def test_a_bodyless_post_without_content_type_runs(
    client: httpx.AsyncClient, state: AppState, path: str, status: int
) -> None:
    await register(client, EMAIL)
    response = await client.send(_bare_post(client, path))
    assert response.status_code == status, response.text
    ended = path != "/api/auth/refresh"
    assert await live_sessions(state, EMAIL) == (0 if ended else 1)


@pytest.mark.parametrize("path", sorted(BODYLESS))
@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_a_bodyless_post_from_a_foreign_origin_is_403_and_changes_nothing(
    client: httpx.AsyncClient, state: AppState, path: str, origin: str
) -> None:
    await register(client, EMAIL)
    tokens = dict(client.cookies)
    response = await client.send(_bare_post(client, path, Origin=origin))
    assert response.status_code == 403, response.text
    assert "set-cookie" not in response.headers
    assert await live_sessions(state, EMAIL) == 1
    assert dict(client.cookies) == tokens
    assert (await client.get("/api/users/me")).status_code == 200


@pytest.mark.parametrize("path", sorted(BODYLESS))
@pytest.mark.parametrize(
    "media_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
)
async def test_a_bodyless_post_that_names_another_media_type_is_415(
    client: httpx.AsyncClient, state: AppState, path: str, media_type: str
) -> None:
    """What an HTML form without fields sends: the type is refused even with no body."""
    await register(client, EMAIL)
    response = await client.send(_bare_post(client, path, **{"Content-Type": media_type}))
    assert response.status_code == 415, response.text
    assert await live_sessions(state, EMAIL) == 1


async def test_a_post_with_a_body_still_needs_json(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, EMAIL)
    request = client.build_request("POST", "/api/auth/logout-all", content=b"{}")
    assert "content-type" not in request.headers
    response = await client.send(request)
    assert response.status_code == 415
    assert await live_sessions(state, EMAIL) == 1
    with_json = await client.post("/api/auth/logout-all", json={})
    assert with_json.status_code == 204
    assert await live_sessions(state, EMAIL) == 0
