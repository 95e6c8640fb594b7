"""Shared helpers of the catalog and orders suites: signed-in actors, products, SQL probes.

Users are inserted with SQL and one precomputed Argon2 hash, then signed in through the
real `login` mutation, each on its own httpx client (own cookie jar, own client address so
that the per-address login throttle never trips when many sign in at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import insert, text
from starlette.applications import Starlette

from auth.passwords import Passwords
from db.models import Product
from resolvers.ids import from_global_id, to_global_id
from tests.helpers import BASE_URL, PASSWORD, data, login, sql_rows
from web.state import AppState


@functools.cache
def password_hash(passwords: Passwords) -> str:
    """One real Argon2 hash of `PASSWORD`, shared by every user a test inserts."""
    return passwords.hash_sync(PASSWORD)


@dataclass(frozen=True, slots=True)
class Actor:
    """A signed-in user and the HTTP client that carries their session cookies."""

    http: httpx.AsyncClient
    key: int
    email: str
    role: str

    @property
    def id(self) -> str:
        return to_global_id("User", self.key)


@dataclass(slots=True)
class Accounts:
    """Creates signed-in actors on one app; their clients close with the fixture."""

    app: Starlette
    state: AppState
    stack: contextlib.AsyncExitStack
    created: int = field(default=0)

    async def anonymous(self) -> httpx.AsyncClient:
        self.created += 1
        return await self._client(self.created)

    async def create(self, count: int, *, role: str = "CLIENT") -> list[Actor]:
        """`count` new users with `role`, each signed in on a fresh client."""
        first = self.created + 1
        self.created += count
        numbers = range(first, first + count)
        emails = [f"{role.lower()}{n}@example.com" for n in numbers]
        hashed = password_hash(self.state.passwords)
        async with self.state.sessions.begin() as db:
            rows = await db.execute(
                text("""
                    INSERT INTO users (email, email_key, name, role, password_hash)
                    SELECT e, lower(e), 'User ' || e, :role, :hash
                    FROM unnest(CAST(:emails AS text[])) e
                    RETURNING id, email
                """),
                {"emails": emails, "role": role, "hash": hashed},
            )
            keys = {row.email: int(row.id) for row in rows}
        clients = [await self._client(n) for n in numbers]
        signed = await asyncio.gather(*(login(c, e) for c, e in zip(clients, emails, strict=True)))
        for payload in signed:
            assert payload["userErrors"] == [], payload
        return [
            Actor(http=c, key=keys[e], email=e, role=role)
            for c, e in zip(clients, emails, strict=True)
        ]

    async def one(self, *, role: str = "CLIENT") -> Actor:
        return (await self.create(1, role=role))[0]

    async def _client(self, number: int) -> httpx.AsyncClient:
        address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
        transport = httpx.ASGITransport(app=self.app, client=(address, 4711))
        http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        return await self.stack.enter_async_context(http)


# --- GraphQL -----------------------------------------------------------------------------


CREATE_PRODUCT = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { id name description price { amount currency } stock createdAt updatedAt }
    userErrors { code message field }
  }
}
"""

UPDATE_PRODUCT = """
mutation Update($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) {
    product { id name description price { amount currency } stock createdAt updatedAt }
    userErrors { code message field }
  }
}
"""

DELETE_PRODUCT = """
mutation Delete($id: ID!) {
  deleteProduct(id: $id) { deletedId userErrors { code message field } }
}
"""


async def create_product(
    admin: Actor, name: str, price: str, stock: int, description: str = ""
) -> str:
    """Create a product through the API; its public ID."""
    variables = {
        "input": {"name": name, "price": price, "stock": stock, "description": description}
    }
    payload = (await data(admin.http, CREATE_PRODUCT, variables))["createProduct"]
    assert payload["userErrors"] == [], payload
    product_id: str = payload["product"]["id"]
    return product_id


# --- SQL ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewProduct:
    name: str
    price_minor: int = 1000
    stock: int = 10
    description: str = ""


async def insert_products(state: AppState, products: Sequence[NewProduct]) -> list[int]:
    """Insert products in one transaction (so they share `created_at`); their keys, in order."""
    rows = [
        {
            "name": p.name,
            "price_minor": p.price_minor,
            "stock": p.stock,
            "description": p.description,
        }
        for p in products
    ]
    async with state.sessions.begin() as db:
        keys = await db.scalars(
            insert(Product).returning(Product.id, sort_by_parameter_order=True), rows
        )
        return list(keys)


def product_id(key: int) -> str:
    return to_global_id("Product", key)


def product_key(public_id: str) -> int:
    return from_global_id(public_id, "Product")


async def stocks(state: AppState) -> dict[int, int]:
    """Every product's stock, archived ones included."""
    rows = await sql_rows(state, "SELECT id, stock FROM products")
    return {int(row.id): int(row.stock) for row in rows}


async def product_rows(state: AppState) -> list[tuple[Any, ...]]:
    """Every column of every product, to prove that nothing at all changed."""
    rows = await sql_rows(state, "SELECT * FROM products ORDER BY id")
    return [tuple(row) for row in rows]


async def table_counts(state: AppState) -> dict[str, int]:
    rows = await sql_rows(
        state,
        """
        SELECT (SELECT count(*) FROM products) AS products,
               (SELECT count(*) FROM orders) AS orders,
               (SELECT count(*) FROM order_items) AS order_items,
               (SELECT count(*) FROM order_events) AS order_events
        """,
    )
    return {name: int(value) for name, value in rows[0]._mapping.items()}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a refused write must leave exactly as it was."""

    counts: dict[str, int]
    products: list[tuple[Any, ...]]
    orders: list[tuple[Any, ...]]


async def snapshot(state: AppState) -> Snapshot:
    orders = await sql_rows(state, "SELECT id, status, updated_at FROM orders ORDER BY id")
    return Snapshot(
        counts=await table_counts(state),
        products=await product_rows(state),
        orders=[tuple(row) for row in orders],
    )
