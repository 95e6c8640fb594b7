"""What the tests share: HTTP and GraphQL calls, SQL probes, signed-in users, and the
catalog, orders, payments, webhooks and live-server steps built on them.

Users of the in-process app are inserted with SQL and one precomputed Argon2 hash, then
signed in through the real `login` mutation, each on its own httpx client (own cookie jar,
own client address, so that the per-address login throttle never trips when many sign in
at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import itertools
import os
import re
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import orjson
import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook as Verifier
from starlette.applications import Starlette

from auth.passwords import Passwords
from db.models import Product
from resolvers.ids import from_global_id, to_global_id
from resolvers.webhook_dispatch import dispatch_due
from settings import Settings
from tests.database import asyncpg_dsn, recreate_database
from tests.live_server import SECRET, Server, measured
from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from web.state import AppState

BASE_URL = "http://127.0.0.1:8000"
PASSWORD = "correct horse battery staple"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **changes)


# --- HTTP and GraphQL --------------------------------------------------------------------


def new_client(app: Any, address: str | None = None) -> httpx.AsyncClient:
    """Another HTTP client of `app`, with a cookie jar of its own (and, given `address`,
    that client address)."""
    if address is None:
        transport = httpx.ASGITransport(app=app)
    else:
        transport = httpx.ASGITransport(app=app, client=(address, 4711))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


class ClientFactory(Protocol):
    async def __call__(self, address: str = "127.0.0.1") -> httpx.AsyncClient: ...


def cookie_header(cookies: Mapping[str, str]) -> dict[str, str]:
    """A `Cookie` header with exactly these cookies (it overrides the client's jar)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


async def post_graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    cookies: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a GraphQL document as JSON; with `cookies`, send exactly those cookies."""
    all_headers = dict(headers or {})
    if cookies is not None:
        all_headers.update(cookie_header(cookies))
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    cookies: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Like `post_graphql`, expecting 200; the decoded JSON body."""
    response = await post_graphql(client, query, variables, cookies=cookies)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The `data` of a request that must not fail at the request level."""
    body = await gql(http, query, variables)
    assert "errors" not in body, body
    return body["data"]


def error_codes(body: Mapping[str, Any]) -> list[str]:
    """The `extensions.code` of every request-level error, in order."""
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def error_code(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> str:
    """The `extensions.code` of a request that must fail at the request level."""
    body = await gql(http, query, variables)
    assert body.get("errors"), body
    codes = set(error_codes(body))
    assert len(codes) == 1, body
    return codes.pop()


def user_error_codes(payload: dict[str, Any]) -> list[str]:
    """The codes of a mutation payload's `userErrors`."""
    return [error["code"] for error in payload["userErrors"]]


def fan_out_document(levels: int, fan_out: int) -> str:
    """Fragments that each spread the previous one `fan_out` times: tiny, but the expanded
    operation has fan_out ** levels fields."""
    fragments = ["fragment F0 on Query { __typename }"]
    for level in range(1, levels + 1):
        spreads = " ".join(f"...F{level - 1}" for _ in range(fan_out))
        fragments.append(f"fragment F{level} on Query {{ {spreads} }}")
    return f"{{ ...F{levels} }} " + " ".join(fragments)


# --- Cookies -----------------------------------------------------------------------------

ACCESS = "orderly_access"
REFRESH = "orderly_refresh"
SECURE_ACCESS = "__Host-orderly_access"
SECURE_REFRESH = "__Host-orderly_refresh"


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One parsed `Set-Cookie` header; attribute names are lower-cased."""

    name: str
    value: str
    attributes: dict[str, str | bool]

    def attribute(self, name: str) -> str | bool | None:
        return self.attributes.get(name.lower())


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    """Every cookie a response sets, by name."""
    result: dict[str, SetCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        parsed: dict[str, str | bool] = {}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.strip().lower()] = attribute_value.strip() if has_value else True
        assert name not in result, f"cookie {name} set twice"
        result[name] = SetCookie(name, value, parsed)
    return result


def jar(client: httpx.AsyncClient, name: str) -> str:
    """The value of a cookie in the client's jar (it must be there)."""
    value = client.cookies.get(name)
    assert value, f"no {name} cookie in the jar"
    return value


# --- SQL ---------------------------------------------------------------------------------


async def sql_scalar(state: AppState, statement: str, **params: Any) -> Any:
    async with state.sessions() as db:
        return await db.scalar(text(statement), params)


async def sql_rows(state: AppState, statement: str, **params: Any) -> list[Any]:
    async with state.sessions() as db:
        return list(await db.execute(text(statement), params))


async def sql_execute(state: AppState, statement: str, **params: Any) -> None:
    async with state.sessions.begin() as db:
        await db.execute(text(statement), params)


async def sql_at(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """The rows of `query` on the database at `url`, on a connection of its own (a database
    that no app of the test holds: a server process's, a command's)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def count(state: AppState, table: str, where: str = "TRUE") -> int:
    return int(await sql_scalar(state, f"SELECT count(*) FROM {table} WHERE {where}") or 0)


Captured = list[tuple[str, Any]]  # statements an app sent, each with its parameters


class StatementCounter:
    """Counts the SQL statements an engine sends while `counting` is on: those SQLAlchemy
    runs, and those run on the driver directly (`db.driver`), seen by asyncpg's own query
    logger. Transaction control and the session's plan mode are not statements of a request
    (asyncpg reports the former for SQLAlchemy's transactions, the latter is set once per
    connection)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        self._engine = engine
        self._logged: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)
        event.listen(engine.sync_engine.pool, "checkout", self._watch_driver)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def _watch_driver(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        driver = record.driver_connection
        if isinstance(driver, asyncpg.Connection) and driver not in self._logged:
            driver.add_query_logger(self._record_driver)
            self._logged.add(driver)

    def _record_driver(self, logged: Any) -> None:
        words = str(logged.query).split(None, 2)
        first = words[0].upper() if words else ""
        if first in _TRANSACTION_CONTROL or words[:2] == ["SET", "plan_cache_mode"]:
            return
        self.statements.append(str(logged.query))

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()

    def close(self) -> None:
        event.remove(self._engine.sync_engine, "before_cursor_execute", self._record)
        event.remove(self._engine.sync_engine.pool, "checkout", self._watch_driver)
        for driver in list(self._logged):
            driver.remove_query_logger(self._record_driver)


_TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END"}


# --- Accounts and signed-in users --------------------------------------------------------

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { user { id email name role } userErrors { code message field } }
}
"""

LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { user { id email name role } userErrors { code message field } }
}
"""

ME = "{ me { id email name role } }"
LOGOUT = "mutation { logout { ok } }"
LOGOUT_ALL = "mutation { logoutAll { ok } }"
REFRESH_SESSION = """
mutation { refreshSession { user { id email name role } userErrors { code message field } } }
"""
CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { id email role } userErrors { code message field } }
}
"""
SET_USER_ROLE = """
mutation($id: ID!, $role: Role!) {
  setUserRole(id: $id, role: $role) { user { id email role } userErrors { code message field } }
}
"""


async def register(
    client: httpx.AsyncClient, email: str, *, name: str = "Test User", password: str = PASSWORD
) -> dict[str, Any]:
    """Register (which signs the client in) and return the payload's user."""
    body = await gql(
        client, REGISTER, {"input": {"email": email, "name": name, "password": password}}
    )
    payload = body["data"]["register"]
    assert payload["userErrors"] == [], payload
    user: dict[str, Any] = payload["user"]
    return user


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    body = await gql(client, LOGIN, {"input": {"email": email, "password": password}})
    payload: dict[str, Any] = body["data"]["login"]
    return payload


