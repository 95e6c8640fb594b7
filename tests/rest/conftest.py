"""Fixtures of the REST suite: a server process for the fuzzer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.database import recreate_database
from tests.live_server import SECRET, Server


@pytest.fixture(scope="module")
def fuzzed_server(
    tmp_path_factory: pytest.TempPathFactory, admin_database_url: str
) -> Iterator[tuple[Server, str]]:
    """A server process for the fuzzer, on a database of its own: (server, database URL)."""
    url = recreate_database(admin_database_url, "orderly_fuzz")
    server = Server(tmp_path_factory.mktemp("fuzz"), {"DATABASE_URL": url, "SECRET_KEY": SECRET})
    try:
        server.wait_ready()
        yield server, url
    finally:
        server.stop()
