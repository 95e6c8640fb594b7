"""Refunds: an admin cancelling a paid order, and money arriving for a cancelled order."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import (
    Actor,
    cancel,
    deliver_stripe_event,
    event_rows,
    move,
    order_status,
    order_with_payment,
    payment_row,
    snapshot,
    stocks,
    stripe_event,
)
from tests.payments.fake_stripe import FakeStripe
from web.state import AppState


async def _paid(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake: FakeStripe
) -> tuple[dict[str, Any], dict[str, Any]]:
    order, payment = await order_with_payment(state, customer, quantity=3)
    intent = fake.set_status(payment["providerReference"], "succeeded")
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    ).status_code == 200
    return order, intent


async def test_an_admin_cancelling_a_paid_order_refunds_it_then_restocks(
    client: httpx.AsyncClient,
    state: AppState,
    customer: Actor,
    admin: Actor,
    fake_stripe: FakeStripe,
) -> None:
    order, intent = await _paid(client, state, customer, fake_stripe)
    stock_before = await stocks(state)
    payload = await cancel(admin.http, order["id"], "customer changed their mind")
    assert payload["userErrors"] == [], payload
    (refund_call,) = fake_stripe.calls("POST", "/v1/refunds")
    assert refund_call.params["payment_intent"] == intent["id"]
    assert refund_call.idempotency_key == f"orderly-refund-{intent['id']}"
    (refund,) = fake_stripe.refunds.values()
    row = await payment_row(state, order["id"])
    assert (row.status, row.refunded_minor, row.refund_reference) == (
        "REFUNDED",
        5997,
        refund["id"],
    )
    assert await order_status(state, order["id"]) == "CANCELLED"
    assert sum((await stocks(state)).values()) == sum(stock_before.values()) + 3


async def test_cancelling_through_update_order_status_and_rest_refunds_too(
    client: httpx.AsyncClient,
    state: AppState,
    customer: Actor,
    admin: Actor,
    fake_stripe: FakeStripe,
) -> None:
    first, _ = await _paid(client, state, customer, fake_stripe)
    second, _ = await _paid(client, state, customer, fake_stripe)
    assert (await move(admin.http, first["id"], "CANCELLED"))["userErrors"] == []
    answer = await admin.http.post(f"/api/orders/{second['id']}/cancel", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["payment"]["status"] == "REFUNDED"
    assert len(fake_stripe.refunds) == 2


async def test_a_failed_refund_is_payment_provider_error_and_the_order_is_unchanged(
    client: httpx.AsyncClient,
    state: AppState,
    customer: Actor,
    admin: Actor,
    fake_stripe: FakeStripe,
) -> None:
    order, _ = await _paid(client, state, customer, fake_stripe)
    before = await snapshot(state)
    events_before = await event_rows(state, order["id"])
    fake_stripe.fail("/v1/refunds", 500)
    payload = await cancel(admin.http, order["id"])
    assert payload["order"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["PAYMENT_PROVIDER_ERROR"]
    fake_stripe.fail("/v1/refunds", 402, code="insufficient_funds")
    answer = await admin.http.patch(
        f"/api/orders/{order['id']}/status", json={"status": "CANCELLED"}
    )
    assert answer.status_code == 502 and answer.json()["code"] == "PAYMENT_PROVIDER_ERROR"
    assert await snapshot(state) == before
    assert await event_rows(state, order["id"]) == events_before
    assert (await payment_row(state, order["id"])).status == "SUCCEEDED"
    assert fake_stripe.refunds == {}
    # Once the provider answers, the same cancel refunds once and goes through.
    assert (await cancel(admin.http, order["id"]))["userErrors"] == []
    assert len(fake_stripe.refunds) == 1


async def test_cancelling_an_order_paid_by_hand_calls_no_provider(
    state: AppState, customer: Actor, admin: Actor, fake_stripe: FakeStripe
) -> None:
    order, _ = await order_with_payment(state, customer)
    assert (await move(admin.http, order["id"], "PAID"))["userErrors"] == []  # by hand
    assert (await cancel(admin.http, order["id"]))["userErrors"] == []
    assert fake_stripe.calls("POST", "/v1/refunds") == []


async def test_a_customer_cancelling_an_unpaid_order_cancels_its_intent(
    state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    assert (await cancel(customer.http, order["id"]))["userErrors"] == []
    assert fake_stripe.intents[payment["providerReference"]]["status"] == "canceled"
    assert (await payment_row(state, order["id"])).status == "CANCELED"


async def test_a_success_for_a_cancelled_order_is_refunded_once(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    fake_stripe.fail("/v1/payment_intents/", 500)  # the intent could not be cancelled
    assert (await cancel(customer.http, order["id"]))["userErrors"] == []
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")  # paid anyway
    body = stripe_event("payment_intent.succeeded", intent)
    assert (await deliver_stripe_event(client, body)).status_code == 200
    assert (await deliver_stripe_event(client, body)).status_code == 200
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    ).status_code == 200
    assert await order_status(state, order["id"]) == "CANCELLED"
    (refund,) = fake_stripe.refunds.values()
    assert refund["payment_intent"] == intent["id"] and refund["amount"] == intent["amount"]
    row = await payment_row(state, order["id"])
    assert (row.status, row.refund_reference) == ("REFUNDED", refund["id"])
    assert [e.to_status for e in await event_rows(state, order["id"])] == ["PENDING", "CANCELLED"]


async def test_a_late_success_whose_refund_fails_is_delivered_again(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    fake_stripe.fail("/v1/payment_intents/", 500)
    assert (await cancel(customer.http, order["id"]))["userErrors"] == []
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    body = stripe_event("payment_intent.succeeded", intent)
    fake_stripe.fail("/v1/refunds", 500)
    failed = await deliver_stripe_event(client, body)
    assert failed.status_code == 503  # Stripe delivers it again later
    assert (await payment_row(state, order["id"])).status == "REQUIRES_PAYMENT"
    assert (await deliver_stripe_event(client, body)).status_code == 200
    assert (await payment_row(state, order["id"])).status == "REFUNDED"
    assert len(fake_stripe.refunds) == 1


async def test_cancelling_an_order_already_refunded_at_stripe_goes_through(
    client: httpx.AsyncClient,
    state: AppState,
    customer: Actor,
    admin: Actor,
    fake_stripe: FakeStripe,
) -> None:
    order, intent = await _paid(client, state, customer, fake_stripe)
    fake_stripe.intents[intent["id"]]["refunded"] = True  # refunded in the Dashboard
    assert (await cancel(admin.http, order["id"]))["userErrors"] == []
    assert await order_status(state, order["id"]) == "CANCELLED"
    assert (await payment_row(state, order["id"])).status == "REFUNDED"
    assert fake_stripe.refunds == {}
