"""Order lists: filters by status, time and customer, sorting by total, keyset pages."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.helpers import (
    Placed,
    Shop,
    data,
    error_code,
    order_key,
)

ORDERS = """
query Orders($first: Int, $after: String, $last: Int, $before: String,
             $filter: OrderFilter, $sort: OrderSort) {
  orders(first: $first, after: $after, last: $last, before: $before,
         filter: $filter, sort: $sort) {
    totalCount
    nodes { id total { amount } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FORWARD = ("PENDING", "PAID", "SHIPPED", "DELIVERED")


# owner, units, status; order n is created at T0 + n hours.
PLAN = [
    ("ann", 3, "PAID"),
    ("bob", 2, "PENDING"),
    ("ann", 1, "SHIPPED"),
    ("ann", 3, "CANCELLED"),
    ("bob", 5, "PAID"),
    ("ann", 2, "PENDING"),
    ("bob", 2, "DELIVERED"),
    ("ann", 3, "PENDING"),
]


async def listed(http: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await data(http, ORDERS, {"first": 100, **variables}))["orders"]
    return result


def ids(connection: dict[str, Any]) -> set[str]:
    return {node["id"] for node in connection["nodes"]}


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


async def test_filters_for_admins(shop: Shop) -> None:
    bob_key = shop.bob.id
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({}, shop.ids()),
        ({"status": ["PAID"]}, shop.ids(status="PAID")),
        ({"status": ["PAID", "SHIPPED"]}, shop.ids(status="PAID") | shop.ids(status="SHIPPED")),
        ({"status": ["CANCELLED", "DELIVERED"]}, {shop.orders[3].id, shop.orders[6].id}),
        ({"createdAfter": at(4.5)}, {o.id for o in shop.orders[5:]}),
        ({"createdBefore": at(2.5)}, {o.id for o in shop.orders[:3]}),
        ({"createdAfter": at(0.5), "createdBefore": at(3.5)}, {o.id for o in shop.orders[1:4]}),
        ({"createdAfter": at(9)}, set()),
        ({"customerId": bob_key}, shop.ids(owner="bob")),
        ({"customerId": shop.admin.id}, set()),
        (
            {"customerId": bob_key, "status": ["PAID", "PENDING"]},
            {shop.orders[1].id, shop.orders[4].id},
        ),  # fmt: skip
        ({"customerId": bob_key, "createdAfter": at(1.5)}, {shop.orders[4].id, shop.orders[6].id}),
    ]
    for order_filter, expected in cases:
        found = await listed(shop.admin.http, filter=order_filter)
        assert ids(found) == expected, order_filter
        assert found["totalCount"] == len(expected), order_filter


async def test_filters_for_customers_apply_within_their_own_orders(shop: Shop) -> None:
    ann = shop.ann.http
    assert ids(await listed(ann)) == shop.ids(owner="ann")
    assert ids(await listed(ann, filter={"status": ["PENDING"]})) == shop.ids(
        owner="ann", status="PENDING"
    )
    own = await listed(ann, filter={"customerId": shop.ann.id, "createdBefore": at(2.5)})
    assert ids(own) == {shop.orders[0].id, shop.orders[2].id}
    assert own["totalCount"] == 2
    theirs = await listed(ann, filter={"customerId": shop.bob.id})
    assert (ids(theirs), theirs["totalCount"]) == (set(), 0)


async def test_sorted_pages_list_every_order_once_in_order(shop: Shop) -> None:
    for field, direction in itertools.product(("TOTAL", "CREATED_AT"), ("ASC", "DESC")):
        await check_sorted_pages(shop, field, direction)


async def check_sorted_pages(shop: Shop, field: str, direction: str) -> None:
    def sort_key(o: Placed) -> tuple[Any, str]:
        value = o.total_minor if field == "TOTAL" else o.created_at
        return value, f"{order_key(o.id):020d}"

    expected = [o.id for o in sorted(shop.orders, key=sort_key, reverse=direction == "DESC")]
    sort = {"field": field, "direction": direction}

    forward: list[str] = []
    after = None
    while True:  # pages of 3 over 8 orders, with totals 30.00 and 20.00 three times each
        page = await listed(shop.admin.http, first=3, after=after, sort=sort)
        forward += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forward == expected, sort

    backward: list[str] = []
    before = None
    while True:
        variables = {"first": None, "last": 3, "before": before, "sort": sort}
        page = (await data(shop.admin.http, ORDERS, variables))["orders"]
        backward = [node["id"] for node in page["nodes"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == expected, sort

    ann_only = await listed(shop.ann.http, sort=sort)
    assert [node["id"] for node in ann_only["nodes"]] == [
        i for i in expected if i in shop.ids(owner="ann")
    ], sort


async def test_order_list_arguments_are_checked(shop: Shop) -> None:
    http = shop.admin.http
    for variables in (
        {"first": 101},
        {"first": None, "last": 101},
        {"after": "garbage"},
        {"after": "WyJ4IiwxXQ", "sort": {"field": "TOTAL", "direction": "ASC"}},  # ["x",1]
        {"filter": {"customerId": "nope"}},
        {"filter": {"customerId": shop.orders[0].id}},  # an Order ID, not a User ID
    ):
        assert await error_code(http, ORDERS, {"first": 10, **variables}) == "INVALID_INPUT"
    assert await error_code(shop.ann.http, ORDERS, {"first": 101}) == "INVALID_INPUT"
