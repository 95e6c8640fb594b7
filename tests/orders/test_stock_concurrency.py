"""Stock under concurrent orders: never oversold, never deadlocked, every unit accounted for."""

from __future__ import annotations

import asyncio
import random
import re

from tests.helpers import (
    Accounts,
    NewProduct,
    insert_products,
    place,
    product_id,
    sql_scalar,
    stocks,
    table_counts,
    units_sold,
)
from web.state import AppState


async def test_forty_customers_racing_for_ten_units_get_exactly_ten_orders(
    accounts: Accounts, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Last lamps", price_minor=2500, stock=10)])
    customers = await accounts.create(40)

    payloads = await asyncio.gather(
        *(place(c.http, [(product_id(key), 1)]) for c in customers)
    )  # `place` fails the test on any request-level `errors` entry

    placed = [p for p in payloads if p["order"] is not None]
    refused = [p for p in payloads if p["order"] is None]
    assert len(placed) == 10
    assert all(p["userErrors"] == [] for p in placed)
    assert len(refused) == 30
    for payload in refused:
        [error] = payload["userErrors"]
        assert error["code"] == "INSUFFICIENT_STOCK", payload
        assert error["field"] == ["items", "0", "quantity"]
        assert sorted(int(n) for n in re.findall(r"\d+", error["message"])) == [0, 1], error
    assert {p["order"]["customer"]["id"] for p in placed} <= {c.id for c in customers}
    assert len({p["order"]["customer"]["id"] for p in placed}) == 10
    assert (await stocks(state))[key] == 0
    counts = await table_counts(state)
    assert (counts["orders"], counts["order_items"], counts["order_events"]) == (10, 10, 10)
    sold = await sql_scalar(state, "SELECT sum(quantity) FROM order_items")
    assert sold == 10


async def test_orders_naming_products_in_opposite_orders_never_deadlock(
    accounts: Accounts, state: AppState
) -> None:
    start = {"A": 40, "B": 40, "C": 40, "D": 40}
    keys = await insert_products(state, [NewProduct(name, stock=s) for name, s in start.items()])
    ids = [product_id(k) for k in keys]
    customers = await accounts.create(8)
    rng = random.Random(20240611)
    requests = []
    for n in range(80):
        chosen = rng.sample(ids, rng.randint(2, 4))
        if n % 2:  # every other order names the products in the opposite order
            chosen.reverse()
        lines = [(product, rng.randint(1, 4)) for product in chosen]
        requests.append(place(customers[n % len(customers)].http, lines))

    payloads = await asyncio.gather(*requests)  # any deadlock would surface as `errors`

    succeeded = 0
    for payload in payloads:
        if payload["order"] is not None:
            assert payload["userErrors"] == [], payload
            succeeded += 1
        else:
            assert payload["userErrors"], payload
            assert {e["code"] for e in payload["userErrors"]} == {"INSUFFICIENT_STOCK"}, payload
    assert 0 < succeeded < len(payloads), "the demand should exceed the stock for some orders"

    final, sold = await stocks(state), await units_sold(state)
    for key, initial in zip(keys, start.values(), strict=True):
        assert final[key] >= 0
        assert final[key] + sold.get(key, 0) == initial
    from_responses: dict[str, int] = {}
    for payload in payloads:
        for item in (payload["order"] or {}).get("items", []):
            product = item["product"]["id"]
            from_responses[product] = from_responses.get(product, 0) + item["quantity"]
    assert from_responses == {product_id(k): v for k, v in sold.items()}
    assert (await table_counts(state))["orders"] == succeeded
