"""Engine and session setup for the application's connection pool."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from db.driver import CHOSEN_PER_EXECUTION, PLAN_MODE, PLAN_MODE_FIXED, SLOW_QUERY
from db.failures import leaves_connection_unusable
from db.pool import metered_pool
from settings import Settings
from telemetry.slow import statement_finished
from telemetry.tracing import end_span, start_span

# The driver gives up on a statement this long after PostgreSQL should have cancelled it, so a
# frozen or unreachable server cannot hold a request for longer than that.
COMMAND_TIMEOUT_MARGIN = 1.0


def async_url(database_url: str) -> URL:
    """Normalise any PostgreSQL URL to the asyncpg driver."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    if url.drivername != "postgresql+asyncpg":
        raise ValueError(f"unsupported database URL scheme {url.drivername!r}: use postgresql://")
    return url


def create_engine(
    settings: Settings, database_url: str, *, pool_size: int | None = None, name: str = "main"
) -> AsyncEngine:
    """An engine with bounded pool waits, connects and statements, whose pool never hands out
    a connection that is closed or that a failed statement may have left mid-protocol."""
    statement_timeout = settings.db_statement_timeout_ms / 1000
    connect_args: dict[str, Any] = {
        "timeout": settings.db_pool_timeout,
        "command_timeout": statement_timeout + COMMAND_TIMEOUT_MARGIN
        if statement_timeout
        else None,
        "server_settings": {
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
            "application_name": "orderly",
        },
    }
    if settings.db_pgbouncer:
        connect_args.update(PGBOUNCER_CONNECT_ARGS)
    engine = create_async_engine(
        async_url(database_url),
        poolclass=metered_pool(name),  # its metrics are labelled `name`
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=False,
        pool_recycle=1800,
        # The most recently returned connection first: a few hot connections serve a steady
        # load, and the rest idle instead of every backend being woken in turn (fewer
        # processes competing for the CPU; p99 under load fell, see README "Performance").
        pool_use_lifo=True,
        # Errors quote the statement, never its values: they are the clients' data.
        hide_parameters=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "handle_error", _discard_unusable_connection)
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connection)
    if settings.db_pgbouncer:
        event.listen(engine.sync_engine.pool, "connect", _no_session_state)
    else:
        event.listen(engine.sync_engine, "before_cursor_execute", _searches_plan_per_execution)
    if settings.slow_query_ms or settings.otel_endpoint:
        _observe_statements(engine, settings.slow_query_ms / 1000)
    return engine


def _observe_statements(engine: AsyncEngine, threshold: float) -> None:
    """Time every statement, through SQLAlchemy and through `db.driver`, and log those that
    take `threshold` seconds or more (`telemetry.slow`); with tracing on, a span for each."""

    def started(connection: Connection, cursor: Any, statement: str, *args: Any) -> None:
        traced = start_span("sql", **{"db.statement": statement})
        connection.info.setdefault(_STARTED, []).append((time.perf_counter(), traced))

    def finished(connection: Connection, cursor: Any, statement: str, *args: Any) -> None:
        began, traced = connection.info[_STARTED].pop()
        end_span(traced)
        statement_finished(statement, time.perf_counter() - began, threshold)

    def failed(context: ExceptionContext) -> None:
        if context.connection is not None and context.connection.info.get(_STARTED):
            end_span(context.connection.info[_STARTED].pop()[1])

    def remember(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[SLOW_QUERY] = threshold

    event.listen(engine.sync_engine, "before_cursor_execute", started)
    event.listen(engine.sync_engine, "after_cursor_execute", finished)
    event.listen(engine.sync_engine, "handle_error", failed)
    event.listen(engine.sync_engine.pool, "connect", remember)


_STARTED = "orderly_statement_started"


# Behind PgBouncer in transaction pooling, each transaction (each statement outside one) may
# run on a different server connection, and one server connection serves many clients:
# - no named prepared statement: SQLAlchemy's statement cache and asyncpg's are off, and
#   SQLAlchemy prepares under the name "" (the unnamed statement), which asyncpg parses again
#   in the same round trip as each execution, so it exists wherever the execution lands;
# - no session setting: PgBouncer refuses startup parameters it does not know and would mix
#   up what a SET leaves behind, so only application_name (which it tracks) is sent; the
#   statement and idle-in-transaction timeouts are set on the database role instead
#   (README, "PgBouncer"). The driver's own timeout still bounds every statement.
PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: "",
    "server_settings": {"application_name": "orderly"},
}


def _no_session_state(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """The plan mode `db.driver` would set is a session setting: behind PgBouncer it would
    stay on a server connection that other clients then use, so it is never changed."""
    record.info[PLAN_MODE] = PLAN_MODE_FIXED


def _searches_plan_per_execution(
    connection: Connection, cursor: Any, statement: str, *args: Any
) -> None:
    """A pattern search plans with its pattern, on a connection `db.driver` may have left
    in generic-plan mode. The mode is then unknown to `db.driver` (a rolled-back
    transaction undoes the setting), so it sets it again on its next use."""
    if "ILIKE" not in statement:
        return
    info = connection.connection.info
    if info.get(PLAN_MODE, CHOSEN_PER_EXECUTION) == CHOSEN_PER_EXECUTION:
        return
    cursor.execute(f"SET plan_cache_mode = {CHOSEN_PER_EXECUTION}")
    info[PLAN_MODE] = None


def _discard_unusable_connection(context: ExceptionContext) -> None:
    """Discard the connection a statement failed on unless PostgreSQL itself refused the
    statement; the other pooled connections are left alone."""
    if not context.is_disconnect and leaves_connection_unusable(context.original_exception):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False
    if context.is_disconnect:  # also a cancelled request: SQLAlchemy discards it anyway
        _close_at_once(context)


def _close_at_once(context: ExceptionContext) -> None:
    """Drop the socket: a graceful close would wait on a server that may not answer."""
    driver = context.connection.connection.driver_connection if context.connection else None
    if driver is not None:
        driver.terminate()


def _refuse_closed_connection(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any
) -> None:
    """A pooled connection the server has closed meanwhile (a restart, a terminated backend)
    is replaced before use. The driver notices the close as it happens, so this costs no
    round trip, unlike a ping."""
    if record.driver_connection is not None and record.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions without a transaction: each statement commits on its own, so no BEGIN and
    ROLLBACK round trips surround it. For reads, and for writes that are one statement each
    and must not hold their locks until a later COMMIT (shared counters)."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        autoflush=False,
    )
