"""The order lifecycle: every (from, to) pair for each role, events, restocking, and races.

PENDING → PAID → SHIPPED → DELIVERED;  PENDING → CANCELLED;  PAID → CANCELLED.
Admins move orders forward and cancel PENDING or PAID ones; customers cancel their own
PENDING orders. Everything else is INVALID_TRANSITION and changes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from resolvers.ids import to_global_id
from tests.helpers import (
    ORDER_EVENTS,
    STATUSES,
    UPDATE_STATUS,
    Actor,
    NewProduct,
    cancel,
    data,
    error_code,
    event_rows,
    insert_products,
    move,
    move_ok,
    order_key,
    order_status,
    place_ok,
    product_id,
    snapshot,
    sql_rows,
    stocks,
    user_error_codes,
)
from web.state import AppState

# How an admin brings a fresh (PENDING) order into each status.
PATH_TO = {
    "PENDING": (),
    "PAID": ("PAID",),
    "SHIPPED": ("PAID", "SHIPPED"),
    "DELIVERED": ("PAID", "SHIPPED", "DELIVERED"),
    "CANCELLED": ("CANCELLED",),
}
ADMIN_MOVES = {
    ("PENDING", "PAID"),
    ("PAID", "SHIPPED"),
    ("SHIPPED", "DELIVERED"),
    ("PENDING", "CANCELLED"),
    ("PAID", "CANCELLED"),
}
ADMIN_CANCELS_FROM = {"PENDING", "PAID"}
CUSTOMER_CANCELS_FROM = {"PENDING"}
QUANTITY = 3

Attempt = Callable[[str, str], Awaitable[dict[str, Any]]]


async def order_in(state: AppState, admin: Actor, customer: Actor, status: str) -> tuple[str, int]:
    """A new order of `customer` (3 units of its own product, stock 100) now in `status`."""
    [key] = await insert_products(state, [NewProduct(f"For {status}", stock=100)])
    order = await place_ok(customer.http, [(product_id(key), QUANTITY)])
    await move_ok(admin, order["id"], *PATH_TO[status])
    return order["id"], key


async def order_state(state: AppState, order_id: str, product: int) -> list[tuple[Any, ...]]:
    """Everything a refused move must leave as it was: the order, its events, its product."""
    rows = await sql_rows(
        state,
        """
        SELECT 'order', status, updated_at::text, NULL FROM orders WHERE id = :order
        UNION ALL
        SELECT 'event', from_status || '>' || to_status, at::text, note
        FROM order_events WHERE order_id = :order
        UNION ALL
        SELECT 'product', stock::text, updated_at::text, NULL FROM products WHERE id = :product
        ORDER BY 1, 3
        """,
        order=order_key(order_id),
        product=product,
    )
    return [tuple(row) for row in rows]


async def check_attempt(
    state: AppState,
    *,
    admin: Actor,
    customer: Actor,
    actor: Actor,
    from_status: str,
    to_status: str,
    allowed: bool,
    attempt: Attempt,
) -> None:
    order_id, product = await order_in(state, admin, customer, from_status)
    note = f"{actor.role} {from_status} to {to_status}"
    events_before = await event_rows(state, order_id)
    before = await order_state(state, order_id, product)
    case = f"{actor.role}: {from_status} → {to_status}"

    payload = await attempt(order_id, note)

    if not allowed:
        assert payload["order"] is None, case
        assert user_error_codes(payload) == ["INVALID_TRANSITION"], (case, payload)
        assert await order_state(state, order_id, product) == before, case
        return
    assert payload["userErrors"] == [], (case, payload)
    assert payload["order"] == {"id": order_id, "status": to_status}, case
    assert await order_status(state, order_id) == to_status, case
    events = await event_rows(state, order_id)
    assert events[:-1] == events_before, case
    assert tuple(events[-1]) == (from_status, to_status, actor.key, note), case
    shown = (await data(actor.http, ORDER_EVENTS, {"id": order_id}))["order"]["events"][-1]
    assert (shown["fromStatus"], shown["toStatus"], shown["actor"], shown["note"]) == (
        from_status,
        to_status,
        {"id": actor.id},
        note,
    ), case
    restocked = QUANTITY if to_status == "CANCELLED" else 0
    assert (await stocks(state))[product] == 100 - QUANTITY + restocked, case


async def test_admin_update_order_status_over_every_pair(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    async def check(from_status: str, to_status: str) -> None:
        async def attempt(order_id: str, note: str) -> dict[str, Any]:
            return await move(admin.http, order_id, to_status, note)

        await check_attempt(
            state, admin=admin, customer=customer, actor=admin,
            from_status=from_status, to_status=to_status,
            allowed=(from_status, to_status) in ADMIN_MOVES, attempt=attempt,
        )  # fmt: skip

    await asyncio.gather(*(check(a, b) for a, b in itertools.product(STATUSES, repeat=2)))


@pytest.mark.parametrize("role", ["ADMIN", "CLIENT"])
async def test_cancel_order_from_every_status(
    admin: Actor, customer: Actor, state: AppState, role: str
) -> None:
    actor = admin if role == "ADMIN" else customer
    allowed_from = ADMIN_CANCELS_FROM if role == "ADMIN" else CUSTOMER_CANCELS_FROM

    async def check(from_status: str) -> None:
        async def attempt(order_id: str, note: str) -> dict[str, Any]:
            return await cancel(actor.http, order_id, note)

        await check_attempt(
            state, admin=admin, customer=customer, actor=actor,
            from_status=from_status, to_status="CANCELLED",
            allowed=from_status in allowed_from, attempt=attempt,
        )  # fmt: skip

    await asyncio.gather(*(check(status) for status in STATUSES))


async def test_clients_may_not_call_update_order_status(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    order_id, _ = await order_in(state, admin, customer, "PENDING")
    before = await snapshot(state)
    for status in STATUSES:
        variables = {"id": order_id, "status": status, "note": None}
        assert await error_code(customer.http, UPDATE_STATUS, variables) == "FORBIDDEN"
    assert await snapshot(state) == before


async def test_moves_on_unknown_orders_and_bad_notes_change_nothing(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    order_id, _ = await order_in(state, admin, customer, "PENDING")
    before = await snapshot(state)
    missing = to_global_id("Order", 999_999)

    assert user_error_codes(await move(admin.http, missing, "PAID")) == ["NOT_FOUND"]
    assert user_error_codes(await cancel(admin.http, missing)) == ["NOT_FOUND"]
    assert user_error_codes(await cancel(customer.http, missing)) == ["NOT_FOUND"]
    assert user_error_codes(await move(admin.http, order_id, "PAID", "n" * 1001)) == [
        "INVALID_INPUT"
    ]
    assert user_error_codes(await cancel(customer.http, order_id, "r" * 1001)) == ["INVALID_INPUT"]
    assert user_error_codes(await move(admin.http, order_id, "PAID", "n\x00")) == ["INVALID_INPUT"]
    assert user_error_codes(await cancel(admin.http, order_id, "r\x00")) == ["INVALID_INPUT"]
    assert await snapshot(state) == before


async def test_racing_cancels_restock_exactly_once(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Contested", stock=100)])
    orders = [await place_ok(customer.http, [(product_id(key), 3)]) for _ in range(12)]
    assert (await stocks(state))[key] == 64
    # Two cancels per order, all at once: customer + customer, and customer + admin.
    racers = [(customer, customer), (customer, admin)]
    attempts = [
        cancel(actor.http, order["id"]) for n, order in enumerate(orders) for actor in racers[n % 2]
    ]

    payloads = await asyncio.gather(*attempts)

    for n, order in enumerate(orders):
        pair = payloads[2 * n : 2 * n + 2]
        assert sorted(tuple(user_error_codes(p)) for p in pair) == [(), ("INVALID_TRANSITION",)], (
            pair
        )
        assert await order_status(state, order["id"]) == "CANCELLED"
    assert (await stocks(state))[key] == 100  # restocked once per order, never twice
    cancelled_events = await sql_rows(
        state,
        "SELECT order_id, count(*) AS n FROM order_events WHERE to_status = 'CANCELLED' "
        "GROUP BY order_id",
    )
    assert sorted((int(r.order_id), int(r.n)) for r in cancelled_events) == sorted(
        (order_key(o["id"]), 1) for o in orders
    )


async def test_concurrent_moves_on_one_order_have_exactly_one_winner(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Contested", stock=100)])
    order_id = (await place_ok(customer.http, [(product_id(key), 5)]))["id"]

    payloads = await asyncio.gather(*(move(admin.http, order_id, "PAID") for _ in range(10)))

    assert (
        sorted(tuple(user_error_codes(p)) for p in payloads) == [()] + [("INVALID_TRANSITION",)] * 9
    )
    assert [tuple(e)[:2] for e in await event_rows(state, order_id)] == [
        (None, "PENDING"),
        ("PENDING", "PAID"),
    ]

    # Shipping and cancelling a PAID order at once: one of them wins, consistently.
    for _ in range(5):
        contested = (await place_ok(customer.http, [(product_id(key), 5)]))["id"]
        await move_ok(admin, contested, "PAID")
        before = (await stocks(state))[key]
        shipped, cancelled = await asyncio.gather(
            move(admin.http, contested, "SHIPPED"), cancel(admin.http, contested)
        )
        outcomes = (tuple(user_error_codes(shipped)), tuple(user_error_codes(cancelled)))
        assert outcomes in {((), ("INVALID_TRANSITION",)), (("INVALID_TRANSITION",), ())}
        winner = "SHIPPED" if outcomes[0] == () else "CANCELLED"
        assert await order_status(state, contested) == winner
        assert (await stocks(state))[key] == before + (5 if winner == "CANCELLED" else 0)
        assert [tuple(e)[1] for e in await event_rows(state, contested)] == [
            "PENDING",
            "PAID",
            winner,
        ]
