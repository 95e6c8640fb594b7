"""Idempotency keys: replays return the first order, reuse is refused, races create one order."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import (
    Accounts,
    Actor,
    NewProduct,
    cancel,
    insert_products,
    place,
    place_ok,
    product_id,
    snapshot,
    sql_execute,
    sql_scalar,
    stocks,
    table_counts,
    user_error_codes,
)
from web.state import AppState


async def test_a_replay_returns_the_same_order_and_creates_nothing(
    customer: Actor, state: AppState
) -> None:
    mug, tea = (
        product_id(k) for k in await insert_products(state, [NewProduct("Mug"), NewProduct("Tea")])
    )
    first = await place_ok(customer.http, [(mug, 2), (tea, 1)], key="checkout-1")
    after_first = await snapshot(state)

    for lines in ([(mug, 2), (tea, 1)], [(tea, 1), (mug, 1), (mug, 1)]):  # same items
        replay = await place(customer.http, lines, key="checkout-1")
        assert replay["userErrors"] == []
        assert replay["order"] == first
        assert await snapshot(state) == after_first
    assert after_first.counts["orders"] == 1


async def test_a_key_reused_for_different_items_is_refused_and_nothing_is_written(
    customer: Actor, state: AppState
) -> None:
    mug, tea = (
        product_id(k) for k in await insert_products(state, [NewProduct("Mug"), NewProduct("Tea")])
    )
    await place_ok(customer.http, [(mug, 2)], key="checkout-1")
    before = await snapshot(state)

    for lines in ([(mug, 3)], [(mug, 2), (tea, 1)], [(tea, 2)]):
        payload = await place(customer.http, lines, key="checkout-1")
        assert payload["order"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("IDEMPOTENCY_KEY_REUSED", ["idempotencyKey"])
        ]
        assert await snapshot(state) == before


async def test_a_replay_of_a_cancelled_order_does_not_order_again(
    customer: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Mug", stock=5)])
    order = await place_ok(customer.http, [(product_id(key), 2)], key="k")
    assert (await cancel(customer.http, order["id"]))["userErrors"] == []
    before = await snapshot(state)

    replay = await place(customer.http, [(product_id(key), 2)], key="k")

    assert replay["order"]["id"] == order["id"]
    assert replay["order"]["status"] == "CANCELLED"
    assert await snapshot(state) == before
    assert (await stocks(state))[key] == 5


async def test_a_refused_order_does_not_use_up_its_key(customer: Actor, state: AppState) -> None:
    [key] = await insert_products(state, [NewProduct("Mug", stock=1)])
    refused = await place(customer.http, [(product_id(key), 2)], key="k")
    assert user_error_codes(refused) == ["INSUFFICIENT_STOCK"]
    assert (await table_counts(state))["orders"] == 0
    await sql_execute(state, "UPDATE products SET stock = 2")  # restock, retry the same key

    order = await place_ok(customer.http, [(product_id(key), 2)], key="k")
    assert order["items"][0]["quantity"] == 2


async def test_twenty_concurrent_requests_with_one_key_create_one_order(
    customer: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Mug", stock=50)])
    lines = [(product_id(key), 3)]

    payloads = await asyncio.gather(*(place(customer.http, lines, key="once") for _ in range(20)))

    assert all(p["userErrors"] == [] for p in payloads), payloads
    assert len({p["order"]["id"] for p in payloads}) == 1
    counts = await table_counts(state)
    assert (counts["orders"], counts["order_items"], counts["order_events"]) == (1, 1, 1)
    assert (await stocks(state))[key] == 47


async def test_keys_are_scoped_to_the_customer(accounts: Accounts, state: AppState) -> None:
    [key] = await insert_products(state, [NewProduct("Mug", stock=10)])
    ann, bob = await accounts.create(2)

    first = await place_ok(ann.http, [(product_id(key), 1)], key="cart")
    second = await place_ok(bob.http, [(product_id(key), 1)], key="cart")

    assert first["id"] != second["id"]
    assert (first["customer"]["id"], second["customer"]["id"]) == (ann.id, bob.id)
    assert (await stocks(state))[key] == 8
    owners = await sql_scalar(state, "SELECT count(DISTINCT customer_id) FROM orders")
    assert owners == 2


@pytest.mark.parametrize("bad_key", ["", "k" * 256, "k" * 1000, "nul\x00key"])
async def test_a_key_must_have_1_to_255_characters(
    customer: Actor, state: AppState, bad_key: str
) -> None:
    [key] = await insert_products(state, [NewProduct("Mug")])
    before = await snapshot(state)

    payload = await place(customer.http, [(product_id(key), 1)], key=bad_key)

    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["idempotencyKey"])
    ]
    assert await snapshot(state) == before


async def test_a_key_of_255_characters_is_accepted(customer: Actor, state: AppState) -> None:
    [key] = await insert_products(state, [NewProduct("Mug")])
    long_key = "x" * 254 + "é"  # characters, not bytes
    first = await place_ok(customer.http, [(product_id(key), 1)], key=long_key)
    again = await place_ok(customer.http, [(product_id(key), 1)], key=long_key)
    assert again["id"] == first["id"]
    assert (await table_counts(state))["orders"] == 1