async def make_admin(state: AppState, email: str) -> None:
    """Promote a user directly in the database (as `server.py create-admin` would)."""
    await sql_execute(
        state, "UPDATE users SET role = 'ADMIN' WHERE lower(email) = lower(:email)", email=email
    )


async def register_admin(client: httpx.AsyncClient, state: AppState, email: str) -> dict[str, Any]:
    """A signed-in admin on `client` (registered, promoted, then signed in again)."""
    user = await register(client, email, name="Admin")
    await make_admin(state, email)
    payload = await login(client, email)
    assert payload["userErrors"] == [], payload
    return user


async def me_with(client: httpx.AsyncClient, access: str, name: str = ACCESS) -> Any:
    """`me` as seen with only this access cookie."""
    body = await gql(client, ME, cookies={name: access})
    assert "errors" not in body, body
    return body["data"]["me"]


async def assert_access_refused(client: httpx.AsyncClient, access: str, name: str = ACCESS) -> None:
    """The access token is not a session: `me` is null and `@authenticated` is refused."""
    assert await me_with(client, access, name) is None
    body = await gql(client, LOGOUT_ALL, cookies={name: access})
    assert body["data"] is None, body
    assert error_codes(body) == ["UNAUTHENTICATED"], body


async def assert_refresh_refused(client: httpx.AsyncClient, refresh: str) -> None:
    """`refreshSession` with only this refresh cookie is UNAUTHENTICATED and sets nothing."""
    response = await post_graphql(client, REFRESH_SESSION, cookies={REFRESH: refresh})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    assert error_codes(body) == ["UNAUTHENTICATED"], body
    assert set_cookies(response) == {}


