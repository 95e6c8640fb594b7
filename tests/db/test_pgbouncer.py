"""`DB_PGBOUNCER=true`: the engine is safe behind a real PgBouncer in transaction pooling mode.

Each test runs its own PgBouncer with ONE server connection, so that every client connection
shares it, transaction by transaction: whatever one client leaves on the server session
(a named prepared statement, a setting) is met by the next.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import replace

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.driver import fetch_row, fetch_value
from db.engine import create_engine, create_read_session_factory, create_session_factory
from db.failures import is_unavailable
from settings import Settings
from tests import pgbouncer
from tests.database import asyncpg_dsn

pytestmark = pytest.mark.skipif(
    pgbouncer.pgbouncer_binary() is None, reason="pgbouncer is not installed"
)
MODE = "SELECT current_setting('plan_cache_mode') || $1::text"


def _bounced(settings: Settings, bouncer: str, direct: str, **changes: object) -> Settings:
    return replace(
        settings,
        database_url=bouncer,
        database_direct_url=direct,
        db_pgbouncer=True,
        **changes,  # type: ignore[arg-type]
    )


async def test_the_default_engine_cannot_connect_through_pgbouncer(
    settings: Settings, bouncer: str
) -> None:
    """Why the mode exists: the session settings sent at connection start are refused."""
    engine = create_engine(replace(settings, db_pgbouncer=False), bouncer)
    try:
        with pytest.raises(DBAPIError, match="unsupported startup parameter"):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def test_named_prepared_statements_collide_on_a_shared_server_connection(bouncer: str) -> None:
    """The trap the mode avoids: asyncpg's statement cache names statements with a counter
    of its process, so two processes (two workers, two hosts) whose client connections
    share one server connection prepare the same name there."""
    script = (
        "import asyncio, sys, asyncpg\n"
        "async def main():\n"
        "    connection = await asyncpg.connect(sys.argv[1])\n"
        "    try:\n"
        "        await connection.fetchval('SELECT 1')\n"
        "    except asyncpg.exceptions.DuplicatePreparedStatementError:\n"
        "        sys.exit(3)\n"
        "    finally:\n"
        "        await connection.close()\n"
        "asyncio.run(main())\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, asyncpg_dsn(bouncer)], check=False, timeout=30
        )
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 3]


async def test_interleaved_reads_and_transactions_from_many_connections(
    settings: Settings, bouncer: str, direct_database_url: str
) -> None:
    """Autocommitted statements, transactions, driver reads in either plan mode and pattern
    searches, from five client connections at once over one server connection: no
    statement fails, and no session setting is left behind on the server."""
    engine = create_engine(
        _bounced(settings, bouncer, direct_database_url, db_pool_size=5), bouncer
    )
    reads, sessions = create_read_session_factory(engine), create_session_factory(engine)
    search = text("SELECT current_setting('plan_cache_mode') WHERE 'Lamp' ILIKE :pattern")

    async def client(n: int) -> None:
        for i in range(15):
            assert await fetch_value(engine, MODE, [""], generic_plan=i % 2 == 0) == "auto"
            row = await fetch_row(engine, "SELECT $1::int AS n", [n * 100 + i])
            assert row is not None and row["n"] == n * 100 + i
            async with reads() as db:
                assert await db.scalar(search, {"pattern": "%lamp%"}) == "auto"
                assert await db.scalar(text("SELECT CAST(:v AS int) + 1"), {"v": i}) == i + 1
            async with sessions.begin() as db:
                assert await db.scalar(text("SELECT CAST(:v AS text)"), {"v": f"c{n}"}) == f"c{n}"
                assert await db.scalar(search, {"pattern": "lamp%"}) == "auto"

    try:
        await asyncio.gather(*(client(n) for n in range(5)))
    finally:
        await engine.dispose()
    server = await asyncpg.connect(asyncpg_dsn(bouncer), statement_cache_size=0)
    try:
        assert await server.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"
        assert await server.fetchval("SELECT count(*) FROM pg_prepared_statements") == 0
    finally:
        await server.close()


async def test_the_driver_still_bounds_a_statement_behind_pgbouncer(
    settings: Settings, bouncer: str, direct_database_url: str
) -> None:
    """The statement timeout cannot be sent as a session setting there; the driver's own
    deadline still ends a statement that runs too long, as a retryable failure."""
    engine = create_engine(
        _bounced(settings, bouncer, direct_database_url, db_statement_timeout_ms=200), bouncer
    )
    started = time.monotonic()
    try:
        with pytest.raises(Exception) as raised:
            async with create_read_session_factory(engine)() as db:
                await db.execute(text("SELECT pg_sleep(5)"))
        assert is_unavailable(raised.value)
        assert time.monotonic() - started < 4
        async with create_read_session_factory(engine)() as db:
            assert await db.scalar(text("SELECT 1")) == 1  # the pool recovered
    finally:
        await engine.dispose()
