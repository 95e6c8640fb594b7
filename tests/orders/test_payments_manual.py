"""With PAYMENTS=manual (the default), no payment is started and the webhook is not there."""

from __future__ import annotations

import httpx

from tests.helpers import Actor, NewProduct, data, insert_products, place_ok, product_id, snapshot
from web.state import AppState

START = """
mutation($id: ID!) { startPayment(orderId: $id) { payment { id } userErrors { code field } } }
"""


async def test_starting_a_payment_is_payments_disabled(state: AppState, customer: Actor) -> None:
    (key,) = await insert_products(state, [NewProduct("Thing")])
    order = await place_ok(customer.http, [(product_id(key), 1)])
    before = await snapshot(state)
    payload = (await data(customer.http, START, {"id": order["id"]}))["startPayment"]
    assert payload == {
        "payment": None,
        "userErrors": [{"code": "PAYMENTS_DISABLED", "field": None}],
    }
    answer = await customer.http.post(f"/api/orders/{order['id']}/payment")
    assert answer.status_code == 409 and answer.json()["code"] == "PAYMENTS_DISABLED"
    assert await snapshot(state) == before
    shown = (await customer.http.get(f"/api/orders/{order['id']}")).json()
    assert shown["payment"] is None


async def test_the_stripe_webhook_is_not_found(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1"}
    )
    assert answer.status_code == 404