def refresh_hash(token: str) -> bytes:
    """How a refresh token is stored (computed here independently of the app)."""
    return hashlib.sha256(token.encode()).digest()


async def user_id(state: AppState, email: str) -> int:
    found = await sql_scalar(state, "SELECT id FROM users WHERE lower(email) = lower(:e)", e=email)
    assert isinstance(found, int), f"no user {email}"
    return found


async def live_sessions(state: AppState, email: str) -> int:
    """How many unrevoked login sessions the user has."""
    return int(
        await sql_scalar(
            state,
            "SELECT count(*) FROM login_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE lower(u.email) = lower(:e) AND s.revoked_at IS NULL",
            e=email,
        )
    )


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in user with their real tokens, plus a second user's session."""

    user_id: int
    session_id: uuid.UUID
    access: str
    refresh: str
    other_user_id: int
    other_session_id: uuid.UUID


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

    @property
    def cookies(self) -> dict[str, str]:
        return dict(self.http.cookies)


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
        return await self.stack.enter_async_context(new_client(self.app, address))


# --- Catalog -----------------------------------------------------------------------------

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


async def a_product(
    state: AppState, price_minor: int = 1999, stock: int = 10, *, name: str = "Thing"
) -> str:
    """A new product, inserted; its public ID."""
    (key,) = await insert_products(state, [NewProduct(name, price_minor, stock)])
    return product_id(key)


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


# --- Orders ------------------------------------------------------------------------------

STATUSES = ("PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")

ORDER_FIELDS = """
  id status
  total { amount currency }
  customer { id email }
  items { productName quantity unitPrice { amount currency } subtotal { amount } product { id } }
"""

PLACE_ORDER = f"""
mutation Place($input: PlaceOrderInput!) {{
  placeOrder(input: $input) {{
    order {{ {ORDER_FIELDS} }}
    userErrors {{ code message field }}
  }}
}}
"""

CANCEL_ORDER = """
mutation Cancel($id: ID!, $reason: String) {
  cancelOrder(id: $id, reason: $reason) {
    order { id status }
    userErrors { code message field }
  }
}
"""

UPDATE_STATUS = """
mutation Move($id: ID!, $status: OrderStatus!, $note: String) {
  updateOrderStatus(id: $id, status: $status, note: $note) {
    order { id status }
    userErrors { code message field }
  }
}
"""

ORDER_EVENTS = """
query Events($id: ID!) {
  order(id: $id) { id status events { fromStatus toStatus actor { id } note at } }
}
"""

Lines = Sequence[tuple[str, int]]


def order_input(lines: Lines, key: str | None = None) -> dict[str, Any]:
    items = [{"productId": product, "quantity": quantity} for product, quantity in lines]
    result: dict[str, Any] = {"items": items}
    if key is not None:
        result["idempotencyKey"] = key
    return {"input": result}


