"""Sign-ins on an event loop of their own, so that they never queue behind the reads.

A worker's event loop serves every read; under load each of its turns takes tens of
milliseconds, and a sign-in needs several of them: a database round before the password
check, the check's return from its thread, a round after it. On a loop of its own, in a
thread of the same process with its own small connection pool, each of those steps waits
only for the interpreter lock, which the serving loop hands over within a millisecond.

The work keeps the caller's context (request id, trace), and cancelling the caller
cancels it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.passwords import Passwords
from db.engine import create_engine, create_read_session_factory, create_session_factory
from settings import Settings

T = TypeVar("T")

# Connections of each worker's sign-in pool. A sign-in holds one or two for a few
# milliseconds per round, never during its password check, so a few serve any rate the
# password checks allow.
SIGN_IN_POOL_SIZE = 4
# How long a thread holding the interpreter lock keeps it while another thread waits for
# it; Python's default is 5 ms, which the sign-in loop would pay at each of its steps.
LOCK_SWITCH_INTERVAL = 0.001


@dataclass(frozen=True, slots=True)
class SignInServices:
    """What signing in uses, bound to the sign-in loop (`resolvers.auth.SignInServices`)."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]
    passwords: Passwords


class SignInLane:
    """An event loop in a thread of its own, started at the first sign-in."""

    def __init__(self, settings: Settings, database_url: str, passwords: Passwords) -> None:
        engine = create_engine(settings, database_url, pool_size=SIGN_IN_POOL_SIZE, name="sign_in")
        self.services = SignInServices(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            reads=create_read_session_factory(engine),
            passwords=passwords,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def run(self, work: Callable[[SignInServices], Coroutine[Any, Any, T]]) -> T:
        """Run `work(services)` on the sign-in loop and return its result or raise its error."""
        running = asyncio.run_coroutine_threadsafe(work(self.services), self._started())
        return await asyncio.wrap_future(running)

    async def close(self) -> None:
        """Close the sign-in pool's connections and stop the loop's thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            await self.services.engine.dispose()  # never started: nothing was connected
            return
        try:
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self.services.engine.dispose(), loop)
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join)
            loop.close()
            self._loop = self._thread = None

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._starting:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="sign-in", daemon=True)
                thread.start()
                sys.setswitchinterval(LOCK_SWITCH_INTERVAL)
                self._loop, self._thread = loop, thread
            return self._loop
