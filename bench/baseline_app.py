"""The baselines: what this stack can do at best, served by uvicorn like the real server.

    uvicorn bench.baseline_app:create_app --factory --workers N

- POST /sql/w1 and /sql/w2: the equivalent work of W1 and W2 by hand: raw asyncpg (a pool,
  one connection per request), orjson, a bare Starlette route. W1 authenticates the access
  cookie like the server (JWT check, then one query for the live session and its user),
  fetches the page, then the customers, the lines and their products in one batch each, and
  builds the same JSON as the GraphQL response. W2 reads the cursor from the GraphQL body.
- POST /static/w1 and /static/w2: the recorded response bytes, from memory: the HTTP ceiling.

Configuration (environment): BENCH_DSN, SECRET_KEY, DB_POOL_SIZE, BENCH_STATIC_DIR,
BENCH_MIN_MINOR / BENCH_MAX_MINOR (the W2 price bounds in minor units).
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.tokens import read_access_token
from resolvers.ids import to_global_id
from resolvers.pagination import encode_cursor

ACCESS_COOKIE = "orderly_access"
CURRENCY = "USD"
W1_PAGE = 20
W2_PAGE = 50

# The statements the server runs for W1 and W2, as plain SQL.
VIEWER = """
SELECT u.id, u.email, u.name, u.role, u.created_at
FROM login_sessions AS s JOIN users AS u ON u.id = s.user_id
WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
"""
ORDERS_ALL = """
SELECT id, customer_id, status, total_minor, currency FROM orders
ORDER BY created_at DESC, id DESC LIMIT $1
"""
ORDERS_OWN = """
SELECT id, customer_id, status, total_minor, currency FROM orders WHERE customer_id = $2
ORDER BY created_at DESC, id DESC LIMIT $1
"""
USERS = "SELECT id, email FROM users WHERE id = ANY($1::bigint[])"
ITEMS = """
SELECT order_id, product_id, product_name, unit_price_minor, quantity FROM order_items
WHERE order_id = ANY($1::bigint[]) ORDER BY product_id
"""
PRODUCTS = "SELECT id, name, price_minor FROM products WHERE id = ANY($1::bigint[])"
CATALOG_FIRST = """
SELECT id, name, price_minor, stock, created_at FROM products
WHERE archived_at IS NULL AND price_minor >= $1 AND price_minor <= $2
ORDER BY created_at DESC, id DESC LIMIT $3
"""
CATALOG_AFTER = """
SELECT id, name, price_minor, stock, created_at FROM products
WHERE archived_at IS NULL AND price_minor >= $1 AND price_minor <= $2
  AND (created_at, id) < ($4, $5)
ORDER BY created_at DESC, id DESC LIMIT $3
"""

JSON_HEADERS = {"content-type": "application/json"}
UNAUTHENTICATED = orjson.dumps(
    {"data": None, "errors": [{"message": "Sign in.", "extensions": {"code": "UNAUTHENTICATED"}}]}
)


def amount(minor: int) -> str:
    """Two-digit minor units as the Decimal string the API prints ("19.90")."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    value, row_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return datetime.fromisoformat(value), int(row_id)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset statements on release: the baseline never changes session state."""


