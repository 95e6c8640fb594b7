"""Orders keep the name and price they were placed with; archived products leave the catalogue."""

from __future__ import annotations

import httpx

from tests.helpers import (
    DELETE_PRODUCT,
    UPDATE_PRODUCT,
    Actor,
    create_product,
    data,
    place_ok,
    sql_rows,
)
from web.state import AppState

ORDER_AS_PLACED = """
query Order($id: ID!) {
  order(id: $id) {
    total { amount currency }
    items {
      productName quantity unitPrice { amount } subtotal { amount }
      product { id name price { amount } }
    }
  }
}
"""

CATALOGUE = """
query Catalogue($id: ID!) {
  product(id: $id) { id }
  node(id: $id) { id }
  products(first: 100) { totalCount nodes { id } }
  search: products(first: 100, filter: {search: "lamp"}) { totalCount nodes { id } }
}
"""


async def test_product_edits_and_archiving_never_change_existing_orders(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    lamp = await create_product(admin, "Desk lamp", "19.99", 10)
    order = await place_ok(customer.http, [(lamp, 3)])
    as_placed = {
        "productName": "Desk lamp",
        "quantity": 3,
        "unitPrice": {"amount": "19.99"},
        "subtotal": {"amount": "59.97"},
    }

    renamed = await data(
        admin.http, UPDATE_PRODUCT, {"id": lamp, "input": {"name": "Floor lamp", "price": "25"}}
    )
    assert renamed["updateProduct"]["userErrors"] == []
    deleted = await data(admin.http, DELETE_PRODUCT, {"id": lamp})
    assert deleted["deleteProduct"] == {"deletedId": lamp, "userErrors": []}

    for viewer in (customer, admin):
        seen = (await data(viewer.http, ORDER_AS_PLACED, {"id": order["id"]}))["order"]
        assert seen["total"] == {"amount": "59.97", "currency": "USD"}
        [item] = seen["items"]
        assert {k: v for k, v in item.items() if k != "product"} == as_placed
        # The line still resolves the live (now archived and edited) product.
        assert item["product"] == {"id": lamp, "name": "Floor lamp", "price": {"amount": "25.00"}}
    stored = await sql_rows(state, "SELECT product_name, unit_price_minor FROM order_items")
    assert [tuple(row) for row in stored] == [("Desk lamp", 1999)]


async def test_archived_products_are_hidden_from_clients_but_not_from_admins(
    admin: Actor, customer: Actor, client: httpx.AsyncClient
) -> None:
    kept = await create_product(admin, "Reading lamp", "10.00", 1)
    gone = await create_product(admin, "Lava lamp", "10.00", 1)
    before = await data(customer.http, CATALOGUE, {"id": gone})
    assert before["product"] == {"id": gone}  # visible until archived
    assert before["products"]["totalCount"] == 2

    await data(admin.http, DELETE_PRODUCT, {"id": gone})

    for viewer in (customer.http, client):  # a signed-in client and an anonymous visitor
        after = await data(viewer, CATALOGUE, {"id": gone})
        assert after["product"] is None
        assert after["node"] is None
        assert after["products"] == {"totalCount": 1, "nodes": [{"id": kept}]}
        assert after["search"] == {"totalCount": 1, "nodes": [{"id": kept}]}
    as_admin = await data(admin.http, CATALOGUE, {"id": gone})
    assert as_admin["product"] == {"id": gone}
    assert as_admin["node"] == {"id": gone}
