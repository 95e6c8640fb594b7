"""Fixtures of the subscription suite."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.helpers import Actor, Live, MakeUser, live_user


@pytest.fixture
async def users(live: Live) -> AsyncIterator[MakeUser]:
    """Makes signed-in users of the live server; their clients close after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(*, admin: bool = False) -> Actor:
            made = await live_user(live, admin=admin)
            stack.push_async_callback(made.http.aclose)
            return made

        yield make