async def place(http: httpx.AsyncClient, lines: Lines, key: str | None = None) -> dict[str, Any]:
    """The `placeOrder` payload (the request itself must not fail)."""
    payload: dict[str, Any] = (await data(http, PLACE_ORDER, order_input(lines, key)))["placeOrder"]
    return payload


async def place_ok(http: httpx.AsyncClient, lines: Lines, key: str | None = None) -> dict[str, Any]:
    """The order of a `placeOrder` that must succeed."""
    payload = await place(http, lines, key)
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def an_order(
    state: AppState, customer: Actor, *, price_minor: int = 1999, quantity: int = 2
) -> dict[str, Any]:
    """A new PENDING order of `customer` (for a new product of its own, "Widget")."""
    widget = await a_product(state, price_minor, name="Widget")
    return await place_ok(customer.http, [(widget, quantity)])


async def cancel(
    http: httpx.AsyncClient, order_id: str, reason: str | None = None
) -> dict[str, Any]:
    variables = {"id": order_id, "reason": reason}
    payload: dict[str, Any] = (await data(http, CANCEL_ORDER, variables))["cancelOrder"]
    return payload


async def move(
    http: httpx.AsyncClient, order_id: str, status: str, note: str | None = None
) -> dict[str, Any]:
    variables = {"id": order_id, "status": status, "note": note}
    payload: dict[str, Any] = (await data(http, UPDATE_STATUS, variables))["updateOrderStatus"]
    return payload


async def move_ok(admin: Actor, order_id: str, *statuses: str) -> None:
    """Walk an order through `statuses` as an admin."""
    for status in statuses:
        payload = await move(admin.http, order_id, status)
        assert payload["userErrors"] == [], payload
        assert payload["order"]["status"] == status


def order_key(public_id: str) -> int:
    return from_global_id(public_id, "Order")


async def order_status(state: AppState, public_id: str) -> str:
    status: str = await sql_scalar(
        state, "SELECT status FROM orders WHERE id = :id", id=order_key(public_id)
    )
    return status


async def event_rows(state: AppState, public_id: str) -> list[Any]:
    return await sql_rows(
        state,
        "SELECT from_status, to_status, actor_id, note FROM order_events "
        "WHERE order_id = :id ORDER BY at, id",
        id=order_key(public_id),
    )


async def units_sold(state: AppState) -> dict[int, int]:
    """Units per product in orders that still hold their stock (not cancelled)."""
    rows = await sql_rows(
        state,
        """
        SELECT i.product_id, sum(i.quantity) AS units
        FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE o.status <> 'CANCELLED' GROUP BY i.product_id
        """,
    )
    return {int(row.product_id): int(row.units) for row in rows}


@dataclass(frozen=True, slots=True)
class Placed:
    id: str
    owner: str
    units: int  # at 10.00 each
    status: str
    created_at: datetime

    @property
    def total_minor(self) -> int:
        return self.units * 1000


@dataclass(frozen=True, slots=True)
class Shop:
    admin: Actor
    ann: Actor
    bob: Actor
    orders: list[Placed]

    def ids(self, **where: Any) -> set[str]:
        return {o.id for o in self.orders if all(getattr(o, k) == v for k, v in where.items())}


# --- Payments ----------------------------------------------------------------------------

PAYMENT_FIELDS = """
  id status amount { amount currency } provider providerReference clientSecret createdAt updatedAt
"""
START_PAYMENT = f"""
mutation Start($orderId: ID!) {{
  startPayment(orderId: $orderId) {{
    payment {{ {PAYMENT_FIELDS} }}
    userErrors {{ code message field }}
  }}
}}
"""
ORDER_PAYMENT = f"""
query OrderPayment($id: ID!) {{ order(id: $id) {{ id status payment {{ {PAYMENT_FIELDS} }} }} }}
"""
_stripe_events = itertools.count(1)


