"""Placing an order: all lines or none, one error per bad line, merged lines, input limits."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from resolvers.ids import to_global_id
from tests.helpers import (
    DELETE_PRODUCT,
    ORDER_EVENTS,
    PLACE_ORDER,
    Actor,
    NewProduct,
    data,
    error_code,
    event_rows,
    insert_products,
    order_input,
    place,
    place_ok,
    product_id,
    snapshot,
    stocks,
    table_counts,
)
from web.state import AppState


def numbers(message: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", message)}


def by_field(payload: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    errors = payload["userErrors"]
    result = {tuple(error["field"]): error for error in errors}
    assert len(result) == len(errors), payload  # one error per line, never two
    return result


async def test_a_placed_order_copies_prices_totals_exactly_and_records_its_creation(
    customer: Actor, state: AppState
) -> None:
    dime, fifth = await insert_products(
        state,
        [NewProduct("Dime bag", price_minor=10, stock=9), NewProduct("Fifth", price_minor=20)],
    )
    order = await place_ok(customer.http, [(product_id(dime), 3), (product_id(fifth), 3)])

    assert order["status"] == "PENDING"
    assert order["total"] == {"amount": "0.90", "currency": "USD"}  # never 0.9000000001
    assert order["customer"]["id"] == customer.id
    items = {item["product"]["id"]: item for item in order["items"]}
    assert items[product_id(dime)] == {
        "productName": "Dime bag",
        "quantity": 3,
        "unitPrice": {"amount": "0.10", "currency": "USD"},
        "subtotal": {"amount": "0.30"},
        "product": {"id": product_id(dime)},
    }
    assert items[product_id(fifth)]["subtotal"] == {"amount": "0.60"}
    assert (await stocks(state))[dime] == 6
    [created] = (await data(customer.http, ORDER_EVENTS, {"id": order["id"]}))["order"]["events"]
    assert created["fromStatus"] is None
    assert created["toStatus"] == "PENDING"
    assert created["actor"] == {"id": customer.id}
    assert [tuple(row) for row in await event_rows(state, order["id"])] == [
        (None, "PENDING", customer.key, None)
    ]


async def test_one_short_line_fails_the_whole_order_and_writes_nothing(
    customer: Actor, state: AppState
) -> None:
    keys = await insert_products(
        state,
        [NewProduct("Kettle", stock=5), NewProduct("Toaster", stock=1), NewProduct("Pan", stock=2)],
    )
    kettle, toaster, pan = (product_id(k) for k in keys)
    before = await snapshot(state)

    payload = await place(customer.http, [(kettle, 2), (toaster, 1), (pan, 3)])

    assert payload["order"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["field"] == ["items", "2", "quantity"]
    assert numbers(error["message"]) == {3, 2}  # 3 requested, 2 available
    assert await snapshot(state) == before  # no stock taken, no order, item or event rows
    assert before.counts["orders"] == 0

    # The same order without the short line goes through: only that line was the problem.
    await place_ok(customer.http, [(kettle, 2), (toaster, 1), (pan, 2)])
    assert await stocks(state) == dict(zip(keys, (3, 0, 0), strict=True))


async def test_every_bad_line_gets_its_own_error_and_nothing_is_written(
    customer: Actor, admin: Actor, state: AppState
) -> None:
    keys = await insert_products(
        state,
        [
            NewProduct("Kettle", stock=5),
            NewProduct("Retired", stock=10),
            NewProduct("Pan", stock=2),
            NewProduct("Spoon", stock=9),
        ],
    )
    kettle, retired, pan, spoon = (product_id(k) for k in keys)
    deleted = await data(admin.http, DELETE_PRODUCT, {"id": retired})
    assert deleted["deleteProduct"]["deletedId"] == retired
    missing = to_global_id("Product", 999_999)
    before = await snapshot(state)

    payload = await place(
        customer.http, [(kettle, 7), (spoon, 1), (retired, 1), (pan, 3), (missing, 1)]
    )

    assert payload["order"] is None
    errors = by_field(payload)
    assert set(errors) == {
        ("items", "0", "quantity"),
        ("items", "2", "productId"),
        ("items", "3", "quantity"),
        ("items", "4", "productId"),
    }
    assert errors["items", "0", "quantity"]["code"] == "INSUFFICIENT_STOCK"
    assert numbers(errors["items", "0", "quantity"]["message"]) == {7, 5}
    assert errors["items", "2", "productId"]["code"] == "PRODUCT_UNAVAILABLE"
    assert errors["items", "3", "quantity"]["code"] == "INSUFFICIENT_STOCK"
    assert numbers(errors["items", "3", "quantity"]["message"]) == {3, 2}
    assert errors["items", "4", "productId"]["code"] == "NOT_FOUND"
    assert await snapshot(state) == before


async def test_an_archived_product_alone_is_unavailable_whatever_its_stock(
    customer: Actor, admin: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Retired", stock=10)])
    await data(admin.http, DELETE_PRODUCT, {"id": product_id(key)})
    before = await snapshot(state)

    payload = await place(customer.http, [(product_id(key), 1)])

    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("PRODUCT_UNAVAILABLE", ["items", "0", "productId"])
    ]
    assert await snapshot(state) == before


async def test_the_same_product_twice_is_merged_into_one_line(
    customer: Actor, state: AppState
) -> None:
    mug, tea = await insert_products(
        state, [NewProduct("Mug", price_minor=250, stock=5), NewProduct("Tea", stock=4)]
    )

    order = await place_ok(
        customer.http, [(product_id(mug), 2), (product_id(tea), 1), (product_id(mug), 3)]
    )

    assert sorted((i["product"]["id"], i["quantity"]) for i in order["items"]) == sorted(
        [(product_id(mug), 5), (product_id(tea), 1)]
    )
    mug_line = next(i for i in order["items"] if i["product"]["id"] == product_id(mug))
    assert mug_line["subtotal"] == {"amount": "12.50"}
    assert (await table_counts(state))["order_items"] == 2
    assert (await stocks(state))[mug] == 0

    # Merged quantities are checked against the stock as one line: 3 + 3 > 4 left.
    before = await snapshot(state)
    payload = await place(customer.http, [(product_id(tea), 3), (product_id(tea), 3)])
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INSUFFICIENT_STOCK", ["items", "0", "quantity"])
    assert numbers(error["message"]) == {6, 3}
    assert await snapshot(state) == before


@pytest.mark.parametrize("quantity", [0, -1, 1001])
async def test_a_quantity_outside_1_to_1000_is_invalid_input(
    customer: Actor, state: AppState, quantity: int
) -> None:
    good, bad = await insert_products(
        state, [NewProduct("Good", stock=2000), NewProduct("Bad", stock=2000)]
    )
    before = await snapshot(state)

    payload = await place(customer.http, [(product_id(good), 1), (product_id(bad), quantity)])

    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["items", "1", "quantity"])
    ]
    assert await snapshot(state) == before


async def test_quantity_limits_apply_per_line_and_to_merged_lines(
    customer: Actor, state: AppState
) -> None:
    a, b, c = await insert_products(
        state, [NewProduct("A", stock=5000), NewProduct("B", stock=5000), NewProduct("C")]
    )
    before = await snapshot(state)

    two_bad = await place(
        customer.http, [(product_id(a), 0), (product_id(c), 1), (product_id(b), 1001)]
    )
    assert set(by_field(two_bad)) == {("items", "0", "quantity"), ("items", "2", "quantity")}
    assert {e["code"] for e in two_bad["userErrors"]} == {"INVALID_INPUT"}

    merged = await place(customer.http, [(product_id(a), 600), (product_id(a), 600)])
    assert [e["code"] for e in merged["userErrors"]] == ["INVALID_INPUT"]
    assert merged["userErrors"][0]["field"][:2] == ["items", "0"]
    assert await snapshot(state) == before

    largest = await place_ok(customer.http, [(product_id(a), 1000)])
    assert largest["items"][0]["quantity"] == 1000
    assert (await stocks(state))[a] == 4000


async def test_an_order_has_1_to_100_lines(customer: Actor, state: AppState) -> None:
    keys = await insert_products(
        state, [NewProduct(f"Part {chr(65 + n % 26)}") for n in range(101)]
    )
    ids = [product_id(k) for k in keys]
    before = await snapshot(state)

    for lines in ([], [(i, 1) for i in ids]):
        payload = await place(customer.http, lines)
        assert payload["order"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("INVALID_INPUT", ["items"])
        ]
    assert await snapshot(state) == before

    order = await place_ok(customer.http, [(i, 1) for i in ids[:100]])
    assert len(order["items"]) == 100
    after = await stocks(state)
    assert [after[k] for k in keys] == [9] * 100 + [10]


@pytest.mark.parametrize(
    "bad_id", ["not-an-id", to_global_id("Order", 1), to_global_id("Product", 1) + "x"]
)
async def test_a_malformed_product_id_is_a_request_level_invalid_input(
    customer: Actor, state: AppState, bad_id: str
) -> None:
    await insert_products(state, [NewProduct("Only")])
    before = await snapshot(state)
    variables = order_input([(bad_id, 1)])
    assert await error_code(customer.http, PLACE_ORDER, variables) == "INVALID_INPUT"
    assert await snapshot(state) == before


async def test_anonymous_visitors_cannot_place_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Only")])
    before = await snapshot(state)
    variables = order_input([(product_id(key), 1)])
    assert await error_code(client, PLACE_ORDER, variables) == "UNAUTHENTICATED"
    assert await snapshot(state) == before


async def test_bad_lines_of_every_kind_each_get_their_own_error(
    customer: Actor, admin: Actor, state: AppState
) -> None:
    """A quantity out of range does not hide the other lines' problems, nor its own
    product's: every problem of the order is reported at once, and nothing is written."""
    keys = await insert_products(
        state,
        [
            NewProduct("Kettle", stock=5),
            NewProduct("Retired", stock=10),
            NewProduct("Pan", stock=2),
            NewProduct("Gone too", stock=10),
        ],
    )
    kettle, retired, pan, gone = (product_id(k) for k in keys)
    for archived in (retired, gone):
        await data(admin.http, DELETE_PRODUCT, {"id": archived})
    missing = to_global_id("Product", 999_999)
    before = await snapshot(state)

    payload = await place(
        customer.http,
        [(kettle, 0), (retired, 1), (pan, 3), (missing, 2000), (gone, -1), (pan, 600),
         (pan, 500)],
    )  # fmt: skip

    assert payload["order"] is None
    errors = {field: e["code"] for field, e in by_field(payload).items()}
    assert errors == {
        ("items", "0", "quantity"): "INVALID_INPUT",
        ("items", "1", "productId"): "PRODUCT_UNAVAILABLE",
        ("items", "2", "quantity"): "INVALID_INPUT",  # 3 + 600 + 500 over 1,000 per product
        ("items", "3", "quantity"): "INVALID_INPUT",
        ("items", "3", "productId"): "NOT_FOUND",
        ("items", "4", "quantity"): "INVALID_INPUT",
        ("items", "4", "productId"): "PRODUCT_UNAVAILABLE",
    }
    assert await snapshot(state) == before

    short = await place(customer.http, [(kettle, 1001), (kettle, 7), (retired, 1)])
    assert {field: e["code"] for field, e in by_field(short).items()} == {
        ("items", "0", "quantity"): "INVALID_INPUT",
        ("items", "1", "quantity"): "INSUFFICIENT_STOCK",  # the valid line, 7 > 5 left
        ("items", "2", "productId"): "PRODUCT_UNAVAILABLE",
    }
    assert await snapshot(state) == before


async def test_rest_reports_every_bad_line_too(
    customer: Actor, admin: Actor, state: AppState
) -> None:
    kettle, retired = await insert_products(
        state, [NewProduct("Kettle", stock=5), NewProduct("Retired", stock=10)]
    )
    await data(admin.http, DELETE_PRODUCT, {"id": product_id(retired)})
    before = await snapshot(state)
    response = await customer.http.post("/api/orders", json={"items": [
        {"productId": product_id(kettle), "quantity": 0},
        {"productId": product_id(retired), "quantity": 1},
    ]})  # fmt: skip
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("INVALID_INPUT", ["items", "0", "quantity"]),
        ("PRODUCT_UNAVAILABLE", ["items", "1", "productId"]),
    ]
    assert await snapshot(state) == before
