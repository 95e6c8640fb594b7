"""`/api/orders`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from db.models import Order
from domain.errors import InvalidArgument
from resolvers import checkout, fulfilment, orders
from resolvers.ids import from_global_id
from resolvers.input_rules import IDEMPOTENCY_KEY
from rest.endpoint import Call
from rest.models import CancelOrderBody, OrderOut, OrderStatusBody, PlaceOrderBody
from rest.queries import OrderListQuery, sort_parts, timestamp
from rest.reads import ORDER, direction, list_document, one_document, read_one, read_page
from rest.representation import orders_out
from rest.responses import json_response

_SORT_FIELDS = {"createdAt": orders.OrderSortField.CREATED_AT, "total": orders.OrderSortField.TOTAL}
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _order_id(call: Call[Any, Any]) -> int:
    return from_global_id(call.request.path_params["id"], "Order")


async def _one(call: Call[Any, Any], db: AsyncSession, order: Order) -> OrderOut:
    (out,) = await orders_out(db, [order], call.viewer, call.app.settings)
    return out


def _idempotency_key(call: Call[Any, Any]) -> str | None:
    """The header's key; what HTTP can carry of it is narrower than GraphQL's argument."""
    key = call.request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not IDEMPOTENCY_KEY.accepts(key):
        raise InvalidArgument(
            f"{IDEMPOTENCY_HEADER} must be 1 to {IDEMPOTENCY_KEY.max_length} visible ASCII "
            "characters (spaces inside)."
        )
    return key


async def place_order(call: Call[PlaceOrderBody, None]) -> Response:
    key = _idempotency_key(call)
    lines = [
        checkout.LineRequest(from_global_id(line.product_id, "Product"), line.quantity)
        for line in call.body.items
    ]
    async with call.app.sessions.begin() as db:
        placed = await checkout.place_order(
            db=db, customer=call.signed_in(), items=lines,
            idempotency_key=key,
            currency=call.app.settings.currency,
        )  # fmt: skip
        out = await _one(call, db, placed.order)
    if not placed.created:
        return json_response(out, 200)
    return json_response(out, 201, headers={"Location": f"/api/orders/{out.id}"})


_PAGE = list_document(
    "orders",
    "$first: Int, $after: String, $filter: OrderFilter, $sort: OrderSort",
    "first: $first, after: $after, filter: $filter, sort: $sort",
    ORDER,
)
_ONE = one_document("order", "(id: $id)", ORDER)


async def list_orders(call: Call[None, OrderListQuery]) -> Response:
    q = call.query
    field, descending = sort_parts(q.sort)
    after = timestamp(q.created_after, "createdAfter")
    before = timestamp(q.created_before, "createdBefore")
    variables = {
        "first": q.limit,
        "after": q.cursor,
        "filter": {
            "status": q.status,
            "createdAfter": after.isoformat() if after else None,
            "createdBefore": before.isoformat() if before else None,
            "customerId": q.customer_id,
        },
        "sort": {"field": _SORT_FIELDS[field].value, "direction": direction(descending)},
    }
    return await read_page(call, _PAGE, variables)


async def get_order(call: Call[None, None]) -> Response:
    variables = {"id": call.request.path_params["id"]}
    return await read_one(call, _ONE, variables, "No such order.")


async def _move(call: Call[Any, Any], move: Callable[[AsyncSession], Awaitable[Order]]) -> Response:
    async with call.app.sessions.begin() as db:
        row = await move(db)
        return json_response(await _one(call, db, row))


async def cancel_order(call: Call[CancelOrderBody, None]) -> Response:
    order_id, viewer, reason = _order_id(call), call.signed_in(), call.body.reason
    return await _move(
        call,
        lambda db: fulfilment.cancel_order(
            db=db, viewer=viewer, order_id=order_id, reason=reason, provider=call.app.payments
        ),
    )


async def update_status(call: Call[OrderStatusBody, None]) -> Response:
    order_id, body = _order_id(call), call.body
    return await _move(
        call,
        lambda db: fulfilment.update_order_status(
            db=db,
            viewer=call.viewer,
            order_id=order_id,
            status=body.status,
            note=body.note,
            provider=call.app.payments,
        ),
    )
