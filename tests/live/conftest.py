"""Fixtures of the subscription suite."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.helpers import Actor, Live, MakeUser, live_server, live_user


@pytest.fixture(scope="module")
def live(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    admin_database_url: str,
) -> Iterator[Live]:
    """The module's server process, on the database and with the workers its `live_server`
    marker names."""
    marker = request.node.get_closest_marker("live_server")
    assert marker is not None, "a live test module names its server: pytest.mark.live_server"
    [database] = marker.args
    yield from live_server(tmp_path_factory, admin_database_url, database, marker.kwargs["workers"])


@pytest.fixture
async def users(live: Live) -> AsyncIterator[MakeUser]:
    """Makes signed-in users of the live server; their clients close after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(*, admin: bool = False) -> Actor:
            made = await live_user(live, admin=admin)
            stack.push_async_callback(made.http.aclose)
            return made

        yield make
