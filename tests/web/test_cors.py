"""CORS: a frontend on an allowed origin may call the API with its cookies; any other origin
gets no CORS header and stays refused, preflights included, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import BASE_URL, PASSWORD, count
from web.state import AppState

FRONTEND = "http://localhost:5173"
FOREIGN = ("https://evil.example", "http://localhost:51730", "http://localhost:5173.evil.example",
           "https://localhost:5173", "null")  # fmt: skip
# A frontend origin allowed besides the server's own.
pytestmark = pytest.mark.settings(allowed_origins=(BASE_URL, FRONTEND))
PREFLIGHT_PATHS = ("/graphql", "/api/orders", "/api/products/UHJvZHVjdDox", "/api/auth/logout")


def _vary(response: httpx.Response) -> set[str]:
    return _listed(response, "vary")


def _listed(response: httpx.Response, name: str) -> set[str]:
    return {v.strip().lower() for v in response.headers.get(name, "").split(",") if v.strip()}


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def _assert_granted(response: httpx.Response, origin: str = FRONTEND) -> None:
    assert response.headers["access-control-allow-origin"] == origin, response.headers
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in _vary(response)


@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
async def test_a_preflight_from_an_allowed_origin_names_the_methods_and_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.options(path, headers={
        "Origin": FRONTEND,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key, x-request-id",
    })  # fmt: skip
    assert response.status_code == 204, response.text
    _assert_granted(response)
    methods = _listed(response, "access-control-allow-methods")
    assert methods == {"get", "post", "put", "patch", "delete"}
    headers = _listed(response, "access-control-allow-headers")
    assert headers == {"content-type", "idempotency-key", "x-request-id"}
    assert int(response.headers["access-control-max-age"]) > 0
    assert response.content == b""


async def test_a_signed_in_frontend_reads_and_writes_with_its_cookies(
    client: httpx.AsyncClient, state: AppState
) -> None:
    origin = {"Origin": FRONTEND}
    registered = await client.post(
        "/api/auth/register",
        json={"email": "front@example.com", "password": PASSWORD, "name": "Front"},
        headers=origin,
    )
    assert registered.status_code == 201, registered.text
    _assert_granted(registered)
    assert "set-cookie" in registered.headers
    me = await client.post("/graphql", json={"query": "{ me { email } }"}, headers=origin)
    _assert_granted(me)
    assert me.json()["data"]["me"]["email"] == "front@example.com"
    exposed = _listed(me, "access-control-expose-headers")
    assert {"location", "retry-after", "x-request-id"} <= exposed
    # errors carry the grant too, so the frontend can read why
    refused = await client.post("/api/auth/login", content=b"x=1", headers={
        **origin, "Content-Type": "application/x-www-form-urlencoded",
    })  # fmt: skip
    assert refused.status_code == 415
    _assert_granted(refused)
    assert await count(state, "users") == 1


@pytest.mark.parametrize("origin", FOREIGN)
@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
async def test_a_preflight_from_any_other_origin_is_403_without_cors_headers(
    client: httpx.AsyncClient, origin: str, path: str
) -> None:
    response = await client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    })  # fmt: skip
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert _cors_headers(response) == {}


@pytest.mark.parametrize("origin", FOREIGN)
async def test_a_request_from_any_other_origin_is_403_and_writes_nothing(
    client: httpx.AsyncClient, state: AppState, origin: str
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "evil@example.com", "password": PASSWORD, "name": "Evil"},
        headers={"Origin": origin},
    )
    assert response.status_code == 403
    assert _cors_headers(response) == {}
    assert "set-cookie" not in response.headers
    assert await count(state, "users") == 0
    assert await count(state, "login_sessions") == 0


async def test_requests_without_an_origin_get_no_grant_but_vary_on_it(
    client: httpx.AsyncClient,
) -> None:
    for response in (
        await client.get("/api/products"),
        await client.post("/graphql", json={"query": "{ me { id } }"}),
    ):
        assert response.status_code == 200
        assert _cors_headers(response) == {}
        assert "origin" in _vary(response)


async def test_routes_outside_the_api_get_no_cors(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz", headers={"Origin": FRONTEND})
    assert health.status_code == 200
    assert _cors_headers(health) == {}
    preflight = await client.options(
        "/healthz", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 405
    assert _cors_headers(preflight) == {}


async def test_an_options_request_that_is_no_preflight_is_405_with_allow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/api/products", headers={"Origin": FRONTEND})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    _assert_granted(response)
