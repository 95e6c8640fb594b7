from __future__ import annotations

import httpx

from tests.helpers import gql, register, register_admin
from web.state import AppState


async def test_flow(client: httpx.AsyncClient, state: AppState, app: object) -> None:
    await register_admin(client, state, "boss@example.com")
    made = await gql(
        client,
        'mutation { createProduct(input: {name: "Mug", price: "12.50", stock: 3}) { product { id name price { amount currency } stock } userErrors { code field message } } }',
    )
    product = made["data"]["createProduct"]["product"]
    assert product["price"] == {"amount": "12.50", "currency": "USD"}, made
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as buyer:
        await register(buyer, "buyer@example.com")
        placed = await gql(
            buyer,
            'mutation($p: ID!) { placeOrder(input: {items: [{productId: $p, quantity: 2}], idempotencyKey: "k1"}) { order { id status total { amount } items { quantity productName subtotal { amount } product { name stock } } events { fromStatus toStatus actor { name email } } customer { email } } userErrors { code field message } } }',
            {"p": product["id"]},
        )
        order = placed["data"]["placeOrder"]["order"]
        assert order["total"]["amount"] == "25.00", placed
        assert order["items"][0]["product"]["stock"] == 1
        again = await gql(
            buyer,
            'mutation($p: ID!) { placeOrder(input: {items: [{productId: $p, quantity: 2}], idempotencyKey: "k1"}) { order { id } userErrors { code } } }',
            {"p": product["id"]},
        )
        assert again["data"]["placeOrder"]["order"]["id"] == order["id"]
        short = await gql(
            buyer,
            "mutation($p: ID!) { placeOrder(input: {items: [{productId: $p, quantity: 2}]}) { order { id } userErrors { code field message } } }",
            {"p": product["id"]},
        )
        assert short["data"]["placeOrder"]["userErrors"][0]["code"] == "INSUFFICIENT_STOCK", short
        cancel = await gql(
            buyer,
            'mutation($o: ID!) { cancelOrder(id: $o, reason: "oops") { order { status items { product { stock } } events { fromStatus toStatus note } } userErrors { code } } }',
            {"o": order["id"]},
        )
        assert cancel["data"]["cancelOrder"]["order"]["status"] == "CANCELLED", cancel
        assert cancel["data"]["cancelOrder"]["order"]["items"][0]["product"]["stock"] == 3
        mine = await gql(
            buyer,
            '{ me { orders { totalCount edges { node { id } } } } orders { totalCount } node(id: "%s") { id ... on Order { status } } }'
            % order["id"],
        )
        assert mine["data"]["me"]["orders"]["totalCount"] == 1, mine
        assert mine["data"]["node"]["status"] == "CANCELLED"
    listed = await gql(
        client,
        '{ products(first: 10, filter: {minPrice: "10"}, sort: {field: PRICE, direction: ASC}) { totalCount edges { cursor node { name } } pageInfo { hasNextPage endCursor } } orders(first: 50) { edges { node { status total { amount } customer { email } items { quantity productName product { name stock } } events { toStatus actor { email } } } } } }',
    )
    print("LISTED", listed)
    assert listed["data"]["products"]["totalCount"] == 1, listed
    assert listed["data"]["orders"]["edges"][0]["node"]["customer"]["email"] == "buyer@example.com"
