"""Fixtures of the schema suite: the two read paths side by side, on a database of their own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from auth.passwords import Passwords
from db import migrate
from tests.database import recreate_database
from tests.schema.differential import Bench, start


@pytest.fixture(scope="module")
def bench(admin_database_url: str) -> Iterator[Bench]:
    """Its own database: the per-test truncation of the shared one must not reach it."""
    url = recreate_database(admin_database_url, "orderly_differential")
    migrate.upgrade(url)
    # A hasher of our own: its semaphore must not be tied to pytest-asyncio's event loop.
    passwords = Passwords(memory_kib=64, time_cost=1)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        harness = runner.run(start(url, passwords))
        try:
            yield Bench(runner, harness)
        finally:
            runner.run(harness.close())
