"""Single read statements run on the driver directly, for the hottest read paths.

A pooled connection is checked out through SQLAlchemy, so the pool's limits, timeouts and
checkout checks apply unchanged, but the statement goes straight to asyncpg: no execution
context, no cursor adapter, no result wrapper. The statement runs outside a transaction, so
use these for single reads only. A failure keeps the pool's guarantee: a connection the
statement may have left mid-protocol (a driver error, a timeout, a cancelled request) is
discarded, and the error reads as SQLAlchemy's would (`connection_invalidated`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.failures import leaves_connection_unusable


async def fetch_value(engine: AsyncEngine, sql: str, params: Sequence[Any]) -> Any:
    """The first column of the first row of `sql` (`$1`, `$2`, ... bound to `params`)."""
    async with _driver(engine, sql) as connection:
        return await connection.fetchval(sql, *params)


async def fetch_row(engine: AsyncEngine, sql: str, params: Sequence[Any]) -> asyncpg.Record | None:
    """The first row of `sql`, or None."""
    async with _driver(engine, sql) as connection:
        row: asyncpg.Record | None = await connection.fetchrow(sql, *params)
        return row


@asynccontextmanager
async def _driver(engine: AsyncEngine, sql: str) -> AsyncIterator[asyncpg.Connection]:
    async with engine.connect() as connection:
        pooled = await connection.get_raw_connection()
        driver = pooled.driver_connection
        assert isinstance(driver, asyncpg.Connection)  # noqa: S101 - the engine's driver
        try:
            yield driver
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
