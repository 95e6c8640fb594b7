"""The LISTEN connection: one per worker, told of every committed order change and of every
ended login session (the NOTIFYs of migration 0005), reconnecting when it is lost.

PostgreSQL delivers a NOTIFY only when its transaction commits, and only to connections
listening at that moment: while this connection is down, notifications are lost. So after
each reconnection `on_resync` is called with a point in time (the database's clock) before
the connection was last known to be alive, for the caller to catch up from the tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from settings import Settings

log = logging.getLogger("orderly.live")

ORDERS_CHANNEL = "orderly_order_updated"
SESSIONS_CHANNEL = "orderly_session_ended"
APPLICATION_NAME = "orderly-listen"
# How far before the last sign of life a catch-up starts: an order change is stamped with its
# transaction's start, and a transaction runs for at most the statement timeout per statement
# and a minute idle (`idle_in_transaction_session_timeout`).
CATCH_UP_MARGIN = timedelta(seconds=90)


def listen_dsn(settings: Settings, database_url: str) -> str:
    """Where the LISTEN connection goes: a connection that keeps its session, so
    DATABASE_DIRECT_URL when it is set (a transaction-pooling PgBouncer cannot LISTEN),
    else the database's own URL."""
    url = settings.database_direct_url or database_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class OrderChanged:
    order_id: int
    customer_id: int
    event_id: int


@dataclass(frozen=True, slots=True)
class SessionEnded:
    user_id: int
    session_id: uuid.UUID | None  # None: every session of the user (role or password changed)


class Listener:
    """Keeps one LISTEN connection open and calls back for each notification."""

    def __init__(
        self,
        dsn: str,
        *,
        on_order: Callable[[OrderChanged], None],
        on_session: Callable[[SessionEnded], None],
        on_resync: Callable[[datetime], Awaitable[None]],
        check_interval: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.on_order = on_order
        self.on_session = on_session
        self.on_resync = on_resync
        self.check_interval = check_interval
        self.alive_at: datetime | None = None  # the database's clock at the last check
        self.connected = asyncio.Event()
        self.server_pid: int | None = None
        self.reconnections = 0

    async def run(self) -> None:
        """Listen until cancelled, reconnecting (with a growing pause, at most 5 s)."""
        pause = 0.1
        while True:
            try:
                await self._session()
                pause = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: try again
                log.warning("LISTEN connection lost: %s", error)
            self.connected.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def _session(self) -> None:
        connection: asyncpg.Connection = await asyncpg.connect(
            self.dsn, timeout=5, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            await connection.add_listener(ORDERS_CHANNEL, self._order)
            await connection.add_listener(SESSIONS_CHANNEL, self._session_ended)
            now: datetime = await connection.fetchval("SELECT now()")
            last_alive, self.alive_at = self.alive_at, now
            self.server_pid = connection.get_server_pid()
            if last_alive is not None:  # notifications may have been missed meanwhile
                self.reconnections += 1
                await self.on_resync(last_alive - CATCH_UP_MARGIN)
            self.connected.set()
            while True:
                await asyncio.sleep(self.check_interval)
                self.alive_at = await connection.fetchval("SELECT now()", timeout=5)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=1)

    def _order(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        try:
            data = orjson.loads(str(payload))
            change = OrderChanged(int(data["order"]), int(data["customer"]), int(data["event"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("unreadable order notification %r", str(payload)[:200])
            return
        self.on_order(change)

    def _session_ended(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        try:
            data = orjson.loads(str(payload))
            session = data.get("session")
            ended = SessionEnded(int(data["user"]), uuid.UUID(session) if session else None)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.warning("unreadable session notification %r", str(payload)[:200])
            return
        self.on_session(ended)
