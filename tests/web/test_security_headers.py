"""Response headers: nosniff and no referrer everywhere, no caching of session-bound
responses, and HTML pages that load only what they need and cannot be framed."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from server import create_app
from settings import Settings, load_settings
from tests.helpers import BASE_URL, register

HTML = {"Accept": "text/html"}


def _assert_baseline(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.headers
    assert response.headers["referrer-policy"] == "no-referrer", response.headers


async def test_every_response_carries_nosniff_and_no_referrer(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/no/such/page"),
        await client.get("/openapi.json"),
        await client.post("/graphql", json={"query": "{ me { id } }"}),
        await client.post("/graphql", content=b"{}", headers={"Content-Type": "text/plain"}),
        await client.get("/api/products", params={"limit": "100000"}),
    ):
        _assert_baseline(response)


async def test_graphql_and_api_responses_are_never_stored(client: httpx.AsyncClient) -> None:
    user = await register(client, "cache@example.com")
    assert user["email"] == "cache@example.com"
    signed_in = await client.post("/api/auth/login", json={
        "email": "cache@example.com", "password": "correct horse battery staple",
    })  # fmt: skip
    assert signed_in.status_code == 200
    assert "set-cookie" in signed_in.headers
    responses = [
        signed_in,
        await client.post("/graphql", json={"query": "{ me { email } }"}),
        await client.get("/graphql", params={"query": "{ me { email } }"}),
        await client.get("/api/users/me"),
        await client.get("/api/products"),
        await client.get("/api/products", params={"cursor": "not-a-cursor"}),  # an error
        await client.post("/api/auth/logout"),
        await client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"Origin": "https://evil.example"}
        ),
    ]
    for response in responses:
        assert response.headers["cache-control"] == "no-store", (response, response.headers)
        _assert_baseline(response)
    assert "cache-control" not in (await client.get("/healthz")).headers


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


def _assert_locked_page(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    _assert_baseline(response)
    policy = _policy(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["object-src"] == policy["base-uri"] == policy["form-action"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    sources = [source for values in policy.values() for source in values]
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:", "data:"):
        assert loose not in policy["script-src"] + policy["style-src"], policy
    assert all(source in ("'self'", "data:", "'none'") for source in sources), policy
    return policy


async def test_graphiql_loads_only_from_this_server(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers=HTML)
    policy = _assert_locked_page(response)
    assert policy["script-src"] == policy["style-src"] == ["'self'"]
    assert "https://" not in response.text and "http://" not in response.text
    assert "<style" not in response.text
    assert not re.search(r"<script>", response.text)  # no inline script
    assert "cache-control" in response.headers  # under /graphql, like every GraphQL answer


async def test_swagger_ui_loads_only_from_this_server(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    policy = _assert_locked_page(response)
    assert policy["script-src"] == policy["style-src"] == ["'self'"]
    assert not re.search(r"<script>", response.text)  # no inline script
    for path in ("/docs/assets/swagger-ui-bundle.js", "/docs/start.js"):
        asset = await client.get(path)
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
        _assert_baseline(asset)


async def test_api_docs_can_be_turned_off(settings: Settings, database_url: str) -> None:
    app = create_app(replace(settings, api_docs=False), database_url=database_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/api/products")).status_code == 200
    await app.state.orderly.close()


@pytest.mark.parametrize(("env", "expected"), [("development", True), ("production", False)])
def test_api_docs_are_on_in_development_only(env: str, expected: bool) -> None:
    environ = {
        "ORDERLY_ENV": env,
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://orderly@db/orderly",
    }
    assert load_settings(environ).api_docs is expected
    assert load_settings({**environ, "API_DOCS": str(not expected)}).api_docs is not expected
