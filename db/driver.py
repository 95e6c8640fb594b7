"""Single read statements run on the driver directly, for the hottest read paths.

A pooled connection is checked out through SQLAlchemy, so the pool's limits, timeouts and
checkout checks apply unchanged, but the statement goes straight to asyncpg: no execution
context, no cursor adapter, no result wrapper. The statement runs outside a transaction, so
use these for single reads only. A failure keeps the pool's guarantee: a connection the
statement may have left mid-protocol (a driver error, a timeout, a cancelled request) is
discarded, and the error reads as SQLAlchemy's would (`connection_invalidated`).

A statement may ask for PostgreSQL's generic plan (`generic_plan=True`): it is then planned
once per connection instead of on every execution. PostgreSQL would otherwise plan again
each time a statement's LIMIT is a parameter, since it prices the generic plan of an unknown
LIMIT too high, and for a compiled read that planning costs about as much as running it.
Only statements whose best plan does not depend on their values may ask: a pattern search
needs the pattern to use its trigram index. The mode is a session setting, changed only when
a statement needs the other one, so it costs a round trip only then. Behind PgBouncer
(`DB_PGBOUNCER`) it is never changed: statements are unnamed there, and PostgreSQL plans an
unnamed statement for its values on every execution anyway.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.failures import leaves_connection_unusable
from telemetry.slow import statement_finished
from telemetry.tracing import end_span, start_span

GENERIC = "force_generic_plan"
CHOSEN_PER_EXECUTION = "auto"
PLAN_MODE = "orderly_plan_cache_mode"  # the session's mode, in the pooled connection's info
SLOW_QUERY = "orderly_slow_query"  # SLOW_QUERY_MS in seconds, in the pooled connection's info
PLAN_MODE_FIXED = "fixed"  # behind PgBouncer: never changed (each statement is planned anew)


async def fetch_value(
    engine: AsyncEngine, sql: str, params: Sequence[Any], *, generic_plan: bool = False
) -> Any:
    """The first column of the first row of `sql` (`$1`, `$2`, ... bound to `params`)."""
    plan_mode = GENERIC if generic_plan else CHOSEN_PER_EXECUTION
    async with _driver(engine, sql, plan_mode) as connection:
        return await connection.fetchval(sql, *params)


async def fetch_row(
    engine: AsyncEngine, sql: str, params: Sequence[Any], *, generic_plan: bool | None = None
) -> asyncpg.Record | None:
    """The first row of `sql`, or None. `generic_plan` as for `fetch_value`; None (a keyed
    lookup) plans it in whichever mode the connection is in."""
    plan_mode = None if generic_plan is None else GENERIC if generic_plan else CHOSEN_PER_EXECUTION
    async with _driver(engine, sql, plan_mode) as connection:
        row: asyncpg.Record | None = await connection.fetchrow(sql, *params)
        return row


@asynccontextmanager
async def _driver(
    engine: AsyncEngine, sql: str, plan_mode: str | None
) -> AsyncIterator[asyncpg.Connection]:
    """The driver connection of a pooled connection, in `plan_mode` (None: as it is)."""
    async with engine.connect() as connection:
        pooled = await connection.get_raw_connection()
        driver = pooled.driver_connection
        assert isinstance(driver, asyncpg.Connection)  # noqa: S101 - the engine's driver
        try:
            current = pooled.info.get(PLAN_MODE, CHOSEN_PER_EXECUTION)
            if plan_mode is not None and current not in (plan_mode, PLAN_MODE_FIXED):
                await driver.execute(f"SET plan_cache_mode = {plan_mode}")
                pooled.info[PLAN_MODE] = plan_mode
            started, traced = time.perf_counter(), start_span("sql", **{"db.statement": sql})
            try:
                yield driver
            finally:
                end_span(traced)
            statement_finished(sql, time.perf_counter() - started, pooled.info.get(SLOW_QUERY, 0))
        except BaseException as error:
            if isinstance(error, Exception) and not leaves_connection_unusable(error):
                raise  # PostgreSQL refused the statement: the connection is in a known state
            driver.terminate()  # a graceful close would wait on a server that may not answer
            await connection.invalidate()
            if not isinstance(error, Exception):
                raise  # a cancelled request
            raise DBAPIError(
                sql, None, error, hide_parameters=True, connection_invalidated=True
            ) from error
