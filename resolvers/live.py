"""Live order updates in one worker: its WebSocket connections, their `orderUpdated`
subscriptions, and the fan-out of the worker's one LISTEN connection to them.

A notification carries the order, its customer and the event; a subscription is told the
order's ID when the order is one it may see (its own viewer's, or any for an admin) and the
one it asked for, if it named one. The subscription then reads the order as its viewer
(`resolvers.orders.get_order` checks again), so a customer never receives another's order.

Like the sign-in functions, this module holds the application's state and opens its own
read sessions; it never runs inside a caller's transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.viewer import Viewer
from db.notifications import Listener, OrderChanged, SessionEnded
from telemetry.metrics import LIVE_CONNECTIONS, LIVE_SUBSCRIPTIONS

log = logging.getLogger("orderly.live")

# WebSocket close codes (graphql-transport-ws leaves 4000-4999 to the application).
SESSION_ENDED = 4403  # the login session was ended, or the user's role or password changed
TOO_MANY_CONNECTIONS = 4429

_CHANGED_SINCE = text("""
    SELECT DISTINCT ON (e.order_id) e.order_id, o.customer_id, e.id
    FROM order_events AS e JOIN orders AS o ON o.id = e.order_id
    WHERE e.at >= :since
    ORDER BY e.order_id, e.at DESC, e.id DESC
""")

_LIVE_SESSIONS = text("""
    SELECT s.id, u.role FROM login_sessions AS s JOIN users AS u ON u.id = s.user_id
    WHERE s.id = ANY(:ids) AND s.revoked_at IS NULL AND s.expires_at > now()
""")

Close = Callable[[int, str], Coroutine[Any, Any, None]]


@dataclass(eq=False, slots=True)
class OrderSubscription:
    """One `orderUpdated`: the IDs of the orders to send, each queued once at a time."""

    viewer: Viewer
    order_id: int | None
    queue: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    queued: set[int] = field(default_factory=set)

    def wants(self, change: OrderChanged) -> bool:
        if self.order_id is not None and change.order_id != self.order_id:
            return False
        return self.viewer.is_admin or change.customer_id == self.viewer.id

    def push(self, order_id: int) -> None:
        if order_id not in self.queued:
            self.queued.add(order_id)
            self.queue.put_nowait(order_id)

    async def orders(self) -> AsyncIterator[int]:
        """The ID of each order to send, as it changes."""
        while True:
            order_id = await self.queue.get()
            self.queued.discard(order_id)
            yield order_id


@dataclass(eq=False, slots=True)
class LiveConnection:
    """One WebSocket connection, signed in as `viewer` for as long as its session lasts."""

    viewer: Viewer
    close: Close
    subscriptions: set[OrderSubscription] = field(default_factory=set)


class OrderFeed:
    """The worker's live connections and its LISTEN connection, started with the first."""

    def __init__(
        self,
        dsn: str,
        reads: async_sessionmaker[AsyncSession],
        *,
        max_connections_per_user: int,
        check_interval: float = 1.0,
    ) -> None:
        self.reads = reads
        self.max_connections_per_user = max_connections_per_user
        self.connections: set[LiveConnection] = set()
        self.listener = Listener(
            dsn,
            on_order=self.order_changed,
            on_session=self.session_ended,
            on_resync=self.resync,
            check_interval=check_interval,
        )
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def open(self, viewer: Viewer, close: Close) -> LiveConnection | None:
        """Register a connection of `viewer`; None when they have too many already."""
        mine = sum(1 for c in self.connections if c.viewer.id == viewer.id)
        if mine >= self.max_connections_per_user:
            return None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.listener.run())
        connection = LiveConnection(viewer, close)
        self.connections.add(connection)
        self._count()
        return connection

    def close(self, connection: LiveConnection) -> None:
        self.connections.discard(connection)
        self._count()

    def subscribe(self, connection: LiveConnection, order_id: int | None) -> OrderSubscription:
        subscription = OrderSubscription(connection.viewer, order_id)
        connection.subscriptions.add(subscription)
        self._count()
        return subscription

    def unsubscribe(self, connection: LiveConnection, subscription: OrderSubscription) -> None:
        connection.subscriptions.discard(subscription)
        self._count()

    def _count(self) -> None:
        """The worker's connections and subscriptions, for the metrics."""
        LIVE_CONNECTIONS.set(len(self.connections))
        LIVE_SUBSCRIPTIONS.set(sum(len(c.subscriptions) for c in self.connections))

    def order_changed(self, change: OrderChanged) -> None:
        """A committed change: queue it for every subscription that may see it."""
        for connection in self.connections:
            for subscription in connection.subscriptions:
                if subscription.wants(change):
                    subscription.push(change.order_id)

    def session_ended(self, ended: SessionEnded) -> None:
        """Close the connections of a session that ended (or of every session of a user
        whose role or password changed)."""
        for connection in list(self.connections):
            viewer = connection.viewer
            if viewer.id == ended.user_id and ended.session_id in (None, viewer.session_id):
                self._end(connection)

    def _end(self, connection: LiveConnection) -> None:
        self.connections.discard(connection)
        self._count()
        task = asyncio.create_task(connection.close(SESSION_ENDED, "Session ended"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def resync(self, since: datetime) -> None:
        """After the LISTEN connection came back: send every subscription a fresh snapshot
        (its order, or the orders changed since `since`), and close connections whose
        session ended meanwhile."""
        async with self.reads() as db:
            changes = (await db.execute(_CHANGED_SINCE, {"since": since})).all()
            ids = list({c.viewer.session_id for c in self.connections})
            live = {row.id: row.role for row in await db.execute(_LIVE_SESSIONS, {"ids": ids})}
        for connection in list(self.connections):
            if live.get(connection.viewer.session_id) != connection.viewer.role.value:
                self._end(connection)
                continue
            for subscription in connection.subscriptions:
                if subscription.order_id is not None:
                    subscription.push(subscription.order_id)
        for order_id, customer_id, event_id in changes:
            self.order_changed(OrderChanged(order_id, customer_id, event_id))

    async def stop(self) -> None:
        """Stop listening (the application is shutting down)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
