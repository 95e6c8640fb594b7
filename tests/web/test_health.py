"""Health probes, request ids and the body limit, through HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from server import create_app
from settings import Settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    app = create_app(settings, database_url="postgresql://nobody@127.0.0.1:9/none")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        healthz = await http.get("/healthz")
        readyz = await http.get("/readyz")
    assert healthz.status_code == 200
    assert readyz.status_code == 503


async def test_healthz_touches_no_database(settings: Settings) -> None:
    app = create_app(settings, database_url="postgresql://nobody@127.0.0.1:9/none")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_a_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123_X.y"})
    assert response.headers["x-request-id"] == "abc-123_X.y"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 129, "semi;colon", "ünï"])
async def test_an_invalid_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/healthz", headers=[(b"X-Request-ID", bad.encode())])
    generated = response.headers["x-request-id"]
    assert generated != bad
    assert 1 <= len(generated) <= 128


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/nowhere"):
        assert (await client.get(path)).headers["x-request-id"]


async def test_declared_oversized_body_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = b"{" + b" " * settings.max_body_bytes + b"}"
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413


async def test_streamed_oversized_body_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    response = await client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_body_at_the_limit_is_accepted(client: httpx.AsyncClient, settings: Settings) -> None:
    query = b'{"query": "{ me { id } }"}'
    body = query + b" " * (settings.max_body_bytes - len(query))
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}
