"""Fixtures of the database suite: PgBouncer in front of the test database or a server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import pgbouncer
from tests.database import recreate_database
from tests.live_server import SECRET, Server


@pytest.fixture
def bouncer(direct_database_url: str) -> Iterator[str]:
    with pgbouncer.pgbouncer_in_front(direct_database_url, pool_size=1) as url:
        yield url


@pytest.fixture
def bounced_server(
    tmp_path_factory: pytest.TempPathFactory, admin_database_url: str
) -> Iterator[Server]:
    """A server with two workers through a PgBouncer in front of a database of its own."""
    direct = recreate_database(admin_database_url, "orderly_bounced")
    with pgbouncer.pgbouncer_in_front(direct, pool_size=2) as bounced:
        running = Server(
            tmp_path_factory.mktemp("bounced"),
            {**pgbouncer.environment(bounced), "SECRET_KEY": SECRET, "WORKERS": "2"},
        )
        try:
            running.wait_ready()
            yield running
        finally:
            running.kill()
