"""Process-wide application state: settings and the resources built from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.passwords import Passwords
from auth.viewer import Viewer
from resolvers.live import OrderFeed
from resolvers.payment_provider import PaymentProvider
from settings import Settings
from web.sign_in_lane import SignInLane


class DocumentReader(Protocol):
    """Runs a fixed GraphQL query document as one SQL statement: the REST reads."""

    async def read(
        self, query: str, variables: Mapping[str, Any], viewer: Viewer | None
    ) -> str: ...


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    probe: AsyncEngine  # one connection of its own for /readyz, so a busy pool is still ready
    sessions: async_sessionmaker[AsyncSession]  # transactions: `async with sessions.begin()`
    reads: async_sessionmaker[AsyncSession]  # autocommit: single statements, no BEGIN
    passwords: Passwords
    sign_in_lane: SignInLane  # registrations, logins and password changes run there
    documents: DocumentReader | None = None  # set once the GraphQL schema is built
    payments: PaymentProvider | None = None  # None: payments are manual (PAYMENTS=manual)
    live: OrderFeed | None = None  # live updates: set with the WebSocket endpoint
    shutting_down: bool = field(default=False)

    async def close(self) -> None:
        """Close every database connection this process holds."""
        if self.live is not None:
            await self.live.stop()
        await self.sign_in_lane.close()
        await self.engine.dispose()
        await self.probe.dispose()
        if self.payments is not None:
            await self.payments.close()
