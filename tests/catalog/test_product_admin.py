"""The admin's catalogue mutations: validation that writes nothing, roles, and archiving."""

from __future__ import annotations

from typing import Any

import httpx

from resolvers.ids import to_global_id
from tests.helpers import (
    CREATE_PRODUCT,
    DELETE_PRODUCT,
    UPDATE_PRODUCT,
    Actor,
    NewProduct,
    create_product,
    data,
    error_code,
    insert_products,
    product_id,
    product_rows,
    snapshot,
    sql_rows,
)
from web.state import AppState

VALID = {"name": "Kettle", "description": "Boils water", "price": "29.99", "stock": 4}

# (field changed, value) → the field the error points at; each must be refused.
INVALID: list[tuple[str, Any]] = [
    ("name", ""),
    ("name", "   "),
    ("name", "n" * 201),
    ("name", "nul\x00byte"),
    ("description", "d" * 5001),
    ("description", "nul\x00byte"),
    ("price", "1.999"),
    ("price", "0.001"),
    ("price", "-0.01"),
    ("price", "-1"),
    ("price", "1000000.01"),
    ("price", "10000000"),  # exponents, NaN and infinities: tests/web/test_hostile_input.py
    ("stock", -1),
    ("stock", 1_000_000_001),
    ("stock", 2_147_483_647),
]
# Boundary values that must be accepted.
LIMITS: list[tuple[str, Any, Any]] = [
    ("name", "n" * 200, "n" * 200),
    ("name", "  Spaced out  ", "Spaced out"),
    ("description", "d" * 5000, "d" * 5000),
    ("description", "", ""),
    ("price", "0", {"amount": "0.00", "currency": "USD"}),
    ("price", "1000000", {"amount": "1000000.00", "currency": "USD"}),
    ("price", "12.5", {"amount": "12.50", "currency": "USD"}),
    ("price", "0.01", {"amount": "0.01", "currency": "USD"}),
    ("stock", 0, 0),
    ("stock", 1_000_000_000, 1_000_000_000),
]


async def test_create_product_refuses_invalid_input_and_writes_nothing(
    admin: Actor, state: AppState
) -> None:
    before = await snapshot(state)
    for field, value in INVALID:
        variables = {"input": {**VALID, field: value}}
        payload = (await data(admin.http, CREATE_PRODUCT, variables))["createProduct"]
        assert payload["product"] is None, (field, value)
        errors = [(e["code"], e["field"]) for e in payload["userErrors"]]
        assert errors == [("INVALID_INPUT", [field])], (field, value)
        assert await snapshot(state) == before, (field, value)


async def test_update_product_refuses_invalid_input_and_changes_nothing(
    admin: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Kettle", 2999, stock=4)])
    before = await product_rows(state)
    for field, value in INVALID:
        variables = {"id": product_id(key), "input": {field: value}}
        payload = (await data(admin.http, UPDATE_PRODUCT, variables))["updateProduct"]
        assert payload["product"] is None, (field, value)
        errors = [(e["code"], e["field"]) for e in payload["userErrors"]]
        assert errors == [("INVALID_INPUT", [field])], (field, value)
        assert await product_rows(state) == before, (field, value)  # not even updated_at


async def test_every_invalid_field_is_reported_at_once(admin: Actor, state: AppState) -> None:
    before = await snapshot(state)
    bad = {"name": "", "description": "d" * 5001, "price": "-1", "stock": -1}
    payload = (await data(admin.http, CREATE_PRODUCT, {"input": bad}))["createProduct"]
    assert sorted(e["field"][0] for e in payload["userErrors"]) == sorted(bad)
    assert {e["code"] for e in payload["userErrors"]} == {"INVALID_INPUT"}
    assert await snapshot(state) == before


async def test_boundary_values_are_accepted_on_create_and_update(
    admin: Actor, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Kettle", 2999, stock=4)])
    for field, value, shown in LIMITS:
        created = (await data(admin.http, CREATE_PRODUCT, {"input": {**VALID, field: value}}))[
            "createProduct"
        ]
        assert created["userErrors"] == [], (field, value)
        assert created["product"][field] == shown
        variables = {"id": product_id(key), "input": {field: value}}
        updated = (await data(admin.http, UPDATE_PRODUCT, variables))["updateProduct"]
        assert updated["userErrors"] == [], (field, value)
        assert updated["product"][field] == shown


async def test_create_and_update_store_exactly_what_they_return(
    admin: Actor, state: AppState
) -> None:
    created = (await data(admin.http, CREATE_PRODUCT, {"input": VALID}))["createProduct"]
    product = created["product"]
    assert (product["name"], product["description"], product["stock"]) == (
        "Kettle",
        "Boils water",
        4,
    )
    assert product["price"] == {"amount": "29.99", "currency": "USD"}
    rows = await sql_rows(state, "SELECT name, description, price_minor, stock FROM products")
    assert [tuple(r) for r in rows] == [("Kettle", "Boils water", 2999, 4)]

    variables = {"id": product["id"], "input": {"price": "31.50"}}
    updated = (await data(admin.http, UPDATE_PRODUCT, variables))["updateProduct"]["product"]
    assert updated["name"] == "Kettle"  # untouched fields stay
    assert updated["price"]["amount"] == "31.50"
    assert updated["updatedAt"] > product["updatedAt"]
    rows = await sql_rows(state, "SELECT name, description, price_minor, stock FROM products")
    assert [tuple(r) for r in rows] == [("Kettle", "Boils water", 3150, 4)]


async def test_only_admins_manage_the_catalogue(
    customer: Actor, client: httpx.AsyncClient, state: AppState
) -> None:
    [key] = await insert_products(state, [NewProduct("Kettle", 2999, stock=4)])
    before = await snapshot(state)
    attempts: list[tuple[str, dict[str, Any]]] = [
        (CREATE_PRODUCT, {"input": VALID}),
        (UPDATE_PRODUCT, {"id": product_id(key), "input": {"stock": 1000}}),
        (DELETE_PRODUCT, {"id": product_id(key)}),
    ]
    for document, variables in attempts:
        assert await error_code(customer.http, document, variables) == "FORBIDDEN"
        assert await error_code(client, document, variables) == "UNAUTHENTICATED"
    assert await snapshot(state) == before


async def test_delete_archives_once_then_the_product_is_not_found(
    admin: Actor, state: AppState
) -> None:
    product = await create_product(admin, "Kettle", "29.99", 4)
    before = await snapshot(state)

    first = (await data(admin.http, DELETE_PRODUCT, {"id": product}))["deleteProduct"]

    assert first == {"deletedId": product, "userErrors": []}
    rows = await sql_rows(state, "SELECT archived_at IS NOT NULL AS archived FROM products")
    assert [row.archived for row in rows] == [True]
    assert (await snapshot(state)).counts == before.counts  # archived, not deleted
    archived = await product_rows(state)

    second = (await data(admin.http, DELETE_PRODUCT, {"id": product}))["deleteProduct"]
    assert second["deletedId"] is None
    assert [(e["code"], e["field"]) for e in second["userErrors"]] == [("NOT_FOUND", ["id"])]
    variables = {"id": product, "input": {"stock": 9}}
    update = (await data(admin.http, UPDATE_PRODUCT, variables))["updateProduct"]
    assert [e["code"] for e in update["userErrors"]] == ["NOT_FOUND"]
    assert await product_rows(state) == archived

    missing = to_global_id("Product", 999_999)
    gone = (await data(admin.http, DELETE_PRODUCT, {"id": missing}))["deleteProduct"]
    assert [e["code"] for e in gone["userErrors"]] == ["NOT_FOUND"]
