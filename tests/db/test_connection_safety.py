"""No input, however malformed, leaves a pooled connection unusable for later requests.

A value the driver cannot encode (year 1 at +14:00 has no UTC equivalent) used to fail
after part of the statement was on the wire; the connection went back to the pool, and once
PostgreSQL's statement timeout fired, every transaction on it failed. These tests flood the
inputs that did that, wait past the statement timeout, and require the whole pool to work.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import orjson
import pytest
from sqlalchemy import DateTime, literal, select, text
from sqlalchemy.exc import DBAPIError

from db.driver import fetch_value
from db.failures import is_unavailable
from tests import pgbouncer
from tests.helpers import (
    PASSWORD,
    Accounts,
    Actor,
    NewProduct,
    insert_products,
    place_ok,
    product_id,
    register,
    snapshot,
)
from web.state import AppState

STATEMENT_TIMEOUT_MS = 300
POOL_SIZE = 2
# A small pool (every connection gets used) and a short statement timeout.
pytestmark = pytest.mark.settings(
    db_pool_size=POOL_SIZE, db_statement_timeout_ms=STATEMENT_TIMEOUT_MS
)
NO_UTC_EQUIVALENT = "0001-01-01T00:00:00+14:00"


def cursor(value: object, row_id: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([value, row_id])).decode().rstrip("=")


BAD_CURSORS = [
    cursor(NO_UTC_EQUIVALENT, 1),
    cursor("0001-01-01T00:00:00", 1),  # no offset: cursors are made with one
    cursor("10000-01-01T00:00:00+00:00", 1),
    cursor("2026-01-01T00:00:00+00:00", 2**63),  # past bigint
    cursor("2026-01-01T00:00:00+00:00", "1"),
    cursor(["nested"], 1),
    "A" * 4096,
]


async def _flood(anonymous: httpx.AsyncClient, customer: Actor) -> None:
    """Every input that reached the driver unchecked; each is refused as INVALID_INPUT."""
    for bad in BAD_CURSORS:
        rest = await anonymous.get("/api/products", params={"cursor": bad})
        assert rest.status_code == 400, rest.text
        assert rest.json()["code"] == "INVALID_INPUT"
        graphql = await anonymous.post(
            "/graphql",
            json={"query": "query($c: String) { products(after: $c) { nodes { id } } }",
                  "variables": {"c": bad}},
        )  # fmt: skip
        assert graphql.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT", graphql.text
    for name in ("createdAfter", "createdBefore"):
        rest = await customer.http.get("/api/orders", params={name: NO_UTC_EQUIVALENT})
        assert rest.status_code == 400, rest.text
        assert rest.json()["code"] == "INVALID_INPUT"
        graphql = await customer.http.post(
            "/graphql",
            json={"query": "query($f: OrderFilter) { orders(filter: $f) { totalCount } }",
                  "variables": {"f": {name: NO_UTC_EQUIVALENT}}},
        )  # fmt: skip
        codes = {e["extensions"]["code"] for e in graphql.json()["errors"]}
        assert codes == {"INVALID_INPUT"}, graphql.text


async def test_a_flood_of_unencodable_values_leaves_sign_in_and_checkout_working(
    state: AppState, accounts: Accounts, customer: Actor
) -> None:
    (key,) = await insert_products(state, [NewProduct("Lamp", stock=50)])
    anonymous = await accounts.anonymous()
    before = await snapshot(state)

    for _ in range(5):
        await _flood(anonymous, customer)
    assert await snapshot(state) == before
    await asyncio.sleep(STATEMENT_TIMEOUT_MS / 1000 * 2)

    newcomer = await accounts.anonymous()
    assert (await register(newcomer, "after-the-flood@example.com"))["role"] == "CLIENT"
    for _ in range(POOL_SIZE * 2):  # enough requests to pass through every pooled connection
        placed = await place_ok(customer.http, [(product_id(key), 1)])
        assert placed["status"] == "PENDING"
        login = await (await accounts.anonymous()).post(
            "/api/auth/login", json={"email": customer.email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert (await anonymous.get("/readyz")).status_code == 200


async def test_cursors_and_values_bind_with_their_columns_types(
    state: AppState, accounts: Accounts
) -> None:
    """Bigint sort values and ids beyond 32 bits are valid cursors, not driver errors."""
    await insert_products(state, [NewProduct("Lamp", price_minor=1000)])
    anonymous = await accounts.anonymous()
    for sort, value in (("price", 2**40), ("-price", 2**40), ("createdAt", None)):
        after = cursor(value if value is not None else "2026-01-01T00:00:00+00:00", 2**62)
        response = await anonymous.get("/api/products", params={"sort": sort, "cursor": after})
        assert response.status_code == 200, response.text


async def test_a_statement_the_driver_fails_to_send_discards_its_connection(
    state: AppState,
) -> None:
    """The pool's own guard, apart from input validation: whatever fails inside the driver
    never returns its connection to the pool."""
    unencodable = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    # A statement's first use on a connection sends Parse and Describe before the driver
    # encodes the values; distinct texts make every attempt such a first use.
    for attempt in range(POOL_SIZE * 2):
        statement = select(literal(unencodable, DateTime(timezone=True)).label(f"v{attempt}"))
        with pytest.raises(DBAPIError):
            async with state.reads() as db:
                await db.execute(statement)
    await asyncio.sleep(STATEMENT_TIMEOUT_MS / 1000 * 2)

    async def transaction_with_savepoint() -> int:
        async with state.sessions.begin() as db:
            async with db.begin_nested():
                await db.execute(text("SELECT pg_sleep(0.05)"))
            return int(await db.scalar(text("SELECT 1")) or 0)

    # As many at once as the pool holds, so that every pooled connection is used.
    assert (
        await asyncio.gather(*(transaction_with_savepoint() for _ in range(POOL_SIZE)))
        == [1] * POOL_SIZE
    )


async def test_a_driver_statement_that_fails_to_send_discards_its_connection(
    state: AppState,
) -> None:
    """The same guard for the statements run on the driver directly (`db.driver`: the
    session check and the compiled reads): the error says the connection was discarded,
    and every pooled connection works afterwards."""
    unencodable = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    for attempt in range(POOL_SIZE * 2):
        with pytest.raises(DBAPIError) as failed:
            await fetch_value(state.engine, f"SELECT $1::timestamptz AS v{attempt}", [unencodable])
        assert failed.value.connection_invalidated
        assert is_unavailable(failed.value)
    await asyncio.sleep(STATEMENT_TIMEOUT_MS / 1000 * 2)

    async def read_and_transaction() -> int:
        assert await fetch_value(state.engine, "SELECT pg_sleep(0.05)::text || $1", ["!"]) == "!"
        async with state.sessions.begin() as db:
            async with db.begin_nested():
                await db.execute(text("SELECT 1"))
            return int(await db.scalar(text("SELECT 1")) or 0)

    assert (
        await asyncio.gather(*(read_and_transaction() for _ in range(POOL_SIZE))) == [1] * POOL_SIZE
    )


async def test_a_statement_postgresql_refuses_on_the_driver_keeps_its_connection(
    state: AppState,
) -> None:
    """A statement the server itself refused leaves its connection in a known state: the
    error is PostgreSQL's, not a discarded connection, and the pool is intact."""
    with pytest.raises(asyncpg.DivisionByZeroError):
        await fetch_value(state.engine, "SELECT 1 / $1::int", [0])
    assert state.engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
    assert await fetch_value(state.engine, "SELECT 1 / $1::int", [1]) == 1


async def test_connections_terminated_by_the_server_are_replaced_before_use(
    state: AppState, accounts: Accounts
) -> None:
    """After a restart or `pg_terminate_backend`, no request fails on a dead pooled
    connection, however long after."""
    await insert_products(state, [NewProduct("Lamp")])
    anonymous = await accounts.anonymous()
    for round_ in range(3):
        warm = await asyncio.gather(*(anonymous.get("/api/products") for _ in range(POOL_SIZE)))
        assert [r.status_code for r in warm] == [200] * POOL_SIZE
        async with state.probe.connect() as probe:
            # Behind PgBouncer the server connections are PgBouncer's, whatever their name.
            ended = await probe.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE (application_name = 'orderly' OR :behind_pgbouncer) "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND datname = current_database() AND state = 'idle'"
                ),
                {"behind_pgbouncer": pgbouncer.ENABLED},
            )
        assert ended, f"round {round_}: no pooled connection was terminated"
        await asyncio.sleep(0.1)
        after = await asyncio.gather(*(anonymous.get("/api/products") for _ in range(POOL_SIZE)))
        assert [r.status_code for r in after] == [200] * POOL_SIZE, [r.text for r in after]
