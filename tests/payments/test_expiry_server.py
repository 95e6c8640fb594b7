"""The sweepers of a real server's workers expire unpaid orders, each once.

A server with two workers (each starts its sweeper from the application's lifespan) and a
one-minute payment timeout: orders made old enough are cancelled with "payment timeout",
restocked once, and their PaymentIntents cancelled once at (the fake) Stripe.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import (
    a_product,
    place_ok,
    register,
    sql_execute,
    sql_rows,
    start_payment_ok,
    stocks,
)
from tests.live_server import Server
from tests.payments.fake_stripe import FakeStripe
from web.state import AppState

pytestmark = pytest.mark.slow


async def test_the_workers_sweepers_expire_each_unpaid_order_once(
    server_expiring_unpaid_orders: Server, state: AppState, fake_stripe: FakeStripe
) -> None:
    thing = await a_product(state, stock=20)
    async with httpx.AsyncClient(base_url=server_expiring_unpaid_orders.url, timeout=10) as http:
        await register(http, "late@example.com", name="Customer")
        for n in range(6):
            order = await place_ok(http, [(thing, 1 + n % 2)])
            if n % 2:
                await start_payment_ok(http, order["id"])
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