class Baseline:
    def __init__(self) -> None:
        self.dsn = os.environ["BENCH_DSN"]
        self.secret = os.environ["SECRET_KEY"]
        self.pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))
        static = Path(os.environ["BENCH_STATIC_DIR"])
        self.w1_bytes = (static / "w1.json").read_bytes()
        self.w2_bytes = (static / "w2.json").read_bytes()
        self.min_minor = int(os.environ["BENCH_MIN_MINOR"])
        self.max_minor = int(os.environ["BENCH_MAX_MINOR"])
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None  # noqa: S101 - opened by the lifespan
        return self._pool

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_size,
            server_settings={"application_name": "orderly-baseline"},
            reset=_keep_session,
        )
        try:
            yield
        finally:
            await self._pool.close()

    async def readyz(self, request: Request) -> Response:
        await self.pool.fetchval("SELECT 1")
        return Response(b'{"status":"ready"}', headers=JSON_HEADERS)

    async def sql_w1(self, request: Request) -> Response:
        await request.body()
        token = request.cookies.get(ACCESS_COOKIE)
        claims = read_access_token(self.secret, token) if token else None
        if claims is None:
            return Response(UNAUTHENTICATED, headers=JSON_HEADERS)
        async with self.pool.acquire() as db:
            viewer = await db.fetchrow(VIEWER, claims.session_id, claims.user_id)
            if viewer is None:
                return Response(UNAUTHENTICATED, headers=JSON_HEADERS)
            admin = viewer["role"] == "ADMIN"
            if admin:
                orders = await db.fetch(ORDERS_ALL, W1_PAGE + 1)
            else:
                orders = await db.fetch(ORDERS_OWN, W1_PAGE + 1, viewer["id"])
            page = orders[:W1_PAGE]
            order_ids = [row["id"] for row in page]
            customer_ids = sorted({row["customer_id"] for row in page})
            users = {row["id"]: row["email"] for row in await db.fetch(USERS, customer_ids)}
            lines = await db.fetch(ITEMS, order_ids)
            product_ids = sorted({row["product_id"] for row in lines})
            products = {row["id"]: row for row in await db.fetch(PRODUCTS, product_ids)}
        by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            product = products[line["product_id"]]
            by_order[line["order_id"]].append(
                {
                    "quantity": line["quantity"],
                    "unitPrice": {"amount": amount(line["unit_price_minor"])},
                    "productName": line["product_name"],
                    "product": {
                        "name": product["name"],
                        "price": {"amount": amount(product["price_minor"])},
                    },
                }
            )
        edges = [
            {
                "node": {
                    "status": row["status"],
                    "total": {"amount": amount(row["total_minor"])},
                    "customer": {
                        "email": users[row["customer_id"]]
                        if admin or row["customer_id"] == viewer["id"]
                        else None
                    },
                    "items": by_order.get(row["id"], []),
                }
            }
            for row in page
        ]
        body = orjson.dumps({"data": {"orders": {"edges": edges}}})
        return Response(body, headers=JSON_HEADERS)

    async def sql_w2(self, request: Request) -> Response:
        payload = orjson.loads(await request.body())
        after = (payload.get("variables") or {}).get("after")
        bounds = (self.min_minor, self.max_minor, W2_PAGE + 1)
        if after:
            created_at, row_id = decode_cursor(after)
            rows = await self.pool.fetch(CATALOG_AFTER, *bounds, created_at, row_id)
        else:
            rows = await self.pool.fetch(CATALOG_FIRST, *bounds)
        page = rows[:W2_PAGE]
        edges = [
            {
                "cursor": encode_cursor(row["created_at"], row["id"]),
                "node": {
                    "id": to_global_id("Product", row["id"]),
                    "name": row["name"],
                    "price": {"amount": amount(row["price_minor"]), "currency": CURRENCY},
                    "stock": row["stock"],
                },
            }
            for row in page
        ]
        body = orjson.dumps(
            {
                "data": {
                    "products": {
                        "edges": edges,
                        "pageInfo": {
                            "hasNextPage": len(rows) > W2_PAGE,
                            "endCursor": edges[-1]["cursor"] if edges else None,
                        },
                    }
                }
            }
        )
        return Response(body, headers=JSON_HEADERS)

    async def static_w1(self, request: Request) -> Response:
        await request.body()
        return Response(self.w1_bytes, headers=JSON_HEADERS)

    async def static_w2(self, request: Request) -> Response:
        await request.body()
        return Response(self.w2_bytes, headers=JSON_HEADERS)


def create_app() -> Starlette:
    baseline = Baseline()
    return Starlette(
        routes=[
            Route("/readyz", baseline.readyz, methods=["GET"]),
            Route("/sql/w1", baseline.sql_w1, methods=["POST"]),
            Route("/sql/w2", baseline.sql_w2, methods=["POST"]),
            Route("/static/w1", baseline.static_w1, methods=["POST"]),
            Route("/static/w2", baseline.static_w2, methods=["POST"]),
        ],
        lifespan=baseline.lifespan,
    )
