"""Fixtures of the browser suite: the server process the browser visits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.database import recreate_database
from tests.live_server import SECRET, Server


@pytest.fixture(scope="module")
def browsed_server(
    tmp_path_factory: pytest.TempPathFactory, admin_database_url: str
) -> Iterator[Server]:
    """A server process for the browser, on a database of its own (`.database_url`)."""
    url = recreate_database(admin_database_url, "orderly_browser")
    server = Server(tmp_path_factory.mktemp("browser"), {"DATABASE_URL": url, "SECRET_KEY": SECRET})
    try:
        server.wait_ready()
        server.database_url = url  # type: ignore[attr-defined]
        yield server
    finally:
        server.stop()
