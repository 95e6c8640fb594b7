"""The sweepers of a real server's workers expire unpaid orders, each once.

A server with two workers (each starts its sweeper from the application's lifespan) and a
one-minute payment timeout: orders made old enough are cancelled with "payment timeout",
restocked once, and their PaymentIntents cancelled once at (the fake) Stripe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settings import Settings
from tests.catalog.support import sql_execute, sql_rows, stocks
from tests.helpers import PASSWORD
from tests.live_server import SECRET, Server
from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from tests.payments.support import START_PAYMENT, database_env, product
from web.state import AppState

pytestmark = pytest.mark.slow

REGISTER = (
    """mutation($input: RegisterInput!) { register(input: $input) { userErrors { code } } }"""
)
PLACE = """mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code } } }"""


@pytest.fixture
def server(tmp_path: Path, settings: Settings, fake_stripe: FakeStripe) -> Iterator[Server]:
    running = Server(
        tmp_path,
        {
            **database_env(settings), "SECRET_KEY": SECRET, "WORKERS": "2",
            "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": fake_stripe.url,
            "PAYMENT_TIMEOUT": "1",
        },
    )  # fmt: skip
    running.wait_ready()
    yield running
    running.stop()


async def test_the_workers_sweepers_expire_each_unpaid_order_once(
    server: Server, state: AppState, fake_stripe: FakeStripe
) -> None:
    thing = await product(state, stock=20)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        variables = {"input": {"email": "late@example.com", "name": "L", "password": PASSWORD}}
        registered = await http.post("/graphql", json={"query": REGISTER, "variables": variables})
        assert registered.json()["data"]["register"]["userErrors"] == []
        for n in range(6):
            items = {"input": {"items": [{"productId": thing, "quantity": 1 + n % 2}]}}
            placed = await http.post("/graphql", json={"query": PLACE, "variables": items})
            order_id = placed.json()["data"]["placeOrder"]["order"]["id"]
            if n % 2:
                started = await http.post(
                    "/graphql", json={"query": START_PAYMENT, "variables": {"orderId": order_id}}
                )
                assert started.json()["data"]["startPayment"]["userErrors"] == []
    assert sum((await stocks(state)).values()) == 20 - 9
    await sql_execute(state, "UPDATE orders SET created_at = now() - interval '2 minutes'")

    for _ in range(120):  # the sweepers run every 7.5 to 22.5 s with a one-minute timeout
        statuses = await sql_rows(state, "SELECT status FROM orders")
        if {row.status for row in statuses} == {"CANCELLED"}:
            break
        await asyncio.sleep(0.5)
    events = await sql_rows(
        state,
        "SELECT order_id, count(*) AS n, min(note) AS note, count(actor_id) AS actors "
        "FROM order_events WHERE to_status = 'CANCELLED' GROUP BY order_id",
    )
    assert len(events) == 6
    assert {(row.n, row.note, row.actors) for row in events} == {(1, "payment timeout", 0)}
    assert sum((await stocks(state)).values()) == 20
    cancels = [c.path for c in fake_stripe.calls("POST", "/v1/payment_intents/")]
    assert len(cancels) == len(set(cancels)) == 3
