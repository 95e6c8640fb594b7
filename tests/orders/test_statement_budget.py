"""Reads cost a fixed number of SQL statements, however many rows they show: with the
compiled read path, one statement (the session check joined into it, once the worker has
seen the session; the check and the read on the session's first request); on the standard
executor, one statement per relation."""

from __future__ import annotations

import pytest

from settings import Settings
from tests.helpers import (
    Accounts,
    Actor,
    NewProduct,
    StatementCounter,
    data,
    insert_products,
    move_ok,
    place_ok,
    product_id,
)
from web.state import AppState

ORDERS_PAGE = """
{
  orders(first: 50) {
    edges {
      node {
        status
        total { amount }
        customer { email }
        items { quantity productName product { name stock } }
        events { toStatus }
      }
    }
  }
}
"""
# the compiled read with the session check (the warm-up showed the worker the session); or the
# viewer, the page, events, lines with products, users
BUDGET = {True: 1, False: 5}

pytestmark = pytest.mark.parametrize(
    "settings",
    [{"graphql_compiler": True}, {"graphql_compiler": False}],
    ids=["compiled", "standard"],
    indirect=True,
)


async def measure(admin: Actor, sql_counter: StatementCounter) -> tuple[int, list[str]]:
    await data(admin.http, ORDERS_PAGE)  # warm up: pool connections and their set-up
    sql_counter.reset()
    page = await data(admin.http, ORDERS_PAGE)
    statements = list(sql_counter.statements)
    return len(page["orders"]["edges"]), statements


async def test_the_order_list_issues_the_same_few_statements_for_5_and_50_orders(
    accounts: Accounts,
    admin: Actor,
    state: AppState,
    settings: Settings,
    sql_counter: StatementCounter,
) -> None:
    customers = await accounts.create(5)
    keys = await insert_products(state, [NewProduct(f"Item {c}", stock=1000) for c in "ABCDEF"])
    products = [product_id(k) for k in keys]

    async def place_round(n: int) -> None:
        for i, customer in enumerate(customers):
            lines = [(products[(n + i + j) % len(products)], j + 1) for j in range(3)]
            order = await place_ok(customer.http, lines)
            if (n + i) % 3 == 0:
                await move_ok(admin, order["id"], "PAID", "SHIPPED")

    await place_round(0)
    shown, small = await measure(admin, sql_counter)
    assert shown == 5
    for n in range(1, 10):
        await place_round(n)
    shown, large = await measure(admin, sql_counter)
    assert shown == 50

    assert len(small) == len(large), (small, large)
    assert len(large) == BUDGET[settings.graphql_compiler], large


NESTED_READ = """
{
  orders(first: 20) {
    edges {
      node {
        status total { amount } customer { email }
        items { quantity unitPrice { amount } productName product { name price { amount } } }
      }
    }
  }
}
"""


async def test_the_nested_read_costs_one_statement_with_authentication(
    accounts: Accounts, state: AppState, settings: Settings, sql_counter: StatementCounter
) -> None:
    customers = await accounts.create(3)
    keys = await insert_products(state, [NewProduct(f"Item {c}", stock=1000) for c in "ABC"])
    products = [product_id(k) for k in keys]
    for customer in customers:
        await place_ok(customer.http, [(p, 1) for p in products])
    admin = await accounts.one(role="ADMIN")  # a session no read has used yet
    counts = []
    for _ in range(3):
        sql_counter.reset()
        page = await data(admin.http, NESTED_READ)
        assert len(page["orders"]["edges"]) == 3
        counts.append(len(sql_counter.statements))
    # compiled: the session check, then the read, on the session's first request, and from
    # then on the read with the check in it; standard: the viewer, the page, the customers,
    # and the lines joined with their products
    assert counts == ([2, 1, 1] if settings.graphql_compiler else [4, 4, 4]), counts


CATALOG_PAGE = """
query Page($after: String) {
  products(first: 50, after: $after, filter: {minPrice: "1.00", maxPrice: "500"}) {
    edges { cursor node { id name price { amount currency } stock } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_an_anonymous_catalog_page_costs_one_statement(
    accounts: Accounts, state: AppState, settings: Settings, sql_counter: StatementCounter
) -> None:
    await insert_products(state, [NewProduct(f"Item {n}", price_minor=100 * n) for n in range(60)])
    anonymous = await accounts.anonymous()
    first = await data(anonymous, CATALOG_PAGE)
    sql_counter.reset()
    second = await data(
        anonymous, CATALOG_PAGE, {"after": first["products"]["pageInfo"]["endCursor"]}
    )
    assert len(second["products"]["edges"]) == 59 - 50  # prices 1.00 to 59.00 match
    assert len(sql_counter.statements) == 1, sql_counter.statements
