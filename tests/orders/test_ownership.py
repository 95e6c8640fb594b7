"""A customer sees and touches only their own orders; admins see every order and every email."""

from __future__ import annotations

from typing import Any

import httpx

from resolvers.ids import to_global_id
from tests.helpers import (
    Accounts,
    Actor,
    NewProduct,
    cancel,
    data,
    error_code,
    insert_products,
    move_ok,
    place_ok,
    product_id,
    snapshot,
    user_error_codes,
)
from web.state import AppState

READS = """
query Reads($id: ID!, $other: ID!) {
  order(id: $id) { id }
  node(id: $id) { id }
  orders(first: 100) { totalCount nodes { id } }
  othersOrders: orders(first: 100, filter: {customerId: $other}) { totalCount nodes { id } }
  me { orders(first: 100) { totalCount nodes { id } } }
}
"""

ACTORS_OF_MY_ORDER = """
query Actors($id: ID!) {
  order(id: $id) {
    customer { id email }
    events {
      toStatus
      actor { id name email orders(first: 100) { totalCount nodes { id } } }
    }
  }
}
"""

CUSTOMER_OF = """
query Customer($id: ID!) { order(id: $id) { customer { id email } } }
"""


def ids(connection: dict[str, Any]) -> set[str]:
    return {node["id"] for node in connection["nodes"]}


async def test_customers_never_see_or_cancel_each_others_orders(
    accounts: Accounts, admin: Actor, state: AppState
) -> None:
    ann, bob = await accounts.create(2)
    [key] = await insert_products(state, [NewProduct("Mug", stock=20)])
    anns = {(await place_ok(ann.http, [(product_id(key), 1)]))["id"] for _ in range(2)}
    bobs = (await place_ok(bob.http, [(product_id(key), 2)]))["id"]

    seen = await data(ann.http, READS, {"id": bobs, "other": bob.id})
    assert seen["order"] is None
    assert seen["node"] is None
    assert seen["orders"]["totalCount"] == 2
    assert ids(seen["orders"]) == anns
    assert seen["othersOrders"] == {"totalCount": 0, "nodes": []}
    assert ids(seen["me"]["orders"]) == anns

    before = await snapshot(state)
    refused = await cancel(ann.http, bobs, "not mine")
    assert refused["order"] is None
    assert user_error_codes(refused) == ["NOT_FOUND"]
    # Indistinguishable from an order that does not exist.
    missing = await cancel(ann.http, to_global_id("Order", 999_999), "not mine")
    assert missing["userErrors"] == refused["userErrors"]
    assert await snapshot(state) == before

    everything = await data(admin.http, READS, {"id": bobs, "other": bob.id})
    assert everything["order"] == {"id": bobs}
    assert everything["node"] == {"id": bobs}
    assert everything["orders"]["totalCount"] == 3
    assert ids(everything["orders"]) == anns | {bobs}
    assert everything["othersOrders"] == {"totalCount": 1, "nodes": [{"id": bobs}]}


async def test_user_orders_and_emails_of_other_users_stay_hidden(
    customer: Actor, admin: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Mug", stock=20)])
    admins_own = (await place_ok(admin.http, [(product_id(key), 1)]))["id"]
    mine = (await place_ok(customer.http, [(product_id(key), 1)]))["id"]
    await move_ok(admin, mine, "PAID")  # the admin becomes an actor on the customer's order

    seen = (await data(customer.http, ACTORS_OF_MY_ORDER, {"id": mine}))["order"]
    assert seen["customer"] == {"id": customer.id, "email": customer.email}
    created, paid = seen["events"]
    assert created["actor"]["id"] == customer.id
    assert created["actor"]["email"] == customer.email
    assert paid["actor"]["id"] == admin.id
    assert paid["actor"]["name"]  # the admin's name is public ...
    assert paid["actor"]["email"] is None  # ... their email is not
    assert paid["actor"]["orders"] == {"totalCount": 0, "nodes": []}  # nor their orders

    as_admin = (await data(admin.http, ACTORS_OF_MY_ORDER, {"id": mine}))["order"]
    assert as_admin["customer"] == {"id": customer.id, "email": customer.email}
    created_seen_by_admin = as_admin["events"][0]["actor"]
    assert created_seen_by_admin["email"] == customer.email
    assert ids(created_seen_by_admin["orders"]) == {mine}
    assert ids(as_admin["events"][1]["actor"]["orders"]) == {admins_own}


async def test_order_queries_need_a_session(
    client: httpx.AsyncClient, customer: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Mug")])
    order = (await place_ok(customer.http, [(product_id(key), 1)]))["id"]
    assert await error_code(client, CUSTOMER_OF, {"id": order}) == "UNAUTHENTICATED"
    assert await error_code(client, "{ orders { totalCount } }") == "UNAUTHENTICATED"
    assert (await data(client, "query($id: ID!) { node(id: $id) { id } }", {"id": order})) == {
        "node": None
    }
