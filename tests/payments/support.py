"""Placing orders, starting payments and delivering signed Stripe events, for the tests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from settings import Settings
from tests.catalog.support import Actor, NewProduct, insert_products, product_id
from tests.helpers import PASSWORD, data, sql_rows
from tests.live_server import SECRET, Server
from tests.orders.support import order_key, place_ok
from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from web.state import AppState

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
_events = itertools.count(1)


async def start(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """The `startPayment` payload."""
    payload: dict[str, Any] = (await data(http, START_PAYMENT, {"orderId": order_id}))[
        "startPayment"
    ]
    return payload


async def start_ok(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    payload = await start(http, order_id)
    assert payload["userErrors"] == [], payload
    payment: dict[str, Any] = payload["payment"]
    return payment


async def product(state: AppState, price_minor: int = 1999, stock: int = 10) -> str:
    (key,) = await insert_products(state, [NewProduct("Thing", price_minor, stock)])
    return product_id(key)


async def order_with_payment(
    state: AppState, customer: Actor, *, price_minor: int = 1999, quantity: int = 3
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A PENDING order of `customer` with its payment started: (order, payment)."""
    thing = await product(state, price_minor)
    order = await place_ok(customer.http, [(thing, quantity)])
    return order, await start_ok(customer.http, order["id"])


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header per Stripe's scheme: HMAC-SHA256 of "<t>.<body>"."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event(kind: str, subject: dict[str, Any], event_id: str | None = None) -> bytes:
    """A Stripe event's JSON body about `subject` (an intent, a charge)."""
    body = {
        "id": event_id or f"evt_fake{next(_events)}_{time.monotonic_ns()}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": subject},
    }
    return orjson.dumps(body)


async def deliver(
    http: httpx.AsyncClient, body: bytes, *, signature: str | None = None, **headers: str
) -> httpx.Response:
    """POST an event to the webhook as Stripe does (signed unless `signature` is given)."""
    sent = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0",
        "Stripe-Signature": sign(body) if signature is None else signature,
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


def stripe_server(
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


REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { userErrors { code } } }"
PLACE = """mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code } } }"""


async def sign_up(http: httpx.AsyncClient, email: str) -> None:
    """Register (and so sign in) a customer on `http`'s server."""
    variables = {"input": {"email": email, "name": "Customer", "password": PASSWORD}}
    registered = await http.post("/graphql", json={"query": REGISTER, "variables": variables})
    assert registered.json()["data"]["register"]["userErrors"] == []


async def place_and_start(
    http: httpx.AsyncClient, product_id: str, quantity: int, *, pay: bool
) -> dict[str, Any]:
    """Place an order over HTTP and, with `pay`, start its payment; the payment (or {})."""
    items = {"input": {"items": [{"productId": product_id, "quantity": quantity}]}}
    placed = await http.post("/graphql", json={"query": PLACE, "variables": items})
    order_id = placed.json()["data"]["placeOrder"]["order"]["id"]
    if not pay:
        return {}
    started = await http.post(
        "/graphql", json={"query": START_PAYMENT, "variables": {"orderId": order_id}}
    )
    payload: dict[str, Any] = started.json()["data"]["startPayment"]
    assert payload["userErrors"] == [], payload
    payment: dict[str, Any] = payload["payment"]
    return payment
