"""The admin's order list costs a fixed number of SQL statements, however many orders it shows."""

from __future__ import annotations

from tests.catalog.support import (
    Accounts,
    Actor,
    NewProduct,
    data,
    insert_products,
    product_id,
)
from tests.conftest import StatementCounter
from tests.orders.support import move_ok, place_ok
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
BUDGET = 6  # the contract; we use 5: the viewer, the page, events, lines with products, users


async def measure(admin: Actor, sql_counter: StatementCounter) -> tuple[int, list[str]]:
    await data(admin.http, ORDERS_PAGE)  # warm up: pool connections and their set-up
    sql_counter.reset()
    page = await data(admin.http, ORDERS_PAGE)
    statements = list(sql_counter.statements)
    return len(page["orders"]["edges"]), statements


async def test_the_order_list_issues_the_same_few_statements_for_5_and_50_orders(
    accounts: Accounts, admin: Actor, state: AppState, sql_counter: StatementCounter
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
    assert len(large) <= BUDGET, large


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


async def test_the_nested_read_costs_four_statements_with_authentication(
    accounts: Accounts, admin: Actor, state: AppState, sql_counter: StatementCounter
) -> None:
    customers = await accounts.create(3)
    keys = await insert_products(state, [NewProduct(f"Item {c}", stock=1000) for c in "ABC"])
    products = [product_id(k) for k in keys]
    for customer in customers:
        await place_ok(customer.http, [(p, 1) for p in products])
    await data(admin.http, NESTED_READ)
    sql_counter.reset()
    page = await data(admin.http, NESTED_READ)
    assert len(page["orders"]["edges"]) == 3
    # the viewer, the page, the customers, the lines joined with their products
    assert len(sql_counter.statements) == 4, sql_counter.statements
