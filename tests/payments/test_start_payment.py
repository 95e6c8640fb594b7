"""Starting a payment: one PaymentIntent per order for its exact total, shown to its customer."""

from __future__ import annotations

import asyncio

from tests.helpers import (
    ORDER_PAYMENT,
    Accounts,
    Actor,
    a_product,
    cancel,
    count,
    data,
    move_ok,
    order_key,
    payment_row,
    place_ok,
    snapshot,
    start_payment,
    start_payment_ok,
)
from tests.payments.fake_stripe import FakeStripe
from web.state import AppState


async def test_a_payment_is_created_for_the_exact_total(
    state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    first, second = await a_product(state, 1999), await a_product(state, 5)
    order = await place_ok(customer.http, [(first, 3), (second, 1)])  # 59.97 + 0.05
    payment = await start_payment_ok(customer.http, order["id"])

    (call,) = fake_stripe.calls("POST", "/v1/payment_intents")
    assert call.params["amount"] == "6002"
    assert call.params["currency"] == "usd"
    assert call.params["metadata[order_id]"] == order["id"]
    assert call.params["automatic_payment_methods[enabled]"] == "true"
    assert call.idempotency_key is not None
    assert call.idempotency_key.startswith(f"orderly-order-{order_key(order['id'])}-")
    intent = fake_stripe.intents[payment["providerReference"]]
    assert payment["status"] == "REQUIRES_PAYMENT"
    assert payment["amount"] == {"amount": "60.02", "currency": "USD"} == order["total"]
    assert payment["provider"] == "stripe"
    assert payment["clientSecret"] == intent["client_secret"]
    row = await payment_row(state, order["id"])
    assert (row.amount_minor, row.currency, row.provider_reference) == (6002, "USD", intent["id"])


async def test_a_repeat_returns_the_same_payment_and_creates_nothing(
    state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    first = await start_payment_ok(customer.http, order["id"])
    again = await start_payment_ok(customer.http, order["id"])
    assert again == first
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1
    assert await count(state, "payments") == 1


async def test_concurrent_starts_make_one_intent_and_one_payment(
    state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    url = f"/api/orders/{order['id']}/payment"
    answers = await asyncio.gather(*(customer.http.post(url) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(fake_stripe.intents) == 1  # every call carried the same idempotency key
    keys = {call.idempotency_key for call in fake_stripe.calls("POST", "/v1/payment_intents")}
    assert len(keys) == 1
    assert await count(state, "payments") == 1


async def test_rest_answers_201_then_200_and_the_order_carries_the_payment(
    state: AppState, customer: Actor, admin: Actor
) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 2)])
    created = await customer.http.post(f"/api/orders/{order['id']}/payment")
    assert created.status_code == 201, created.text
    repeated = await customer.http.post(f"/api/orders/{order['id']}/payment")
    assert repeated.status_code == 200
    assert repeated.json() == created.json()
    payment = created.json()
    assert payment["amount"] == {"amount": "39.98", "currency": "USD"}
    assert payment["clientSecret"]

    mine = (await customer.http.get(f"/api/orders/{order['id']}")).json()
    assert mine["payment"] == payment
    theirs = (await admin.http.get(f"/api/orders/{order['id']}")).json()
    assert theirs["payment"] == {**payment, "clientSecret": None}
    listed = (await admin.http.get("/api/orders")).json()["items"]
    assert listed[0]["payment"]["clientSecret"] is None


async def test_graphql_shows_the_client_secret_to_the_customer_only(
    state: AppState, customer: Actor, admin: Actor
) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    payment = await start_payment_ok(customer.http, order["id"])
    mine = (await data(customer.http, ORDER_PAYMENT, {"id": order["id"]}))["order"]
    assert mine["payment"] == payment
    theirs = (await data(admin.http, ORDER_PAYMENT, {"id": order["id"]}))["order"]
    assert theirs["payment"] == {**payment, "clientSecret": None}
    # The same through the standard executor (a document the compiled path does not take).
    aliased = (
        "query($id: ID!) { order(id: $id) { payment { clientSecret } } __schema { __typename } }"
    )
    body = await data(admin.http, aliased, {"id": order["id"]})
    assert body["order"]["payment"] == {"clientSecret": None}
    body = await data(customer.http, aliased, {"id": order["id"]})
    assert body["order"]["payment"] == {"clientSecret": payment["clientSecret"]}


async def test_an_order_without_a_payment_has_none(state: AppState, customer: Actor) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    assert (await data(customer.http, ORDER_PAYMENT, {"id": order["id"]}))["order"][
        "payment"
    ] is None
    assert (await customer.http.get(f"/api/orders/{order['id']}")).json()["payment"] is None


async def test_another_customers_order_is_not_found_and_nothing_is_created(
    state: AppState, accounts: Accounts, fake_stripe: FakeStripe
) -> None:
    owner, other = await accounts.create(2)
    order = await place_ok(owner.http, [(await a_product(state), 1)])
    before = await snapshot(state)
    payload = await start_payment(other.http, order["id"])
    assert payload["payment"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    answer = await other.http.post(f"/api/orders/{order['id']}/payment")
    assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"
    missing = await start_payment(other.http, "T3JkZXI6OTk5OTk")  # Order:99999
    assert [e["code"] for e in missing["userErrors"]] == ["NOT_FOUND"]
    assert fake_stripe.requests == []
    assert await count(state, "payments") == 0
    assert await snapshot(state) == before


async def test_an_order_that_is_not_pending_cannot_be_paid(
    state: AppState, customer: Actor, admin: Actor, fake_stripe: FakeStripe
) -> None:
    paid = await place_ok(customer.http, [(await a_product(state), 1)])
    await move_ok(admin, paid["id"], "PAID")
    cancelled = await place_ok(customer.http, [(await a_product(state), 1)])
    assert (await cancel(customer.http, cancelled["id"]))["userErrors"] == []
    before = await snapshot(state)
    for order in (paid, cancelled):
        payload = await start_payment(customer.http, order["id"])
        assert payload["payment"] is None
        assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"]
        answer = await customer.http.post(f"/api/orders/{order['id']}/payment")
        assert answer.status_code == 409 and answer.json()["code"] == "INVALID_TRANSITION"
    assert fake_stripe.requests == []
    assert await count(state, "payments") == 0
    assert await snapshot(state) == before


async def test_a_provider_failure_is_payment_provider_error_and_stores_nothing(
    state: AppState, customer: Actor, fake_stripe: FakeStripe
) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    fake_stripe.fail("/v1/payment_intents", 500)
    payload = await start_payment(customer.http, order["id"])
    assert payload["payment"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["PAYMENT_PROVIDER_ERROR"]
    assert "unavailable" in payload["userErrors"][0]["message"]
    fake_stripe.fail("/v1/payment_intents", 402, code="card_declined")
    answer = await customer.http.post(f"/api/orders/{order['id']}/payment")
    assert answer.status_code == 502 and answer.json()["code"] == "PAYMENT_PROVIDER_ERROR"
    assert await count(state, "payments") == 0
    assert await start_payment_ok(customer.http, order["id"])  # once the provider answers again


async def test_signed_out_is_refused(state: AppState, accounts: Accounts, customer: Actor) -> None:
    order = await place_ok(customer.http, [(await a_product(state), 1)])
    anonymous = await accounts.anonymous()
    answer = await anonymous.post(f"/api/orders/{order['id']}/payment")
    assert answer.status_code == 401
    assert await count(state, "payments") == 0
