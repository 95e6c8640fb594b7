"""Telling database failures apart: the server refused a statement, or the database is gone.

A statement PostgreSQL itself refused leaves its connection in a known state. Anything else
that breaks a statement (a value the driver cannot encode, a timeout, a lost socket) may
leave the connection mid-protocol, so that connection must never be reused. And when the
database cannot be reached or is too slow, the client gets a `503` it may retry.
"""

from __future__ import annotations

import logging

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# SQLSTATE classes and codes that say the database, not the statement, is the problem:
# connection exceptions, insufficient resources, operator intervention (shutdown, cancel),
# and a failure to start a transaction that a broken connection reports.
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_BROKEN_CONNECTION_STATES = ("25P01",)  # no_active_sql_transaction where one was begun


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


# InternalClientError: the driver found its connection mid-operation (a server that ended
# the session while it sat in the pool can leave it so); nothing more can run on it.
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def _driver_error(error: BaseException) -> BaseException | None:
    """The driver's own exception behind SQLAlchemy's wrapper, if any."""
    for cause in _causes(error):
        if isinstance(cause, _DRIVER_ERRORS):
            return cause
    return None


def reported_by_server(error: BaseException) -> bool:
    """True when PostgreSQL sent this error: every server message carries a severity, while
    errors the driver raises itself (such as a value it cannot encode) have none."""
    return isinstance(error, asyncpg.PostgresError) and getattr(error, "severity", None) is not None


def _sqlstate(error: BaseException) -> str:
    return str(getattr(error, "sqlstate", "") or "")


def leaves_connection_unusable(error: BaseException) -> bool:
    """Whether the connection a statement failed on must be discarded rather than reused."""
    driver = _driver_error(error)
    if driver is None:
        return False
    if not reported_by_server(driver):
        return True
    state = _sqlstate(driver)
    return state.startswith(_UNAVAILABLE_CLASSES) or state in _BROKEN_CONNECTION_STATES


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is unreachable, overloaded or too slow right now:
    a failure the client did not cause and may retry, answered with `503`."""
    for cause in _causes(error):
        if isinstance(cause, PoolTimeoutError | OSError):  # OSError: refused, reset, timed out
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, asyncpg.PostgresError):
            state = _sqlstate(cause)
            return state.startswith(_UNAVAILABLE_CLASSES) or state in _BROKEN_CONNECTION_STATES
    return False


def log_retried_failure(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log a background pass that failed and will be retried: one line when the database is
    unavailable (an outage is expected and says nothing new on every pass), the traceback
    otherwise."""
    if is_unavailable(error):
        logger.warning("%s: the database is unavailable (%s); retrying", what, type(error).__name__)
    else:
        logger.warning("%s failed; retrying", what, exc_info=error)
