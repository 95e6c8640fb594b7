"""GraphQL documents and helpers for placing, moving and reading orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from resolvers.ids import from_global_id
from tests.catalog.support import Actor
from tests.helpers import data, sql_rows, sql_scalar
from web.state import AppState

STATUSES = ("PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")

ORDER_FIELDS = """
  id status
  total { amount currency }
  customer { id email }
  items { productName quantity unitPrice { amount currency } subtotal { amount } product { id } }
"""

PLACE_ORDER = f"""
mutation Place($input: PlaceOrderInput!) {{
  placeOrder(input: $input) {{
    order {{ {ORDER_FIELDS} }}
    userErrors {{ code message field }}
  }}
}}
"""

CANCEL_ORDER = """
mutation Cancel($id: ID!, $reason: String) {
  cancelOrder(id: $id, reason: $reason) {
    order { id status }
    userErrors { code message field }
  }
}
"""

UPDATE_STATUS = """
mutation Move($id: ID!, $status: OrderStatus!, $note: String) {
  updateOrderStatus(id: $id, status: $status, note: $note) {
    order { id status }
    userErrors { code message field }
  }
}
"""

ORDER_EVENTS = """
query Events($id: ID!) {
  order(id: $id) { id status events { fromStatus toStatus actor { id } note at } }
}
"""

Lines = Sequence[tuple[str, int]]


def order_input(lines: Lines, key: str | None = None) -> dict[str, Any]:
    items = [{"productId": product, "quantity": quantity} for product, quantity in lines]
    result: dict[str, Any] = {"items": items}
    if key is not None:
        result["idempotencyKey"] = key
    return {"input": result}


async def place(http: httpx.AsyncClient, lines: Lines, key: str | None = None) -> dict[str, Any]:
    """The `placeOrder` payload (the request itself must not fail)."""
    payload: dict[str, Any] = (await data(http, PLACE_ORDER, order_input(lines, key)))["placeOrder"]
    return payload


async def place_ok(http: httpx.AsyncClient, lines: Lines, key: str | None = None) -> dict[str, Any]:
    """The order of a `placeOrder` that must succeed."""
    payload = await place(http, lines, key)
    assert payload["userErrors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def cancel(
    http: httpx.AsyncClient, order_id: str, reason: str | None = None
) -> dict[str, Any]:
    variables = {"id": order_id, "reason": reason}
    payload: dict[str, Any] = (await data(http, CANCEL_ORDER, variables))["cancelOrder"]
    return payload


async def move(
    http: httpx.AsyncClient, order_id: str, status: str, note: str | None = None
) -> dict[str, Any]:
    variables = {"id": order_id, "status": status, "note": note}
    payload: dict[str, Any] = (await data(http, UPDATE_STATUS, variables))["updateOrderStatus"]
    return payload


async def move_ok(admin: Actor, order_id: str, *statuses: str) -> None:
    """Walk an order through `statuses` as an admin."""
    for status in statuses:
        payload = await move(admin.http, order_id, status)
        assert payload["userErrors"] == [], payload
        assert payload["order"]["status"] == status


def order_key(public_id: str) -> int:
    return from_global_id(public_id, "Order")


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def order_status(state: AppState, public_id: str) -> str:
    status: str = await sql_scalar(
        state, "SELECT status FROM orders WHERE id = :id", id=order_key(public_id)
    )
    return status


async def event_rows(state: AppState, public_id: str) -> list[Any]:
    return await sql_rows(
        state,
        "SELECT from_status, to_status, actor_id, note FROM order_events "
        "WHERE order_id = :id ORDER BY at, id",
        id=order_key(public_id),
    )


async def units_sold(state: AppState) -> dict[int, int]:
    """Units per product in orders that still hold their stock (not cancelled)."""
    rows = await sql_rows(
        state,
        """
        SELECT i.product_id, sum(i.quantity) AS units
        FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE o.status <> 'CANCELLED' GROUP BY i.product_id
        """,
    )
    return {int(row.product_id): int(row.units) for row in rows}
