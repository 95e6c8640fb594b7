"""The same scenario through GraphQL and REST gives equal objects and equal error codes."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.helpers import gql, new_client, register, register_admin
from web.state import AppState

USER = "id email name role createdAt"
PRODUCT = "id name description price { amount currency } stock createdAt updatedAt"
ORDER = f"""
id status customer {{ {USER} }}
items {{ product {{ {PRODUCT} }} productName unitPrice {{ amount currency }} quantity
         subtotal {{ amount currency }} }}
total {{ amount currency }} createdAt updatedAt
events {{ fromStatus toStatus actor {{ {USER} }} at note }}
payment {{ id status amount {{ amount currency }} provider providerReference clientSecret
           createdAt updatedAt }}
"""

PLACE = f"""
mutation($items: [OrderItemInput!]!, $key: String) {{
  placeOrder(input: {{items: $items, idempotencyKey: $key}}) {{
    order {{ {ORDER} }} userErrors {{ code field }}
  }}
}}
"""


async def _create_product(admin: httpx.AsyncClient, stock: int = 5) -> dict[str, Any]:
    response = await admin.post(
        "/api/products",
        json={"name": "Kettle", "description": "Steel", "price": "59.00", "stock": stock},
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/api/products/{response.json()['id']}"
    product: dict[str, Any] = response.json()
    return product


async def test_products_are_the_same_object(client: httpx.AsyncClient, state: AppState) -> None:
    await register_admin(client, state, "admin@example.com")
    created = await _create_product(client)
    body = await gql(client, f'{{ product(id: "{created["id"]}") {{ {PRODUCT} }} }}')
    assert body["data"]["product"] == created
    listed = (await client.get("/api/products")).json()["items"]
    assert listed == [created]


async def test_users_are_the_same_object(client: httpx.AsyncClient) -> None:
    registered = await register(client, "ann@example.com", name="Ann")
    rest_me = (await client.get("/api/users/me")).json()
    graphql_me = (await gql(client, f"{{ me {{ {USER} }} }}"))["data"]["me"]
    assert rest_me == graphql_me
    assert rest_me["id"] == registered["id"]


async def test_orders_are_the_same_object(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    product = await _create_product(client)
    async with new_client(app) as buyer:
        await register(buyer, "buyer@example.com")
        items = [{"productId": product["id"], "quantity": 2}]
        placed = (await gql(buyer, PLACE, {"items": items}))["data"]["placeOrder"]["order"]
        via_rest = await buyer.post("/api/orders", json={"items": items})
        assert via_rest.status_code == 201
        assert via_rest.json()["items"][0]["product"]["stock"] == 1
        for order_id in (placed["id"], via_rest.json()["id"]):
            rest_copy = (await buyer.get(f"/api/orders/{order_id}")).json()
            graphql_copy = await gql(buyer, f'{{ order(id: "{order_id}") {{ {ORDER} }} }}')
            assert rest_copy == graphql_copy["data"]["order"]
        listed = (await buyer.get("/api/orders")).json()["items"]
        graphql_list = await gql(buyer, f"{{ orders {{ nodes {{ {ORDER} }} }} }}")
        assert listed == graphql_list["data"]["orders"]["nodes"]


async def test_error_codes_match(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    product = await _create_product(client, stock=1)
    async with new_client(app) as buyer, new_client(app) as other:
        await register(buyer, "buyer@example.com")
        await register(other, "other@example.com")

        # wrong role
        gql_role = await gql(
            buyer, 'mutation {{ deleteProduct(id: "{}") {{ deletedId }} }}'.format(product["id"])
        )
        rest_role = await buyer.delete(f"/api/products/{product['id']}")
        assert gql_role["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (rest_role.status_code, rest_role.json()["code"]) == (403, "FORBIDDEN")

        # insufficient stock
        too_many = [{"productId": product["id"], "quantity": 2}]
        gql_stock = (await gql(buyer, PLACE, {"items": too_many}))["data"]["placeOrder"]
        rest_stock = await buyer.post("/api/orders", json={"items": too_many})
        assert gql_stock["userErrors"][0]["code"] == "INSUFFICIENT_STOCK"
        assert (rest_stock.status_code, rest_stock.json()["code"]) == (409, "INSUFFICIENT_STOCK")
        assert rest_stock.json()["errors"][0]["field"] == gql_stock["userErrors"][0]["field"]

        # reused idempotency key
        one = [{"productId": product["id"], "quantity": 1}]
        first = (await gql(buyer, PLACE, {"items": one, "key": "k"}))["data"]["placeOrder"]
        order_id = first["order"]["id"]
        gql_key = (await gql(buyer, PLACE, {"items": too_many, "key": "k"}))["data"]["placeOrder"]
        rest_key = await buyer.post(
            "/api/orders", json={"items": too_many}, headers={"Idempotency-Key": "k"}
        )
        assert gql_key["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert (rest_key.status_code, rest_key.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
        replay = await buyer.post(
            "/api/orders", json={"items": one}, headers={"Idempotency-Key": "k"}
        )
        assert replay.status_code == 200
        assert replay.json()["id"] == order_id

        # not found: another customer's order
        cancel = f'mutation {{ cancelOrder(id: "{order_id}") {{ userErrors {{ code }} }} }}'
        gql_missing = (await gql(other, cancel))["data"]["cancelOrder"]
        rest_missing = await other.post(f"/api/orders/{order_id}/cancel", json={})
        assert gql_missing["userErrors"][0]["code"] == "NOT_FOUND"
        assert (rest_missing.status_code, rest_missing.json()["code"]) == (404, "NOT_FOUND")

        # invalid transition
        ship = 'mutation { updateOrderStatus(id: "%s", status: SHIPPED) { userErrors { code } } }'
        gql_move = (await gql(client, ship % order_id))["data"]["updateOrderStatus"]
        rest_move = await client.patch(f"/api/orders/{order_id}/status", json={"status": "SHIPPED"})
        assert gql_move["userErrors"][0]["code"] == "INVALID_TRANSITION"
        assert (rest_move.status_code, rest_move.json()["code"]) == (409, "INVALID_TRANSITION")
