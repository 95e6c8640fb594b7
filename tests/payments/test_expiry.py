"""Reservations that expire: unpaid PENDING orders past the timeout are cancelled and
restocked once, however many sweepers race, and their PaymentIntents cancelled at Stripe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from db.engine import create_engine, create_session_factory
from resolvers.payment_provider import PaymentProvider, provider_from_settings
from resolvers.payments import Sessions, expire_unpaid_orders, run_expiry_sweeper
from settings import Settings
from tests.helpers import (
    Actor,
    a_product,
    database_env,
    deliver_stripe_event,
    event_rows,
    order_key,
    order_status,
    order_with_payment,
    payment_row,
    place_ok,
    run_cli,
    sql_execute,
    sql_rows,
    start_payment_ok,
    stocks,
    stripe_event,
)
from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from web.state import AppState


async def _age(state: AppState, public_ids: list[str], minutes: int) -> None:
    """Make orders look `minutes` old."""
    await sql_execute(
        state,
        "UPDATE orders SET created_at = now() - make_interval(mins => :minutes) "
        "WHERE id = ANY(:ids)",
        minutes=minutes,
        ids=[order_key(i) for i in public_ids],
    )


async def _expire(state: AppState) -> int:
    return await expire_unpaid_orders(state.sessions, state.payments, timeout_minutes=30)


async def test_an_unpaid_order_past_the_timeout_is_cancelled_restocked_and_its_intent_cancelled(
    state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    thing = await a_product(state, stock=10)
    due = await place_ok(customer.http, [(thing, 3)])
    payment = await start_payment_ok(customer.http, due["id"])
    unstarted = await place_ok(customer.http, [(thing, 2)])  # no payment started: expires too
    recent = await place_ok(customer.http, [(thing, 1)])
    await _age(state, [due["id"], unstarted["id"]], 31)
    await _age(state, [recent["id"]], 29)
    assert sum((await stocks(state)).values()) == 4

    assert await _expire(state) == 2
    assert await _expire(state) == 0  # once
    assert sum((await stocks(state)).values()) == 9
    for order in (due, unstarted):
        assert await order_status(state, order["id"]) == "CANCELLED"
        last = (await event_rows(state, order["id"]))[-1]
        assert (last.from_status, last.to_status, last.actor_id, last.note) == (
            "PENDING", "CANCELLED", None, "payment timeout",
        )  # fmt: skip
    assert await order_status(state, recent["id"]) == "PENDING"
    assert fake_stripe.intents[payment["providerReference"]]["status"] == "canceled"
    assert (await payment_row(state, due["id"])).status == "CANCELED"
    (call,) = fake_stripe.calls("POST", "/v1/payment_intents/")
    assert call.path == f"/v1/payment_intents/{payment['providerReference']}/cancel"


async def test_paid_and_being_paid_orders_do_not_expire(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    paid, paid_payment = await order_with_payment(state, customer)
    paying, paying_payment = await order_with_payment(state, customer)
    intent = fake_stripe.set_status(paid_payment["providerReference"], "succeeded")
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    ).status_code == 200
    # Paid at Stripe, its webhook not here yet: Stripe refuses to cancel it, so it stays.
    succeeded = fake_stripe.set_status(paying_payment["providerReference"], "succeeded")
    await _age(state, [paid["id"], paying["id"]], 45)

    assert await _expire(state) == 0
    assert await _expire(state) == 0
    assert await order_status(state, paid["id"]) == "PAID"
    assert await order_status(state, paying["id"]) == "PENDING"
    assert (await payment_row(state, paying["id"])).status == "PROCESSING"
    assert len(fake_stripe.calls("POST", "/v1/payment_intents/")) == 1  # asked once
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", succeeded))
    ).status_code == 200
    assert await order_status(state, paying["id"]) == "PAID"


async def test_stripe_unreachable_still_expires_and_a_late_success_is_refunded(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    await _age(state, [order["id"]], 31)
    fake_stripe.fail("/v1/payment_intents/", 503)
    assert await _expire(state) == 1
    assert await order_status(state, order["id"]) == "CANCELLED"
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    ).status_code == 200
    assert await order_status(state, order["id"]) == "CANCELLED"
    assert (await payment_row(state, order["id"])).status == "REFUNDED"
    assert len(fake_stripe.refunds) == 1


async def test_four_racing_sweepers_expire_each_order_once_and_restock_it_once(
    state: AppState, settings: Settings, database_url: str, customer: Actor, fake_stripe: FakeStripe
) -> None:
    things = [await a_product(state, stock=100) for _ in range(3)]
    orders = []
    for n in range(24):
        orders.append(
            await place_ok(customer.http, [(things[n % 3], 1 + n % 4), (things[(n + 1) % 3], 2)])
        )
    for order in orders[::2]:
        await start_payment_ok(customer.http, order["id"])
    await _age(state, [o["id"] for o in orders], 31)
    initial = 300

    async with contextlib.AsyncExitStack() as stack:
        workers = [
            await stack.enter_async_context(_worker(settings, database_url)) for _ in range(4)
        ]
        counts = await asyncio.gather(
            *(expire_unpaid_orders(s, p, timeout_minutes=30, batch=3) for s, p in workers)
        )
    assert sum(counts) == 24
    assert sum(1 for c in counts if c) >= 2  # the work was shared
    assert sum((await stocks(state)).values()) == initial
    cancelled = await sql_rows(
        state,
        "SELECT order_id, count(*) AS n FROM order_events WHERE to_status = 'CANCELLED' "
        "GROUP BY order_id",
    )
    assert sorted(row.order_id for row in cancelled) == sorted(order_key(o["id"]) for o in orders)
    assert {row.n for row in cancelled} == {1}
    cancels = [c.path for c in fake_stripe.calls("POST", "/v1/payment_intents/")]
    assert len(cancels) == len(set(cancels)) == 12


@contextlib.asynccontextmanager
async def _worker(
    settings: Settings, database_url: str
) -> AsyncIterator[tuple[Sessions, PaymentProvider | None]]:
    """What one worker process has: its own pool and its own Stripe client."""
    engine = create_engine(settings, database_url)
    provider = provider_from_settings(settings)
    try:
        yield create_session_factory(engine), provider
    finally:
        await engine.dispose()
        if provider is not None:
            await provider.close()


async def test_the_sweeper_of_a_worker_expires_orders_as_they_fall_due(
    state: AppState, customer: Actor
) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    await _age(state, [order["id"]], 31)
    sweeper = asyncio.create_task(
        run_expiry_sweeper(state.sessions, state.payments, timeout_minutes=30, interval=0.05)
    )
    try:
        for _ in range(200):  # 10 s at most
            if await order_status(state, order["id"]) == "CANCELLED":
                break
            await asyncio.sleep(0.05)
    finally:
        sweeper.cancel()
    assert await order_status(state, order["id"]) == "CANCELLED"


async def test_expire_orders_runs_one_pass_from_the_command_line(
    state: AppState, settings: Settings, customer: Actor, fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    order, payment = await order_with_payment(state, customer)
    await _age(state, [order["id"]], 31)
    env = {**database_env(settings), "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": SECRET_KEY,
           "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": fake_stripe.url}  # fmt: skip
    result = await asyncio.to_thread(run_cli, "expire-orders", env=env, tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "expired 1 unpaid order" in result.stdout
    assert await order_status(state, order["id"]) == "CANCELLED"
    assert fake_stripe.intents[payment["providerReference"]]["status"] == "canceled"
    off = await asyncio.to_thread(
        run_cli, "expire-orders", env=database_env(settings), tmp=tmp_path
    )
    assert off.returncode == 2 and "PAYMENT_TIMEOUT" in off.stderr