async def start_payment(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """The `startPayment` payload."""
    payload: dict[str, Any] = (await data(http, START_PAYMENT, {"orderId": order_id}))[
        "startPayment"
    ]
    return payload


async def start_payment_ok(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    payload = await start_payment(http, order_id)
    assert payload["userErrors"] == [], payload
    payment: dict[str, Any] = payload["payment"]
    return payment


async def order_with_payment(
    state: AppState, customer: Actor, *, price_minor: int = 1999, quantity: int = 3
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A PENDING order of `customer` with its payment started: (order, payment)."""
    thing = await a_product(state, price_minor)
    order = await place_ok(customer.http, [(thing, quantity)])
    return order, await start_payment_ok(customer.http, order["id"])


def stripe_signature(
    payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """A `Stripe-Signature` header per Stripe's scheme: HMAC-SHA256 of "<t>.<body>"."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(kind: str, subject: dict[str, Any], event_id: str | None = None) -> bytes:
    """A Stripe event's JSON body about `subject` (an intent, a charge)."""
    body = {
        "id": event_id or f"evt_fake{next(_stripe_events)}_{time.monotonic_ns()}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": subject},
    }
    return orjson.dumps(body)


async def deliver_stripe_event(
    http: httpx.AsyncClient, body: bytes, *, signature: str | None = None, **headers: str
) -> httpx.Response:
    """POST an event to the webhook as Stripe does (signed unless `signature` is given)."""
    sent = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0",
        "Stripe-Signature": stripe_signature(body) if signature is None else signature,
        **headers,
    }
    return await http.post("/webhooks/stripe", content=body, headers=sent)


async def payment_row(state: AppState, order_public_id: str) -> Any:
    rows = await sql_rows(
        state, "SELECT * FROM payments WHERE order_id = :id", id=order_key(order_public_id)
    )
    return rows[0] if rows else None


async def processed_events(state: AppState) -> list[Any]:
    return await sql_rows(state, "SELECT * FROM payment_provider_events ORDER BY received_at")


def database_env(settings: Settings) -> dict[str, str]:
    """The environment that points a server or command process at the test database as
    the test's own app reaches it (through PgBouncer too, with TEST_PGBOUNCER=1)."""
    assert settings.database_url is not None
    env = {"DATABASE_URL": settings.database_url}
    if settings.db_pgbouncer:
        env["DB_PGBOUNCER"] = "true"
    if settings.database_direct_url:
        env["DATABASE_DIRECT_URL"] = settings.database_direct_url
    return env


def server_with_stripe(
    tmp: Path, settings: Settings, fake: FakeStripe, *, timeout_minutes: int
) -> Server:
    """A ready `server.py serve` with two workers, taking payments through `fake`."""
    server = Server(
        tmp,
        {
            **database_env(settings), "SECRET_KEY": SECRET, "WORKERS": "2",
            "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": fake.url,
            "PAYMENT_TIMEOUT": str(timeout_minutes),
        },
    )  # fmt: skip
    server.wait_ready()
    return server


# --- Webhooks ----------------------------------------------------------------------------

WEBHOOK_FIELDS = "id url events description active createdAt"

CREATE_WEBHOOK = f"""
mutation Create($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret userErrors {{ code message field }}
  }}
}}
"""

UPDATE_WEBHOOK = f"""
mutation Update($id: ID!, $input: UpdateWebhookInput!) {{
  updateWebhook(id: $id, input: $input) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret userErrors {{ code message field }}
  }}
}}
"""

DELETE_WEBHOOK = """
mutation Delete($id: ID!) {
  deleteWebhook(id: $id) { deletedId userErrors { code message field } }
}
"""

REPLAY = f"""
mutation Replay($id: ID!) {{
  replayWebhookDelivery(id: $id) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret userErrors {{ code message field }}
  }}
}}
"""

WEBHOOKS = f"""
query Webhooks {{
  webhooks(first: 10) {{
    totalCount
    nodes {{
      {WEBHOOK_FIELDS}
      deliveries(first: 50) {{
        totalCount
        nodes {{ id event status attempts lastResponseCode nextAttemptAt createdAt }}
      }}
    }}
  }}
}}
"""

ALL_EVENTS = ["ORDER_CREATED", "ORDER_PAID", "ORDER_SHIPPED", "ORDER_DELIVERED", "ORDER_CANCELLED"]


async def create_webhook(
    admin: Actor, url: str, events: list[str] | None = None, description: str | None = None
) -> dict[str, Any]:
    """The createWebhook payload."""
    variables = {"input": {"url": url, "events": events or ALL_EVENTS, "description": description}}
    payload: dict[str, Any] = (await data(admin.http, CREATE_WEBHOOK, variables))["createWebhook"]
    return payload


async def webhook_ok(admin: Actor, url: str, events: list[str] | None = None) -> dict[str, Any]:
    payload = await create_webhook(admin, url, events)
    assert payload["userErrors"] == [], payload
    return payload


async def update_webhook(admin: Actor, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The updateWebhook payload."""
    variables = {"id": webhook_id, "input": changes}
    payload: dict[str, Any] = (await data(admin.http, UPDATE_WEBHOOK, variables))["updateWebhook"]
    return payload


async def listed_webhooks(admin: Actor) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await data(admin.http, WEBHOOKS))["webhooks"]["nodes"]
    return nodes


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
    """The body, once the Standard Webhooks reference implementation accepts its signature."""
    payload: dict[str, object] = Verifier(secret).verify(body, headers)
    return payload


async def drain(state: AppState, settings: Settings, rounds: int = 20) -> None:
    """Run the dispatcher until nothing is due (retries here come after a millisecond)."""
    for _ in range(rounds):
        if await dispatch_due(state.sessions, settings) == 0:
            due = await count(state, "webhook_deliveries", "status = 'PENDING'")
            if due == 0:
                return
            await asyncio.sleep(0.01)


# --- Metrics -----------------------------------------------------------------------------

METRICS_TOKEN = "metrics-token-0123456789abcdef"


def sample(text: str, metric: str, **labels: str) -> float:
    """The sample of `metric` whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for match in re.finditer(rf"^{re.escape(metric)}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


# --- A live server process (subscriptions) -----------------------------------------------

_live_numbers = itertools.count(1)
_LIVE_PASSWORDS = Passwords(memory_kib=64, time_cost=1)


@dataclass(frozen=True, slots=True)
class Live:
    server: Server
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url


MakeUser = Callable[..., Awaitable[Actor]]


def live_server(
    tmp_path_factory: pytest.TempPathFactory, admin_database_url: str, name: str, workers: int
) -> Iterator[Live]:
    url = recreate_database(admin_database_url, name)
    server = Server(
        tmp_path_factory.mktemp(name),
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "WORKERS": str(workers)},
    )
    try:
        server.wait_ready()
        yield Live(server, url)
        server.stop()  # a clean stop: the workers close their sockets (and write coverage)
    finally:
        server.kill()


async def live_user(live: Live, *, admin: bool = False) -> Actor:
    """A new account of the live server (inserted, as registering is throttled per
    address), signed in on a client of its own."""
    email = f"live{next(_live_numbers)}@example.com"
    role = "ADMIN" if admin else "CLIENT"
    [row] = await sql_at(
        live.database_url,
        "INSERT INTO users (email, email_key, name, role, password_hash)"
        " VALUES ($1, $1, 'Live', $2, $3) RETURNING id",
        email, role, password_hash(_LIVE_PASSWORDS),
    )  # fmt: skip
    http = httpx.AsyncClient(base_url=live.url)
    signed = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return Actor(http, int(row["id"]), email, role)


async def settle() -> None:
    """Give a subscribe message time to reach its worker before a change is made."""
    await asyncio.sleep(0.3)


# --- The command line -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
CLI_SECRET = "cli-test-secret-that-is-long-enough-0123456789"


def run_cli(
    *args: str, env: dict[str, str] | None = None, tmp: Path
) -> subprocess.CompletedProcess[str]:
    """`server.py <args>` run in `tmp`, with a secret key and the data folder under `tmp`."""
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp)),
        "ORDERLY_DATA_DIR": str(tmp / "data"),
        "SECRET_KEY": CLI_SECRET,
        **measured(),
    }
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py"), *args],
        env=environ, capture_output=True, text=True, timeout=120, cwd=tmp, stdin=subprocess.DEVNULL,
    )  # fmt: skip
