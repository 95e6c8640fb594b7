"""/metrics: only for a caller with METRICS_TOKEN, and its values follow the requests made."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from auth.passwords import Passwords
from server import create_app
from settings import Settings
from telemetry.metrics import ANONYMOUS, OTHER, OperationNames
from tests.helpers import (
    BASE_URL,
    METRICS_TOKEN,
    gql,
    login,
    new_client,
    register,
    register_admin,
    sample,
)
from web.state import AppState

AUTH = {"authorization": f"Bearer {METRICS_TOKEN}"}

pytestmark = pytest.mark.settings(metrics_token=METRICS_TOKEN)


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_the_metrics_need_the_token(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": METRICS_TOKEN}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "orderly_" not in refused.text
    assert "orderly_http_requests_total" in await scrape(client)


async def test_without_a_token_the_api_port_has_no_metrics(
    settings: Settings, database_url: str, passwords: Passwords
) -> None:
    app = create_app(
        replace(settings, metrics_token=""), database_url=database_url, passwords=passwords
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL
        ) as client:
            for headers in ({}, AUTH):
                assert (await client.get("/metrics", headers=headers)).status_code == 404
    finally:
        await app.state.orderly.close()


async def test_requests_and_operations_are_counted(
    client: httpx.AsyncClient, state: AppState
) -> None:
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/api/products?limit=1")).status_code == 200
    shelf_query = "query Shelf { products(first: 1) { totalCount } }"
    await client.post("/graphql", json={"query": shelf_query, "operationName": "Shelf"})
    await gql(client, "{ products(first: 1) { totalCount } }")
    await client.post("/graphql", json={"query": "query $bad { x }", "operationName": "$bad"})
    after = await scrape(client)

    def moved(metric: str, **labels: str) -> float:
        return sample(after, metric, **labels) - sample(before, metric, **labels)

    route = dict(route="/api/products", method="GET", status="200")
    assert moved("orderly_http_requests_total", **route) == 3
    assert moved("orderly_http_request_duration_seconds_count", route="/api/products") == 3
    shelf = dict(operation="Shelf", type="query", path="compiled", outcome="ok")
    assert moved("orderly_graphql_operations_total", **shelf) == 1
    assert moved("orderly_graphql_operations_total", operation=ANONYMOUS, type="query") == 1
    assert moved("orderly_graphql_operations_total", operation=OTHER, outcome="error") == 1
    assert moved("orderly_graphql_operation_duration_seconds_count", path="compiled") == 2
    assert sample(after, "orderly_db_pool_connections_in_use", pool="main") == 0
    assert sample(after, "orderly_db_pool_waiting", pool="main") == 0
    assert sample(after, "orderly_http_requests_in_flight") == 1  # the scrape itself
    assert "orderly_process_resident_memory_bytes" in after


async def test_fallbacks_logins_and_checkouts_are_counted(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    product = await client.post(
        "/api/products", json={"name": "Kettle", "price": "5.00", "stock": 1}
    )
    items = [{"productId": product.json()["id"], "quantity": 1}]
    before = await scrape(client)
    async with new_client(app) as buyer:
        await register(buyer, "buyer@example.com")
        assert (await login(buyer, "buyer@example.com", "wrong password!"))["userErrors"]
        assert (await login(buyer, "buyer@example.com"))["userErrors"] == []
        key = {"idempotency-key": "k-1"}
        assert (
            await buyer.post("/api/orders", json={"items": items}, headers=key)
        ).status_code == 201
        assert (
            await buyer.post("/api/orders", json={"items": items}, headers=key)
        ).status_code == 200
        assert (await buyer.post("/api/orders", json={"items": items})).status_code == 409
        # A mutation is answered by the standard executor.
        out = {"query": "mutation Out { logout { ok } }", "operationName": "Out"}
        assert (await buyer.post("/graphql", json=out)).status_code == 200
    after = await scrape(client)

    def moved(metric: str, **labels: str) -> float:
        return sample(after, metric, **labels) - sample(before, metric, **labels)

    assert moved("orderly_logins_total", outcome="invalid_credentials") == 1
    assert moved("orderly_logins_total", outcome="ok") == 1
    assert moved("orderly_checkouts_total", outcome="placed") == 1
    assert moved("orderly_checkouts_total", outcome="replayed") == 1
    assert moved("orderly_checkouts_total", outcome="insufficient_stock") == 1
    out_labels = dict(operation="Out", type="mutation", path="executor", outcome="ok")
    assert moved("orderly_graphql_operations_total", **out_labels) == 1


def test_operation_names_are_bounded() -> None:
    names = OperationNames(limit=3)
    assert names.label(None) == names.label("") == ANONYMOUS
    assert names.label("not a name") == names.label(7) == names.label("x" * 65) == OTHER
    assert [names.label(f"Op{i}") for i in range(5)] == ["Op0", "Op1", "Op2", OTHER, OTHER]
    assert names.label("Op1") == "Op1"  # a kept name stays kept


async def test_the_pool_gauges_follow_a_wait_and_its_timeout(
    settings: Settings, database_url: str, passwords: Passwords
) -> None:
    tight = replace(settings, db_pool_size=1, db_pool_timeout=0.5)
    app = create_app(tight, database_url=database_url, passwords=passwords)
    state: AppState = app.state.orderly
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            before = await scrape(http)
            async with state.engine.connect():  # the pool's only connection
                waiting = asyncio.create_task(http.get("/api/products"))
                await asyncio.sleep(0.2)
                during = await scrape(http)
                assert (await waiting).status_code == 503
            after = await scrape(http)
    finally:
        await state.close()
    assert sample(during, "orderly_db_pool_connections_in_use", pool="main") == 1
    assert sample(during, "orderly_db_pool_waiting", pool="main") == 1
    assert sample(after, "orderly_db_pool_waiting", pool="main") == 0
    assert sample(after, "orderly_db_pool_connections_in_use", pool="main") == 0
    timeouts = "orderly_db_pool_timeouts_total"
    assert sample(after, timeouts, pool="main") - sample(before, timeouts, pool="main") == 1
