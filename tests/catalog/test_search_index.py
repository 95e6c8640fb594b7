"""Searches are served by the trigram indexes, and terms too short for them are refused."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from settings import Settings
from tests.helpers import Actor, Captured, error_code
from web.state import AppState

SEARCH = """
query Search($search: String) {
  products(first: 5, filter: {search: $search}) { totalCount nodes { name } }
}
"""
USERS = "query($s: String) { users(filter: {search: $s}) { totalCount } }"
# Below this size PostgreSQL rightly prefers reading the whole table to any index.
CATALOGUE_SIZE = 100_000


@pytest.mark.parametrize("term", ["a", "ab", "  ab  ", "%%"])
async def test_a_term_under_three_characters_is_invalid_input(
    client: httpx.AsyncClient, admin: Actor, term: str
) -> None:
    assert await error_code(client, SEARCH, {"search": term}) == "INVALID_INPUT"
    assert await error_code(admin.http, USERS, {"s": term}) == "INVALID_INPUT"
    for path in ("/api/products", "/api/users"):
        response = await admin.http.get(path, params={"search": term})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "INVALID_INPUT"


async def test_three_characters_search_and_a_blank_term_searches_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await _insert_catalogue(state, rows=3)
    found = await client.post("/graphql", json={"query": SEARCH, "variables": {"search": "QUA"}})
    assert found.json()["data"]["products"]["totalCount"] == 1
    blank = await client.post("/graphql", json={"query": SEARCH, "variables": {"search": "  "}})
    assert blank.json()["data"]["products"]["totalCount"] == 3


async def test_a_product_search_uses_the_trigram_indexes(
    client: httpx.AsyncClient, state: AppState, settings: Settings, captured: Captured
) -> None:
    await _insert_catalogue(state, rows=CATALOGUE_SIZE)
    response = await client.post(
        "/graphql", json={"query": SEARCH, "variables": {"search": "Quartz"}}
    )
    assert response.json()["data"]["products"] == {
        "totalCount": 1,
        "nodes": [{"name": "Rose quartz lamp"}],
    }
    searches = [(s, p) for s, p in captured if "ILIKE" in s.upper()]
    # the page and its totalCount: one compiled statement, or two on the standard executor
    assert len(searches) == (1 if settings.graphql_compiler else 2), captured
    async with state.engine.connect() as connection:
        for statement, parameters in searches:
            plan = "\n".join(
                row[0]
                for row in await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            )
            assert "ix_products_live_name_trgm" in plan, plan
            assert "ix_products_live_description_trgm" in plan, plan
            assert "Seq Scan" not in plan, plan


async def _insert_catalogue(state: AppState, *, rows: int) -> None:
    """`rows` products, one of them the only one whose name holds "quartz"; then ANALYZE."""
    async with state.engine.begin() as connection:
        # Loading test data is not a request: the API's statement timeout does not apply.
        await connection.execute(text("SET LOCAL statement_timeout = 0"))
        await connection.execute(
            text("""
                INSERT INTO products (name, description, price_minor, stock)
                SELECT CASE WHEN n = 1 THEN 'Rose quartz lamp' ELSE 'Item ' || n END,
                       'Plain catalogue entry number ' || n, 100 + n, n % 7
                FROM generate_series(1, :rows) AS n
            """),
            {"rows": rows},
        )
        await connection.execute(text("ANALYZE products"))
