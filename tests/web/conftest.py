"""Fixtures of the web suite: a PostgreSQL of the test's own, for outages and faults, server
processes, an OTLP collector and the slow-request log."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from db import migrate
from tests.database import recreate_database
from tests.disposable_database import DisposableDatabase, disposable_database
from tests.live_server import SECRET, Server
from tests.web.collector import Collector
from web.logs import RequestIdFilter


@pytest.fixture
def database() -> Iterator[DisposableDatabase]:
    """A migrated PostgreSQL that the test may stop, freeze and restart.

    Its data lives outside pytest's temporary folders: PostgreSQL runs as another user, and
    pytest makes its own folder private again whenever another pytest run starts, which
    would keep a restart from reaching the data."""
    with (
        tempfile.TemporaryDirectory(prefix="orderly-test-db-") as folder,
        disposable_database(Path(folder) / "db") as database,
    ):
        yield database


@pytest.fixture
def outage_server(
    request: pytest.FixtureRequest, tmp_path: Path, database: DisposableDatabase
) -> Iterator[Server]:
    """A server process on `database`, with the requesting module's POOL_TIMEOUT and
    STATEMENT_TIMEOUT (seconds)."""
    pool_timeout, statement_timeout = request.module.POOL_TIMEOUT, request.module.STATEMENT_TIMEOUT
    running = Server(
        tmp_path,
        {
            "DATABASE_URL": database.url,
            "SECRET_KEY": SECRET,
            "DB_POOL_TIMEOUT_MS": str(int(pool_timeout * 1000)),
            "DB_STATEMENT_TIMEOUT_MS": str(int(statement_timeout * 1000)),
        },
    )
    running.wait_ready()
    yield running
    running.stop()


@pytest.fixture
def faults_server(tmp_path: Path, database: DisposableDatabase) -> Iterator[Server]:
    """A server process with two workers on `database`, with short pool and statement
    timeouts."""
    running = Server(
        tmp_path,
        {
            "DATABASE_URL": database.url,
            "SECRET_KEY": SECRET,
            "WORKERS": "2",
            "DB_POOL_TIMEOUT_MS": "2000",
            "DB_STATEMENT_TIMEOUT_MS": "3000",
        },
    )
    running.wait_ready()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def logs_server(
    admin_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server process whose log the tests read, on a database of its own."""
    url = recreate_database(admin_database_url, "orderly_logs")
    live = Server(tmp_path_factory.mktemp("logs"), {"DATABASE_URL": url, "SECRET_KEY": SECRET})
    try:
        live.wait_ready()
        yield live
    finally:
        live.kill()


@pytest.fixture(scope="module")
def trust_database(admin_database_url: str) -> str:
    return recreate_database(admin_database_url, "orderly_trust")


@pytest.fixture(scope="module")
def trust_server(
    request: pytest.FixtureRequest, trust_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server process that trusts forwarded addresses from 127.0.0.1, with the requesting
    module's HEADER_LIMIT."""
    environ = {
        "DATABASE_URL": trust_database,
        "SECRET_KEY": SECRET,
        "MAX_HEADER_BYTES": str(request.module.HEADER_LIMIT),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    live = Server(tmp_path_factory.mktemp("trust"), environ)
    try:
        live.wait_ready()
        yield live
    finally:
        live.kill()


@pytest.fixture
def hostile_input_server(tmp_path: Path, admin_database_url: str) -> Iterator[Server]:
    """A server process on a database of its own, for requests that might bring it down."""
    url = recreate_database(admin_database_url, "orderly_hostile")
    migrate.upgrade(url)
    server = Server(tmp_path, {"DATABASE_URL": url, "SECRET_KEY": SECRET})
    try:
        server.wait_ready()
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slow_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.WARNING, logger="orderly.slow")
    return caplog
