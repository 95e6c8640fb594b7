"""The deterministic data set, loaded with set-based SQL (generate_series) in seconds.

- user 1 is the admin; customer i (1..N) is user i + 1, `customer<i>@bench.test`; every
  account shares one precomputed Argon2id hash of `PASSWORD`;
- product i (1..P) costs 1.00 to 999.99; products 1..H are the "hot" ones of the checkout
  rush, with a small stock; the others have plenty;
- order o (1..O) belongs to a customer picked by multiplicative hashing, is PENDING with
  its creation event, and its lines (spread evenly over the orders, distinct products,
  quantity 1..5) copy the product's name and price; its total is the sum of its lines.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from auth.passwords import Passwords
from bench.config import Config

PASSWORD = "bench-password-0123"  # noqa: S105 - the bench's throwaway accounts
ADMIN_EMAIL = "admin@bench.test"
CURRENCY = "USD"
PLENTY = 1_000_000
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def customer_email(number: int) -> str:
    """The email of customer `number` (1-based)."""
    return f"customer{number}@bench.test"


@dataclass(frozen=True, slots=True)
class DataSet:
    customers: int
    products: int
    orders: int
    items: int
    hot_ids: tuple[int, ...]
    hot_stock: int
    filtered_products: int  # products inside the W2 price bounds
    load_seconds: float


_USERS = """
INSERT INTO users (id, email, email_key, name, role, password_hash, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT 1, $3, lower($3), 'Bench Admin', 'ADMIN', $1, $4::timestamptz, $4::timestamptz
UNION ALL
SELECT 1 + i, 'customer' || i || '@bench.test', 'customer' || i || '@bench.test',
       'Customer ' || i, 'CLIENT', $1,
       $4::timestamptz + i * interval '1 second', $4::timestamptz + i * interval '1 second'
FROM generate_series(1, $2::int) AS i
"""

_PRODUCTS = """
INSERT INTO products (id, name, description, price_minor, stock, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT i,
       'Product ' || lpad(i::text, 6, '0') || ' '
           || (ARRAY['mug', 'kettle', 'beans', 'filter', 'grinder', 'scale', 'tin', 'cup'])
              [1 + i % 8],
       'Bench product number ' || i || ', a deterministic catalogue entry.',
       100 + (i::bigint * 7919) % 99900,
       CASE WHEN i <= $2::int THEN $3::int ELSE $5::int END,
       $4::timestamptz + i * interval '1 second', $4::timestamptz + i * interval '1 second'
FROM generate_series(1, $1::int) AS i
"""

# Line k belongs to order 1 + k % O and is its (k / O)-th line: distinct products per order.
_LINES = """
CREATE TEMP TABLE bench_lines ON COMMIT DROP AS
SELECT l.order_id, l.product_id, p.name AS product_name, p.price_minor AS unit_price_minor,
       l.quantity, p.price_minor * l.quantity AS subtotal_minor
FROM (
    SELECT 1 + k % $1::int AS order_id,
           1 + (((1 + k % $1::int)::bigint * 7919 + k / $1::int) % $2::int) AS product_id,
           1 + (k * 13) % 5 AS quantity
    FROM generate_series(0, $3::int - 1) AS k
) AS l JOIN products AS p ON p.id = l.product_id
"""

_ORDERS = """
INSERT INTO orders (id, customer_id, status, total_minor, currency, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT o, 2 + (o::bigint * 2654435761) % $2::int, 'PENDING', coalesce(t.total, 0), $3,
       $4::timestamptz + o * interval '1 minute', $4::timestamptz + o * interval '1 minute'
FROM generate_series(1, $1::int) AS o
LEFT JOIN (
    SELECT order_id, sum(subtotal_minor) AS total FROM bench_lines GROUP BY order_id
) AS t ON t.order_id = o
"""

_ITEMS = """
INSERT INTO order_items
    (order_id, product_id, product_name, unit_price_minor, quantity, subtotal_minor)
SELECT order_id, product_id, product_name, unit_price_minor, quantity, subtotal_minor
FROM bench_lines ORDER BY order_id, product_id
"""

_EVENTS = """
INSERT INTO order_events (order_id, from_status, to_status, actor_id, at)
SELECT id, NULL, 'PENDING', customer_id, created_at FROM orders ORDER BY id
"""

_TABLES = ("users", "products", "orders", "order_items", "order_events")
# Rows were inserted with explicit ids: move each identity past them.
_SEQUENCES = [
    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"  # noqa: S608
    for t in _TABLES
]

_FILTERED = """
SELECT count(*) FROM products
WHERE archived_at IS NULL AND price_minor BETWEEN $1::bigint AND $2::bigint
"""


def password_hash() -> str:
    """The one Argon2id hash (made the way the server makes them) that every account uses."""
    return Passwords().hash_sync(PASSWORD)


def load_data(dsn: str, config: Config, *, min_minor: int, max_minor: int) -> DataSet:
    if config.items > config.orders * config.products:
        raise ValueError("--items must not exceed orders x products (lines need distinct products)")
    started = time.perf_counter()
    hashed = password_hash()
    filtered = asyncio.run(_load(dsn, config, hashed, min_minor, max_minor))
    return DataSet(
        customers=config.customers,
        products=config.products,
        orders=config.orders,
        items=config.items,
        hot_ids=tuple(range(1, config.hot_products + 1)),
        hot_stock=config.hot_stock,
        filtered_products=filtered,
        load_seconds=time.perf_counter() - started,
    )


async def _load(dsn: str, config: Config, hashed: str, min_minor: int, max_minor: int) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(_USERS, hashed, config.customers, ADMIN_EMAIL, BASE_TIME)
            await connection.execute(
                _PRODUCTS, config.products, config.hot_products, config.hot_stock, BASE_TIME,
                PLENTY,
            )  # fmt: skip
            await connection.execute(_LINES, config.orders, config.products, config.items)
            await connection.execute(_ORDERS, config.orders, config.customers, CURRENCY, BASE_TIME)
            await connection.execute(_ITEMS)
            await connection.execute(_EVENTS)
            for statement in _SEQUENCES:
                await connection.execute(statement)
        for table in _TABLES:
            await connection.execute(f"VACUUM (ANALYZE) {table}")
        filtered = await connection.fetchval(_FILTERED, min_minor, max_minor)
    finally:
        await connection.close()
    return int(filtered)
