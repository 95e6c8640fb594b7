"""Fixtures for the accounts tests: extra clients on the same app, and an HTTPS deployment."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from auth.passwords import Passwords
from auth.throttle import WINDOW, window_start
from server import create_app
from settings import Settings
from tests.helpers import (
    ACCESS,
    REFRESH,
    ClientFactory,
    Identity,
    jar,
    new_client,
    register,
    register_admin,
    sql_execute,
    sql_scalar,
    user_id,
    with_settings,
)
from web.state import AppState

SECURE_BASE_URL = "https://127.0.0.1:8000"
# Longer than any test of these suites takes.
LONGEST_TEST_SECONDS = 30


@pytest.fixture(autouse=True)
async def one_throttle_window() -> None:
    """Start each test far enough from the end of the throttle's window that the test ends
    in the same one: its counters would start again from zero in the next."""
    now = datetime.now(UTC)
    left = (window_start(now) + WINDOW - now).total_seconds()
    if left < LONGEST_TEST_SECONDS:
        await asyncio.sleep(left + 0.1)


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    """Argon2id at the production parameters: these suites test password hashing itself."""
    return Passwords()


@pytest.fixture
async def another_client(app: Starlette) -> AsyncIterator[ClientFactory]:
    """Make more clients of the same app (own cookie jars, optionally another address)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(address: str = "127.0.0.1") -> httpx.AsyncClient:
            return await stack.enter_async_context(new_client(app, address))

        yield make


@pytest.fixture
async def stranger(another_client: ClientFactory) -> httpx.AsyncClient:
    """A client that only ever sends the cookies a test hands it explicitly."""
    return await another_client()


@pytest.fixture
async def secure_client(
    state: AppState, settings: Settings, database_url: str, passwords: Passwords
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app configured for HTTPS (`cookie_secure=True`).

    It shares the database with `state`, whose fixture empties the tables afterwards.
    """
    app = create_app(
        with_settings(settings, cookie_secure=True), database_url=database_url, passwords=passwords
    )
    secure_state: AppState = app.state.orderly
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=SECURE_BASE_URL) as http:
            yield http
    finally:
        await secure_state.close()


async def _session_of(state: AppState, user: int) -> uuid.UUID:
    found = await sql_scalar(state, "SELECT id FROM login_sessions WHERE user_id = :u", u=user)
    assert isinstance(found, uuid.UUID)
    return found


@pytest.fixture
async def identity(
    client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> Identity:
    await register(client, "ann@example.com", name="Ann")
    await register(await another_client(), "bob@example.com", name="Bob")
    ann, bob = await user_id(state, "ann@example.com"), await user_id(state, "bob@example.com")
    return Identity(
        user_id=ann,
        session_id=await _session_of(state, ann),
        access=jar(client, ACCESS),
        refresh=jar(client, REFRESH),
        other_user_id=bob,
        other_session_id=await _session_of(state, bob),
    )


@pytest.fixture
async def admin_among_people(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, state: AppState
) -> httpx.AsyncClient:
    """`client` signed in as the requesting module's ADMIN, the newest of its PEOPLE (email,
    name, role, seconds ago), who are inserted."""
    await register_admin(client, state, request.module.ADMIN)  # the newest user
    for email, name, role, ago in request.module.PEOPLE:
        await sql_execute(
            state,
            "INSERT INTO users (email, email_key, name, role, password_hash, created_at)"
            " VALUES (:e, lower(:e), :n, :r, 'x', now() - make_interval(secs => :ago))",
            e=email,
            n=name,
            r=role,
            ago=ago,
        )
    return client
