"""Walking the catalogue: keyset pages in every sort, stable under inserts, and the limits."""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from resolvers.ids import to_global_id
from tests.helpers import (
    DELETE_PRODUCT,
    Actor,
    NewProduct,
    data,
    error_code,
    gql,
    insert_products,
    product_id,
    sql_rows,
)
from web.state import AppState

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $sort: ProductSort) {
  products(first: $first, after: $after, last: $last, before: $before, sort: $sort) {
    totalCount
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

SORTS = [
    {"field": field, "direction": direction}
    for field, direction in itertools.product(("NAME", "PRICE", "CREATED_AT"), ("ASC", "DESC"))
]
NAMES = ["amber", "birch", "cedar", "amber", "dune", "cedar", "ember", "amber"]
PRICES = [500, 999, 1000, 1000, 1001, 2000, 999]
Between = Callable[[], Awaitable[None]]


def sort_id(sort: dict[str, str]) -> str:
    return f"{sort['field']}-{sort['direction']}"


async def seed_catalogue(state: AppState, admin: Actor, count: int) -> list[str]:
    """`count` live products with repeated names, prices and creation times, plus one archived.

    Names are lowercase letters only, so that Python and PostgreSQL order them alike.
    """
    made: list[int] = []
    for batch in range(3):  # every product of a batch shares its `created_at`
        size = count // 3 + (1 if batch < count % 3 else 0)
        made += await insert_products(
            state,
            [
                NewProduct(NAMES[n % len(NAMES)], PRICES[n % len(PRICES)], stock=n % 3)
                for n in range(len(made), len(made) + size)
            ],
        )
    [archived] = await insert_products(state, [NewProduct("amber", 1000)])
    await data(admin.http, DELETE_PRODUCT, {"id": product_id(archived)})
    return [product_id(key) for key in made]


async def expected_order(state: AppState, sort: dict[str, str]) -> list[str]:
    """The live catalogue in (sort value, id) order, computed here rather than by the API."""
    rows = await sql_rows(
        state, "SELECT id, name, price_minor, created_at FROM products WHERE archived_at IS NULL"
    )
    column = {"NAME": "name", "PRICE": "price_minor", "CREATED_AT": "created_at"}[sort["field"]]
    keyed: list[tuple[Any, int]] = [(getattr(row, column), int(row.id)) for row in rows]
    keyed.sort(reverse=sort["direction"] == "DESC")
    return [product_id(key) for _, key in keyed]


async def walk_forward(
    http: httpx.AsyncClient, sort: dict[str, str], size: int, between: Between | None = None
) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    while True:
        variables = {"first": size, "after": after, "sort": sort}
        page = (await data(http, PAGE, variables))["products"]
        edges, info = page["edges"], page["pageInfo"]
        assert page["nodes"] == [edge["node"] for edge in edges]
        assert info["hasPreviousPage"] is (after is not None)
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        seen += [edge["node"]["id"] for edge in edges]
        if not info["hasNextPage"]:
            return seen
        assert len(edges) == size
        after = info["endCursor"]
        if between is not None:
            await between()


async def walk_backward(
    http: httpx.AsyncClient, sort: dict[str, str], size: int, between: Between | None = None
) -> list[str]:
    seen: list[str] = []
    before: str | None = None
    while True:
        variables = {"last": size, "before": before, "sort": sort}
        page = (await data(http, PAGE, variables))["products"]
        edges, info = page["edges"], page["pageInfo"]
        assert info["hasNextPage"] is (before is not None)
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        seen = [edge["node"]["id"] for edge in edges] + seen
        if not info["hasPreviousPage"]:
            return seen
        assert len(edges) == size
        before = info["startCursor"]
        if between is not None:
            await between()


@pytest.mark.parametrize("sort", SORTS, ids=sort_id)
async def test_walking_every_page_yields_each_product_once_in_order(
    admin: Actor, client: httpx.AsyncClient, state: AppState, sort: dict[str, str]
) -> None:
    live = await seed_catalogue(state, admin, 32)
    expected = await expected_order(state, sort)
    assert sorted(expected) == sorted(live)
    column = {"NAME": "name", "PRICE": "price_minor", "CREATED_AT": "created_at"}[sort["field"]]
    distinct = await sql_rows(
        state, f"SELECT count(DISTINCT {column}) FROM products WHERE archived_at IS NULL"
    )
    assert distinct[0][0] < 32 / 3, "every sort value should be shared, to test the id tie-break"

    for size in (5, 8, 32, 100):  # 8 and 32 divide the count: the last page is full
        assert await walk_forward(client, sort, size) == expected, size
        assert await walk_backward(client, sort, size) == expected, size
    total = (await data(client, PAGE, {"first": 1, "sort": sort}))["products"]["totalCount"]
    assert total == 32


@pytest.mark.parametrize("sort", SORTS, ids=sort_id)
async def test_pages_stay_stable_while_products_are_added(
    admin: Actor, client: httpx.AsyncClient, state: AppState, sort: dict[str, str]
) -> None:
    existing = set(await seed_catalogue(state, admin, 24))
    rng = random.Random(sort_id(sort))

    async def add_two() -> None:
        await insert_products(
            state, [NewProduct(rng.choice(NAMES), rng.choice(PRICES)) for _ in range(2)]
        )

    for walk in (walk_forward, walk_backward):
        seen = await walk(client, sort, 5, add_two)
        assert len(seen) == len(set(seen)), "a product was listed twice"
        assert existing <= set(seen), "a product that existed all along was skipped"
        in_order = [p for p in await expected_order(state, sort) if p in set(seen)]
        assert seen == in_order


async def test_page_size_limits(admin: Actor, client: httpx.AsyncClient, state: AppState) -> None:
    await insert_products(state, [NewProduct(NAMES[n % 8], 100 + n) for n in range(105)])

    full = (await data(client, PAGE, {"first": 100}))["products"]
    assert len(full["edges"]) == 100
    assert full["pageInfo"]["hasNextPage"] is True
    assert full["totalCount"] == 105
    default = (await data(client, PAGE, {}))["products"]
    assert len(default["edges"]) == 20
    tail = (await data(client, PAGE, {"last": 100}))["products"]
    assert len(tail["nodes"]) == 100
    assert tail["nodes"][:95] == full["nodes"][5:]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    for variables in ({"first": 101}, {"last": 101}, {"first": -1}, {"last": -1}):
        assert await error_code(client, PAGE, variables) == "INVALID_INPUT", variables


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def cursor_of(client: httpx.AsyncClient, sort: dict[str, str]) -> str:
    cursor: str = (await data(client, PAGE, {"first": 1, "sort": sort}))["products"]["pageInfo"][
        "endCursor"
    ]
    return cursor


async def test_malformed_cursors_are_invalid_input(
    admin: Actor, client: httpx.AsyncClient, state: AppState
) -> None:
    await insert_products(state, [NewProduct("amber", 100), NewProduct("birch", 200)])
    malformed = [
        "not a cursor",
        "%%%",
        b64(b"not json"),
        b64(dumps({"value": 1})),
        b64(dumps(["amber", "1"])),
        b64(dumps([1.5, 1])),
        b64(dumps([True, 1])),
        b64(dumps(["am\x00ber", 1])),  # PostgreSQL text cannot hold NUL
        b64(dumps(["amber", 2**63])),  # beyond bigint
        b64(dumps(["amber"])),
        product_id(1),
    ]
    by_name = {"field": "NAME", "direction": "ASC"}
    by_price = {"field": "PRICE", "direction": "ASC"}
    by_date = {"field": "CREATED_AT", "direction": "ASC"}
    for cursor in malformed:
        for key in ("after", "before"):
            variables = {key: cursor, "sort": by_name}
            assert await error_code(client, PAGE, variables) == "INVALID_INPUT", variables
    for value in (2**63, -(2**63) - 1, "100"):  # no price, or a price beyond bigint
        variables = {"after": b64(dumps([value, 1])), "sort": by_price}
        assert await error_code(client, PAGE, variables) == "INVALID_INPUT", variables
    # A cursor from another sort order is a bad argument, never a crash; only an ISO date
    # (a CREATED_AT cursor) can pass for a name.
    for taken, used in itertools.permutations((by_name, by_price, by_date), 2):
        variables = {"after": await cursor_of(client, taken), "sort": used}
        body = await gql(client, PAGE, variables)
        codes = [error["extensions"]["code"] for error in body.get("errors", [])]
        if (taken, used) == (by_date, by_name):
            assert codes in ([], ["INVALID_INPUT"]), body
        else:
            assert codes == ["INVALID_INPUT"], (taken["field"], used["field"], body)


PRODUCT_BY_ID = """
query Product($id: ID!) { product(id: $id) { id name } node(id: $id) { id } }
"""


@pytest.mark.parametrize(
    "bad_id",
    ["nope", "", to_global_id("Order", 1), to_global_id("Product", 0), b64(b"Product:1.0")],
)
async def test_malformed_ids_are_invalid_input(
    client: httpx.AsyncClient, state: AppState, bad_id: str
) -> None:
    await insert_products(state, [NewProduct("amber")])
    assert await error_code(client, PRODUCT_BY_ID, {"id": bad_id}) == "INVALID_INPUT"


async def test_unknown_ids_are_null(client: httpx.AsyncClient, state: AppState) -> None:
    [key] = await insert_products(state, [NewProduct("amber")])
    found = await data(client, PRODUCT_BY_ID, {"id": product_id(key)})
    assert found == {
        "product": {"id": product_id(key), "name": "amber"},
        "node": {"id": product_id(key)},
    }
    missing = await data(client, PRODUCT_BY_ID, {"id": product_id(key + 1000)})
    assert missing == {"product": None, "node": None}
