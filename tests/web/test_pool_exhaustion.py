"""A request that cannot get a database connection in time answers 503 instead of hanging."""

from __future__ import annotations

from dataclasses import replace

import httpx

from server import create_app
from settings import Settings
from tests.helpers import BASE_URL
from web.state import AppState


async def test_exhausted_pool_answers_503_quickly(settings: Settings, database_url: str) -> None:
    tight = replace(settings, db_pool_size=1, db_pool_timeout=0.2)
    app = create_app(tight, database_url=database_url)
    state: AppState = app.state.orderly
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        assert (await http.get("/api/products")).status_code == 200
        async with state.engine.connect() as held:  # the pool's only connection
            rest = await http.get("/api/products")
            graphql = await http.post("/graphql", json={"query": "{ products { totalCount } }"})
            assert held.closed is False
        after = await http.get("/api/products")
    await state.close()

    assert rest.status_code == 503
    assert rest.headers["content-type"] == "application/problem+json"
    assert rest.headers["retry-after"] == "1"
    assert rest.json()["code"] == "UNAVAILABLE"
    assert graphql.status_code == 503
    assert graphql.headers["retry-after"] == "1"
    assert graphql.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert after.status_code == 200
