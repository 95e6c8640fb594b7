"""W3, the checkout rush: placeOrder requests, and the books balanced afterwards in SQL.

Many signed-in customers order 1 to 3 lines each; most lines ask for one of a few hot
products whose stock is small, so INSUFFICIENT_STOCK happens. Afterwards, for every
product, stock now + units sold in the run's non-cancelled orders = stock before: nothing
oversold, nothing lost; and every new order is whole (lines, total, one creation event).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.wire import Target, graphql_request
from resolvers.ids import to_global_id

PLACE_ORDER = (
    "mutation Checkout($input: PlaceOrderInput!) { placeOrder(input: $input) "
    "{ order { id status total { amount } } userErrors { code field message } } }"
)
DISTINCT_REQUESTS = 8192
MAX_LINES = 3
MAX_QUANTITY = 3

_STOCK = "SELECT id, stock FROM products ORDER BY id"
_MAX_ORDER = "SELECT coalesce(max(id), 0) FROM orders"
_MISMATCHED = """
WITH start AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS s(id, stock)),
sold AS (
    SELECT i.product_id AS id, sum(i.quantity)::bigint AS units
    FROM order_items AS i JOIN orders AS o ON o.id = i.order_id
    WHERE o.id > $3 AND o.status <> 'CANCELLED'
    GROUP BY i.product_id
)
SELECT p.id, s.stock AS start_stock, p.stock, coalesce(sold.units, 0) AS sold
FROM products AS p FULL JOIN start AS s ON s.id = p.id LEFT JOIN sold ON sold.id = p.id
WHERE s.id IS NULL OR p.id IS NULL OR p.stock + coalesce(sold.units, 0) <> s.stock
ORDER BY coalesce(p.id, s.id)
"""
_SOLD = """
SELECT coalesce(sum(i.quantity), 0)::bigint AS units, count(DISTINCT i.product_id) AS products
FROM order_items AS i JOIN orders AS o ON o.id = i.order_id
WHERE o.id > $1 AND o.status <> 'CANCELLED'
"""
_ORDERS = """
SELECT count(*) AS created,
       count(*) FILTER (WHERE o.status = 'CANCELLED') AS cancelled,
       count(*) FILTER (WHERE o.status <> 'PENDING') AS not_pending,
       count(*) FILTER (WHERE coalesce(t.lines, 0) = 0) AS without_lines,
       count(*) FILTER (WHERE o.total_minor <> coalesce(t.total, -1)) AS wrong_total,
       count(*) FILTER (WHERE coalesce(e.events, 0) <> 1) AS wrong_events
FROM orders AS o
LEFT JOIN (
    SELECT order_id, count(*) AS lines, sum(subtotal_minor) AS total
    FROM order_items WHERE order_id > $1 GROUP BY order_id
) AS t ON t.order_id = o.id
LEFT JOIN (
    SELECT order_id, count(*) AS events FROM order_events WHERE order_id > $1 GROUP BY order_id
) AS e ON e.order_id = o.id
WHERE o.id > $1
"""
_SOLD_OUT = "SELECT count(*) FROM products WHERE id = ANY($1::bigint[]) AND stock = 0"


def checkout_requests(
    target: Target,
    cookies: list[str],
    *,
    products: int,
    hot_ids: tuple[int, ...],
    hot_share: float,
    seed: int,
    count: int = DISTINCT_REQUESTS,
) -> list[bytes]:
    """Deterministic orders: customer i % n, 1-3 distinct lines, `hot_share` of them hot."""
    rng = random.Random(seed)
    first_cold = max(hot_ids) + 1
    requests = []
    for number in range(count):
        wanted = rng.randint(1, MAX_LINES)
        chosen: list[int] = []
        for _ in range(wanted):
            if rng.random() < hot_share:
                product = rng.choice(hot_ids)
            else:
                product = rng.randint(first_cold, products)
            if product not in chosen:
                chosen.append(product)
        items = [
            {
                "productId": to_global_id("Product", product),
                "quantity": rng.randint(1, MAX_QUANTITY),
            }
            for product in chosen
        ]
        requests.append(
            graphql_request(
                target,
                PLACE_ORDER,
                {"input": {"items": items}},
                cookie=cookies[number % len(cookies)],
            )
        )
    return requests


@dataclass(frozen=True, slots=True)
class Snapshot:
    max_order_id: int
    stock: dict[int, int]


async def snapshot(db: asyncpg.Connection) -> Snapshot:
    rows = await db.fetch(_STOCK)
    return Snapshot(
        max_order_id=int(await db.fetchval(_MAX_ORDER)),
        stock={int(row["id"]): int(row["stock"]) for row in rows},
    )


async def verify(
    db: asyncpg.Connection, before: Snapshot, hot_ids: tuple[int, ...]
) -> dict[str, Any]:
    """The books after the run; `balanced` is True when nothing is oversold or lost."""
    ids = list(before.stock)
    mismatched = await db.fetch(
        _MISMATCHED, ids, [before.stock[i] for i in ids], before.max_order_id
    )
    sold = await db.fetchrow(_SOLD, before.max_order_id)
    orders = await db.fetchrow(_ORDERS, before.max_order_id)
    sold_out = int(await db.fetchval(_SOLD_OUT, list(hot_ids)))
    assert sold is not None and orders is not None  # noqa: S101 - aggregates return a row
    whole = all(int(orders[name]) == 0 for name in ("without_lines", "wrong_total", "wrong_events"))
    return {
        "balanced": not mismatched and whole,
        "products_mismatched": len(mismatched),
        "mismatch_samples": [dict(row) for row in mismatched[:10]],
        "orders_created": int(orders["created"]),
        "orders_cancelled": int(orders["cancelled"]),
        "orders_not_pending": int(orders["not_pending"]),
        "orders_without_lines": int(orders["without_lines"]),
        "orders_with_wrong_total": int(orders["wrong_total"]),
        "orders_without_one_event": int(orders["wrong_events"]),
        "units_sold": int(sold["units"]),
        "products_sold": int(sold["products"]),
        "hot_products_sold_out": sold_out,
    }
