"""Checkout under faults: workers killed, backends terminated, PostgreSQL restarted.

A real server with two workers against a PostgreSQL of the test's own. Customers place
orders for a minute, each retrying a failed attempt with the same idempotency key until it
gets a definite answer, while workers are SIGKILLed (twice within ten seconds once), every
API connection is terminated every five seconds, and PostgreSQL restarts once. Afterwards
the books must balance and every answer must have been honest.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from resolvers.ids import from_global_id, to_global_id
from tests.database import asyncpg_dsn
from tests.disposable_database import DisposableDatabase, wait_until
from tests.helpers import PASSWORD
from tests.live_server import Server

pytestmark = pytest.mark.slow

DURATION = 60.0
CUSTOMERS = 6
PRODUCTS = 5
STARTING_STOCK = 400
WORKER_KILLS_AT = (10.0, 16.0, 38.0)  # the first two within ten seconds of each other
TERMINATE_EVERY = 5.0
RESTART_AT = 28.0
SETTLE = 30.0  # after the faults stop, outstanding keys keep retrying for this long

PLACE = """mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id items { product { id } quantity } }
    userErrors { code message }
  }
}"""


@dataclass(slots=True)
class Ledger:
    """Every answer each idempotency key got."""

    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> order
    refused: dict[str, str] = field(default_factory=dict)  # key -> userErrors code
    failures: Counter[str] = field(default_factory=Counter)  # kind of failed attempt -> count
    dishonest: list[str] = field(default_factory=list)  # answers that must never happen
    outstanding: set[str] = field(default_factory=set)


async def _products(url: str) -> list[int]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "INSERT INTO products (name, price_minor, stock) "
            "SELECT 'Product ' || n, 100 * n, $1 FROM generate_series(1, $2) n RETURNING id",
            STARTING_STOCK,
            PRODUCTS,
        )
    finally:
        await connection.close()
    return [int(row["id"]) for row in rows]


async def _attempt(
    http: httpx.AsyncClient, key: str, items: list[dict[str, Any]], ledger: Ledger
) -> bool:
    """One attempt; True when the key got a definite answer."""
    try:
        response = await http.post(
            "/graphql",
            json={"query": PLACE, "variables": {"input": {"items": items, "idempotencyKey": key}}},
        )
    except httpx.TransportError as error:
        ledger.failures[f"transport: {type(error).__name__}"] += 1
        return False
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/")
        else {}
    )
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    if response.status_code == 503 and codes and set(codes) == {"UNAVAILABLE"}:
        ledger.failures["503 UNAVAILABLE"] += 1
        return False
    payload = (body.get("data") or {}).get("placeOrder") if response.status_code == 200 else None
    if payload and payload["order"] is not None and not codes:
        ledger.acknowledged[key] = payload["order"]
        return True
    if payload and payload["userErrors"] and not codes:
        ledger.refused[key] = payload["userErrors"][0]["code"]
        return True
    ledger.dishonest.append(f"{response.status_code} {response.text[:300]}")
    return False


async def _customer(
    url: str, number: int, products: list[int], ledger: Ledger, until: float, settle: float
) -> None:
    rng = random.Random(number)
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        signed_up = await http.post(
            "/api/auth/register",
            json={"email": f"shopper{number}@example.com", "password": PASSWORD, "name": "S"},
        )
        assert signed_up.status_code == 201, signed_up.text
        while time.monotonic() < until:
            key = uuid.uuid4().hex
            chosen = rng.sample(products, rng.randint(1, 2))
            items = [
                {"productId": to_global_id("Product", p), "quantity": rng.randint(1, 3)}
                for p in chosen
            ]
            ledger.outstanding.add(key)
            while not await _attempt(http, key, items, ledger):
                if time.monotonic() > settle:
                    return  # reported as outstanding
                await asyncio.sleep(0.05)
            ledger.outstanding.discard(key)


async def _terminate_connections(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ended = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'orderly'"
        )
    finally:
        await connection.close()
    return int(ended or 0)


async def _faults(faults_server: Server, database: DisposableDatabase, started: float) -> list[str]:
    """The fault schedule; a log of what was done when."""
    done: list[str] = []
    kills = list(WORKER_KILLS_AT)
    restarted = False
    next_terminate = started + TERMINATE_EVERY
    while (now := time.monotonic()) < started + DURATION:
        elapsed = now - started
        if kills and elapsed >= kills[0]:
            kills.pop(0)
            workers = faults_server.workers()
            if workers:
                victim = random.choice(workers)
                victim.kill()
                done.append(f"{elapsed:5.1f}s killed worker {victim.pid}")
        if not restarted and elapsed >= RESTART_AT:
            restarted = True
            await asyncio.to_thread(database.stop)
            await asyncio.sleep(1)
            await asyncio.to_thread(database.start)
            done.append(f"{elapsed:5.1f}s restarted PostgreSQL")
        if now >= next_terminate:
            next_terminate += TERMINATE_EVERY
            try:
                ended = await _terminate_connections(database.url)
                done.append(f"{elapsed:5.1f}s terminated {ended} connections")
            except (OSError, asyncpg.PostgresError) as error:
                done.append(f"{elapsed:5.1f}s could not terminate: {error}")
        await asyncio.sleep(0.1)
    return done


async def _run(faults_server: Server, database: DisposableDatabase, products: list[int]) -> Ledger:
    ledger = Ledger()
    started = time.monotonic()
    until, settle = started + DURATION, started + DURATION + SETTLE
    shoppers = [
        _customer(faults_server.url, n, products, ledger, until, settle) for n in range(CUSTOMERS)
    ]
    faults = asyncio.create_task(_faults(faults_server, database, started))
    await asyncio.gather(*shoppers)
    print("\n".join(await faults))  # shown with the failure report
    return ledger


async def _books(url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stock = {
            r["id"]: r["stock"] for r in await connection.fetch("SELECT id, stock FROM products")
        }
        sold = {
            r["product_id"]: r["units"]
            for r in await connection.fetch(
                "SELECT i.product_id, sum(i.quantity) AS units FROM order_items i "
                "JOIN orders o ON o.id = i.order_id WHERE o.status <> 'CANCELLED' "
                "GROUP BY i.product_id"
            )
        }
        orders = {
            r["idempotency_key"]: r["id"]
            for r in await connection.fetch("SELECT id, idempotency_key FROM orders")
        }
        lines = {
            (r["order_id"], r["product_id"]): r["quantity"]
            for r in await connection.fetch(
                "SELECT order_id, product_id, quantity FROM order_items"
            )
        }
        duplicate_keys = await connection.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM orders GROUP BY customer_id, idempotency_key "
            "HAVING count(*) > 1) d"
        )
    finally:
        await connection.close()
    return {
        "stock": stock, "sold": sold, "orders": orders, "lines": lines,
        "duplicate_keys": duplicate_keys,
    }  # fmt: skip


def test_checkout_stays_honest_under_faults(
    faults_server: Server, database: DisposableDatabase
) -> None:
    products = asyncio.run(_products(database.url))
    ledger = asyncio.run(_run(faults_server, database, products))

    wait_until(
        lambda: faults_server.process.poll() is None and len(faults_server.workers()) == 2,
        timeout=30,
        what="two workers serving again",
    )
    assert httpx.get(faults_server.url + "/readyz", timeout=5).status_code == 200
    books = asyncio.run(_books(database.url))

    assert ledger.dishonest == []
    assert ledger.outstanding == set(), "keys that never got a definite answer"
    assert len(ledger.acknowledged) > 50, ledger  # the run placed real orders
    assert ledger.failures, "the faults caused no failed attempt at all"
    assert set(ledger.failures) <= {"503 UNAVAILABLE"} | {
        kind for kind in ledger.failures if kind.startswith("transport: ")
    }
    for product in products:
        assert books["stock"][product] + books["sold"].get(product, 0) == STARTING_STOCK
    assert books["duplicate_keys"] == 0
    for key, order in ledger.acknowledged.items():
        order_key = from_global_id(order["id"], "Order")
        assert books["orders"].get(key) == order_key, f"acknowledged order {key} is missing"
        for item in order["items"]:
            line = (order_key, from_global_id(item["product"]["id"], "Product"))
            assert books["lines"][line] == item["quantity"]
    # An order whose every attempt was answered as a failure would be an order the customer
    # was told does not exist: every order in the database was acknowledged.
    assert set(books["orders"]) == set(ledger.acknowledged)
    assert not set(ledger.refused) & set(books["orders"])
    assert "Traceback" not in faults_server.output()
