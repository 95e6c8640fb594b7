"""Catalogue filters: search, inclusive price bounds, stock, and their combination."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import (
    NewProduct,
    data,
    error_code,
)

FILTERED = """
query Filtered($filter: ProductFilter) {
  products(first: 100, filter: $filter) { totalCount nodes { name } }
}
"""

CATALOGUE = [
    NewProduct("Blue Teapot", 2499, stock=3, description="Fine CERAMIC, holds 1l"),
    NewProduct("teapot cosy", 999, stock=0, description="wool"),
    NewProduct("Mug", 1000, stock=5, description="A teapot's best friend"),
    NewProduct("100% cotton towel", 1001, stock=1),
    NewProduct("100 cotton towel", 500, stock=0),
    NewProduct("snake_case mug", 2000, stock=2),
    NewProduct("snakeXcase mug", 2000, stock=0),
]
ALL = {p.name for p in CATALOGUE}

CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, ALL),
    ({"search": "TEAPOT"}, {"Blue Teapot", "teapot cosy", "Mug"}),  # name or description
    ({"search": "ceramic"}, {"Blue Teapot"}),
    ({"search": "  cosy "}, {"teapot cosy"}),
    ({"search": "00%"}, {"100% cotton towel"}),  # % is matched literally ...
    ({"search": "0% c"}, {"100% cotton towel"}),
    ({"search": "e_c"}, {"snake_case mug"}),  # ... and so is _
    ({"search": "snake_"}, {"snake_case mug"}),
    ({"search": "a\\b"}, set()),
    ({"search": "nothing like it"}, set()),
    (
        {"minPrice": "10.00"},
        {"Blue Teapot", "Mug", "100% cotton towel", "snake_case mug", "snakeXcase mug"},
    ),  # fmt: skip
    (
        {"minPrice": "10.01"},
        {"Blue Teapot", "100% cotton towel", "snake_case mug", "snakeXcase mug"},
    ),  # fmt: skip
    ({"maxPrice": "10"}, {"teapot cosy", "Mug", "100 cotton towel"}),
    ({"minPrice": "9.99", "maxPrice": "10.01"}, {"teapot cosy", "Mug", "100% cotton towel"}),
    ({"minPrice": "10", "maxPrice": "10.00"}, {"Mug"}),
    ({"minPrice": "20.01", "maxPrice": "20"}, set()),
    ({"minPrice": "1" + "0" * 30}, set()),  # bounds beyond any storable price still filter
    ({"minPrice": "-1" + "0" * 30, "maxPrice": "1" + "0" * 30}, ALL),
    ({"inStock": True}, {"Blue Teapot", "Mug", "100% cotton towel", "snake_case mug"}),
    ({"inStock": False}, {"teapot cosy", "100 cotton towel", "snakeXcase mug"}),
    ({"search": "teapot", "inStock": True}, {"Blue Teapot", "Mug"}),
    ({"search": "mug", "maxPrice": "19.99", "inStock": True}, {"Mug"}),
]


@pytest.mark.usefixtures("catalogue")
async def test_every_filter(client: httpx.AsyncClient) -> None:
    for product_filter, expected in CASES:
        found = (await data(client, FILTERED, {"filter": product_filter}))["products"]
        assert {node["name"] for node in found["nodes"]} == expected, product_filter
        assert found["totalCount"] == len(expected), product_filter


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("bound", ["1.001", "-0.001"])  # NaN, 1e5: see test_hostile_input
async def test_a_price_bound_that_is_no_amount_is_invalid_input(
    client: httpx.AsyncClient, bound: str
) -> None:
    for key in ("minPrice", "maxPrice"):
        assert await error_code(client, FILTERED, {"filter": {key: bound}}) == "INVALID_INPUT"


@pytest.mark.usefixtures("catalogue")
async def test_a_search_containing_nul_is_invalid_input(client: httpx.AsyncClient) -> None:
    code = await error_code(client, FILTERED, {"filter": {"search": "tea\x00pot"}})
    assert code == "INVALID_INPUT"
