"""A signed-in read checks its session in its own statement once the worker knows the
session, and that check is as strict as the one it replaces: a session that ended is no
session, and a role changed in the database applies to the very next request."""

from __future__ import annotations

import pytest

from tests.helpers import (
    Accounts,
    NewProduct,
    StatementCounter,
    data,
    error_code,
    insert_products,
    place_ok,
    product_id,
    sql_execute,
)
from web.state import AppState

pytestmark = pytest.mark.settings(graphql_compiler=True)  # whatever the suite runs with
ORDER_COUNT = "{ orders { totalCount } }"


async def orders_placed(accounts: Accounts, state: AppState, count: int) -> None:
    keys = await insert_products(state, [NewProduct("Item", stock=1000)])
    for customer in await accounts.create(count):
        await place_ok(customer.http, [(product_id(keys[0]), 1)])


async def test_a_role_changed_in_the_database_applies_to_the_next_read(
    accounts: Accounts, state: AppState, sql_counter: StatementCounter
) -> None:
    await orders_placed(accounts, state, 3)
    admin = await accounts.one(role="ADMIN")
    for _ in range(2):  # the second read checks the session in its own statement
        assert (await data(admin.http, ORDER_COUNT))["orders"]["totalCount"] == 3

    # as an operator would with psql, without ending the user's sessions
    await sql_execute(state, "UPDATE users SET role = 'CLIENT' WHERE id = :id", id=admin.key)
    sql_counter.reset()
    assert (await data(admin.http, ORDER_COUNT))["orders"]["totalCount"] == 0
    # the read written for an admin found a client and built nothing; then the client's read
    checked, read = sql_counter.statements
    assert "login_sessions" in checked
    assert "login_sessions" not in read and "customer_id = $" in read

    sql_counter.reset()
    assert (await data(admin.http, ORDER_COUNT))["orders"]["totalCount"] == 0
    assert len(sql_counter.statements) == 1, sql_counter.statements


async def test_a_session_that_ended_is_refused_at_the_next_read(
    accounts: Accounts, state: AppState
) -> None:
    await orders_placed(accounts, state, 1)
    customer = await accounts.one()
    for _ in range(2):
        assert (await data(customer.http, ORDER_COUNT))["orders"]["totalCount"] == 0
        assert (await data(customer.http, "{ me { email } }"))["me"]["email"] == customer.email

    # ended elsewhere (another device's logoutAll), the access cookie still in this client
    await sql_execute(
        state, "UPDATE login_sessions SET revoked_at = now() WHERE user_id = :id", id=customer.key
    )
    assert await error_code(customer.http, ORDER_COUNT) == "UNAUTHENTICATED"
    assert (await data(customer.http, "{ me { email } }"))["me"] is None
