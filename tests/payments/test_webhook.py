"""The Stripe webhook: verified deliveries, each event applied once, money checked."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.helpers import (
    Actor,
    deliver_stripe_event,
    event_rows,
    order_status,
    order_with_payment,
    payment_row,
    processed_events,
    snapshot,
    stripe_event,
    stripe_signature,
)
from tests.payments.fake_stripe import FakeStripe
from web.state import AppState


async def test_a_success_marks_the_order_paid_by_no_one_with_a_note_naming_stripe(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    answer = await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    assert answer.status_code == 200, answer.text
    assert await order_status(state, order["id"]) == "PAID"
    events = await event_rows(state, order["id"])
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "PENDING"),
        ("PENDING", "PAID"),
    ]
    assert events[-1].actor_id is None
    assert events[-1].note == f"Paid through Stripe ({intent['id']})"
    assert (await payment_row(state, order["id"])).status == "SUCCEEDED"
    shown = (await customer.http.get(f"/api/orders/{order['id']}")).json()
    assert shown["status"] == "PAID" and shown["payment"]["status"] == "SUCCEEDED"
    assert shown["events"][-1]["actor"] is None


async def test_twenty_concurrent_deliveries_of_one_event_pay_the_order_once(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    body = stripe_event("payment_intent.succeeded", intent)
    answers = await asyncio.gather(*(deliver_stripe_event(client, body) for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    again = await deliver_stripe_event(client, body)  # and once more, later
    assert again.status_code == 200
    assert await order_status(state, order["id"]) == "PAID"
    paid = [e for e in await event_rows(state, order["id"]) if e.to_status == "PAID"]
    assert len(paid) == 1
    (processed,) = await processed_events(state)
    assert processed.outcome == "paid"


async def test_a_second_success_event_for_the_same_intent_changes_nothing(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    ).status_code == 200
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    ).status_code == 200
    assert len([e for e in await event_rows(state, order["id"]) if e.to_status == "PAID"]) == 1


async def test_bad_signatures_and_stale_timestamps_are_400_and_change_nothing(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    body = stripe_event("payment_intent.succeeded", intent)
    before = await snapshot(state)
    stale = int(time.time()) - 301
    refused = [
        await deliver_stripe_event(
            client, body, signature=stripe_signature(body, secret="whsec_someone_else")
        ),
        await deliver_stripe_event(client, body, signature=stripe_signature(body, timestamp=stale)),
        await deliver_stripe_event(client, body, signature=""),
        await deliver_stripe_event(client, body, signature="t=1,v1=00"),
        await deliver_stripe_event(client, body, signature="garbage"),
        await deliver_stripe_event(
            client, body + b" ", signature=stripe_signature(body)
        ),  # the body was altered
    ]
    assert [a.status_code for a in refused] == [400] * len(refused)
    assert all(a.headers["content-type"] == "application/problem+json" for a in refused)
    assert await snapshot(state) == before
    assert await processed_events(state) == []
    assert (await payment_row(state, order["id"])).status == "REQUIRES_PAYMENT"
    recent = await deliver_stripe_event(
        client, body, signature=stripe_signature(body, timestamp=int(time.time()) - 290)
    )
    assert recent.status_code == 200
    assert await order_status(state, order["id"]) == "PAID"


async def test_a_signed_body_that_is_not_an_event_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
        answer = await deliver_stripe_event(client, body)
        assert answer.status_code == 400, body
    assert await processed_events(state) == []


async def test_an_amount_or_currency_mismatch_is_logged_and_never_pays(
    client: httpx.AsyncClient,
    state: AppState,
    customer: Actor,
    fake_stripe: FakeStripe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    order, payment = await order_with_payment(state, customer, price_minor=1999, quantity=3)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    assert intent["amount_received"] == 5997
    for changed in ({"amount_received": 5996}, {"currency": "eur"}, {"amount_received": None}):
        answer = await deliver_stripe_event(
            client, stripe_event("payment_intent.succeeded", {**intent, **changed})
        )
        assert answer.status_code == 200  # acknowledged, so that Stripe stops retrying
    assert await order_status(state, order["id"]) == "PENDING"
    assert (await payment_row(state, order["id"])).status == "REQUIRES_PAYMENT"
    outcomes = [row.outcome for row in await processed_events(state)]
    assert outcomes == ["amount mismatch: not paid"] * 3
    assert caplog.text.count("the order is not marked paid") == 3


async def test_unknown_event_types_and_foreign_intents_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    before = await snapshot(state)
    customer_created = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert (await deliver_stripe_event(client, customer_created)).status_code == 200
    stranger = {"id": "pi_elsewhere", "object": "payment_intent", "amount": 5997,
                "amount_received": 5997, "currency": "usd", "status": "succeeded"}  # fmt: skip
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", stranger))
    ).status_code == 200
    assert await snapshot(state) == before
    assert [row.outcome for row in await processed_events(state)] == [
        "ignored: not a payment of this shop"
    ]


async def test_a_failure_is_recorded_and_a_later_success_still_pays(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    intent = fake_stripe.intents[payment["providerReference"]]
    failed = {**intent, "last_payment_error": {"message": "Your card was declined."}}
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.payment_failed", failed))
    ).status_code == 200
    row = await payment_row(state, order["id"])
    assert (row.status, row.failure_message) == ("FAILED", "Your card was declined.")
    assert await order_status(state, order["id"]) == "PENDING"
    shown = (await customer.http.get(f"/api/orders/{order['id']}")).json()["payment"]
    assert shown["status"] == "FAILED"

    succeeded = fake_stripe.set_status(intent["id"], "succeeded")
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", succeeded))
    ).status_code == 200
    assert await order_status(state, order["id"]) == "PAID"
    # A failure delivered late (out of order) does not undo the success.
    assert (
        await deliver_stripe_event(client, stripe_event("payment_intent.payment_failed", failed))
    ).status_code == 200
    assert (await payment_row(state, order["id"])).status == "SUCCEEDED"


async def test_a_refund_made_at_stripe_is_recorded(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer, price_minor=1000, quantity=2)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    await deliver_stripe_event(client, stripe_event("payment_intent.succeeded", intent))
    charge = {"id": "ch_1", "object": "charge", "payment_intent": intent["id"], "amount": 2000,
              "currency": "usd", "amount_refunded": 500, "refunded": False}  # fmt: skip
    assert (
        await deliver_stripe_event(client, stripe_event("charge.refunded", charge))
    ).status_code == 200
    row = await payment_row(state, order["id"])
    assert (row.status, row.refunded_minor) == ("SUCCEEDED", 500)
    whole = {**charge, "amount_refunded": 2000, "refunded": True}
    assert (
        await deliver_stripe_event(client, stripe_event("charge.refunded", whole))
    ).status_code == 200
    row = await payment_row(state, order["id"])
    assert (row.status, row.refunded_minor) == ("REFUNDED", 2000)
    assert await order_status(state, order["id"]) == "PAID"  # the money, not the order


async def test_the_webhook_is_outside_the_cookie_and_cross_site_rules(
    client: httpx.AsyncClient, state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order, payment = await order_with_payment(state, customer)
    intent = fake_stripe.set_status(payment["providerReference"], "succeeded")
    body = stripe_event("payment_intent.succeeded", intent)
    # A foreign Origin and a media type the API refuses: no cookie is read here, the
    # signature is the only authentication.
    answer = await deliver_stripe_event(
        client, body, Origin="https://elsewhere.example", **{"Content-Type": "text/plain"}
    )
    assert answer.status_code == 200, answer.text
    assert await order_status(state, order["id"]) == "PAID"
    assert (await client.get("/webhooks/stripe")).status_code == 405
