"""Stripe's deliveries while workers are killed: no order paid twice, none left PENDING.

A real server with two workers and Stripe payments (the local fake). Thirty paid orders'
successes are each delivered three times at once, retried as Stripe retries (after a
connection error or a 5xx) until acknowledged, while workers are SIGKILLed.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.helpers import (
    a_product,
    place_ok,
    register,
    sql_rows,
    start_payment_ok,
    stripe_event,
    stripe_signature,
)
from tests.live_server import Server
from tests.payments.fake_stripe import FakeStripe
from web.state import AppState

pytestmark = pytest.mark.slow

ORDERS = 30


async def _deliver_until_acknowledged(http: httpx.AsyncClient, body: bytes) -> int:
    """Deliver as Stripe does: again after a failure, until a 2xx; how many attempts."""
    for attempt in range(1, 200):
        try:
            signature = stripe_signature(body)
            signed = {"Content-Type": "application/json", "Stripe-Signature": signature}
            answer = await http.post("/webhooks/stripe", content=body, headers=signed)
            if answer.status_code == 200:
                return attempt
            assert answer.status_code >= 500, answer.text  # never a 4xx for a good event
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("never acknowledged")


async def _kill_workers(server_taking_payments: Server) -> int:
    killed = 0
    for pause in (0.1, 0.4, 0.4):
        await asyncio.sleep(pause)
        workers = server_taking_payments.workers()
        if workers:
            random.choice(workers).kill()
            killed += 1
    return killed


async def test_deliveries_during_worker_kills_pay_every_order_once(
    server_taking_payments: Server, state: AppState, fake_stripe: FakeStripe
) -> None:
    thing = await a_product(state, price_minor=1250, stock=ORDERS)
    async with httpx.AsyncClient(base_url=server_taking_payments.url, timeout=10) as http:
        await register(http, "payer@example.com", name="Customer")
        bodies = []
        for _ in range(ORDERS):
            order = await place_ok(http, [(thing, 1)])
            payment = await start_payment_ok(http, order["id"])
            intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
            bodies.append(stripe_event("payment_intent.succeeded", intent))
        async with httpx.AsyncClient(base_url=server_taking_payments.url, timeout=5) as stripe:
            deliveries = [_deliver_until_acknowledged(stripe, b) for b in bodies for _ in range(3)]
            killed, *attempts = await asyncio.gather(
                _kill_workers(server_taking_payments), *deliveries
            )
    assert killed >= 2
    assert max(attempts) > 1  # some deliveries met a killed worker and were retried

    rows = await sql_rows(
        state,
        "SELECT o.id, o.status, (SELECT count(*) FROM order_events e "
        "WHERE e.order_id = o.id AND e.to_status = 'PAID') AS paid FROM orders o",
    )
    assert len(rows) == ORDERS
    assert {(row.status, row.paid) for row in rows} == {("PAID", 1)}
    events = await sql_rows(state, "SELECT outcome FROM payment_provider_events")
    assert [row.outcome for row in events] == ["paid"] * ORDERS
    assert fake_stripe.refunds == {}
