"""Fixtures of the orders suite: a shop with orders of every status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import (
    Accounts,
    Actor,
    NewProduct,
    Placed,
    Shop,
    cancel,
    insert_products,
    move_ok,
    order_key,
    place_ok,
    product_id,
    sql_execute,
)
from web.state import AppState


@pytest.fixture
async def shop(
    request: pytest.FixtureRequest, accounts: Accounts, admin: Actor, state: AppState
) -> Shop:
    """Orders of Ann and Bob as the requesting module's PLAN says (owner, units at 10.00,
    status), order n created at its T0 + n hours, moved along its FORWARD statuses."""
    plan, forward, t0 = request.module.PLAN, request.module.FORWARD, request.module.T0
    ann, bob = await accounts.create(2)
    [key] = await insert_products(state, [NewProduct("Tin", 1000, stock=1000)])
    placed = []
    for n, (owner, units, status) in enumerate(plan):
        actor = ann if owner == "ann" else bob
        order = await place_ok(actor.http, [(product_id(key), units)])
        if status == "CANCELLED":
            assert (await cancel(actor.http, order["id"]))["userErrors"] == []
        else:
            await move_ok(admin, order["id"], *forward[1 : forward.index(status) + 1])
        created_at = t0 + timedelta(hours=n)
        await sql_execute(
            state, "UPDATE orders SET created_at = :at WHERE id = :id",
            at=created_at, id=order_key(order["id"]),
        )  # fmt: skip
        placed.append(Placed(order["id"], owner, units, status, created_at))
    return Shop(admin=admin, ann=ann, bob=bob, orders=placed)
