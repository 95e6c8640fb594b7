"""Fixtures: one migrated database per run, an app per test, signed-in actors, SQL statement
counting, and the server processes and databases of the top-level test modules."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from auth.passwords import Passwords
from db import migrate
from db.engine import create_engine
from db.models import Base
from server import create_app
from settings import Settings
from tests import pgbouncer
from tests.database import recreate_database, throwaway_server
from tests.disposable_database import wait_until
from tests.helpers import (
    BASE_URL,
    METRICS_TOKEN,
    TEST_SECRET,
    Accounts,
    Actor,
    StatementCounter,
    with_settings,
)
from tests.live_server import SECRET, Server, free_port
from web.state import AppState


@pytest.fixture(scope="session")
def admin_database_url() -> Iterator[str]:
    with throwaway_server() as url:
        yield url


@pytest.fixture(scope="session")
def direct_database_url(admin_database_url: str) -> str:
    """The migrated test database, on PostgreSQL itself."""
    url = recreate_database(admin_database_url, "orderly_test")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def database_url(direct_database_url: str) -> Iterator[str]:
    """The application's URL: the test database, or with TEST_PGBOUNCER=1 the same database
    through a real PgBouncer in transaction pooling mode."""
    if not pgbouncer.ENABLED:
        yield direct_database_url
        return
    with pgbouncer.pgbouncer_in_front(direct_database_url) as url:
        yield url


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    """Real Argon2id at its cheapest parameters for the app under test.

    The suites sign in hundreds of users and test orders, not password hashing (the
    accounts suite, tests/auth, uses the production parameters); this keeps each sign-in
    under 1 ms.
    """
    return Passwords(memory_kib=64, time_cost=1)


@pytest.fixture
async def accounts(app: Starlette, state: AppState) -> AsyncIterator[Accounts]:
    async with contextlib.AsyncExitStack() as stack:
        yield Accounts(app=app, state=state, stack=stack)


@pytest.fixture
async def admin(accounts: Accounts) -> Actor:
    return await accounts.one(role="ADMIN")


@pytest.fixture
async def customer(accounts: Accounts) -> Actor:
    return await accounts.one()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "settings(**changes): the app's test settings with these changes (a module's are"
        " set with `pytestmark`)",
    )
    config.addinivalue_line(
        "markers",
        "live_server(database, workers=n): the server process of a tests/live module",
    )


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, database_url: str, direct_database_url: str
) -> Settings:
    """The test settings, with the changes of the test's `settings` marker, and those of
    its `settings` parameter when it is parametrized indirectly."""
    marker = request.node.get_closest_marker("settings")
    changes = {**(marker.kwargs if marker else {}), **getattr(request, "param", {})}
    base = Settings(
        env="development",
        database_url=database_url,
        database_direct_url=direct_database_url if pgbouncer.ENABLED else None,
        db_pgbouncer=pgbouncer.ENABLED,
        secret_key=TEST_SECRET,
        allowed_origins=(BASE_URL,),
        cookie_secure=False,
        # CI also runs the GraphQL suites on the standard executor alone.
        graphql_compiler=os.environ.get("TEST_GRAPHQL_COMPILER", "on") != "off",
    )
    return with_settings(base, **changes)


@pytest.fixture
async def app(
    settings: Settings, database_url: str, passwords: Passwords
) -> AsyncIterator[Starlette]:
    """The application over the real pool; every table is emptied after the test."""
    application = create_app(settings, database_url=database_url, passwords=passwords)
    state: AppState = application.state.orderly
    yield application
    async with state.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {_tables()} RESTART IDENTITY CASCADE"))
    await state.close()


def _tables() -> str:
    return ", ".join(table.name for table in Base.metadata.sorted_tables)


@pytest.fixture
def state(app: Starlette) -> AppState:
    result: AppState = app.state.orderly
    return result


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
async def db_session(settings: Settings, database_url: str) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test."""
    engine = create_engine(settings, database_url)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()
    await engine.dispose()


@pytest.fixture
def sql_counter(state: AppState) -> Iterator[StatementCounter]:
    counter = StatementCounter(state.engine)
    yield counter
    counter.close()


# --- Server processes and command-line runs (tests/test_*.py) ---------------------------


@pytest.fixture
def cli_database(admin_database_url: str) -> str:
    return recreate_database(admin_database_url, "orderly_cli")


@pytest.fixture
def process_database(admin_database_url: str) -> str:
    return recreate_database(admin_database_url, "orderly_process")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[type[Server]]:
    """`Server`, whose processes are killed after the test."""
    started: list[Server] = []

    class Tracked(Server):
        def __init__(
            self, tmp: Path, env: dict[str, str], command: list[str] | None = None
        ) -> None:
            super().__init__(tmp, env, command)
            started.append(self)

    yield Tracked
    for server in started:
        server.kill()


@pytest.fixture(scope="module")
def metrics_server(
    tmp_path_factory: pytest.TempPathFactory, admin_database_url: str
) -> Iterator[tuple[Server, int, str]]:
    """A server with two workers and its metrics port: (server, metrics port, database)."""
    url = recreate_database(admin_database_url, "orderly_metrics")
    metrics_port = free_port()
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "WORKERS": "2",
        "METRICS_PORT": str(metrics_port),
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    running = Server(tmp_path_factory.mktemp("metrics"), env)
    try:
        running.wait_ready()
        wait_until(
            lambda: len(running.serving_workers()) == 2, timeout=30, what="two workers serving"
        )
        yield running, metrics_port, url
    finally:
        running.kill()
