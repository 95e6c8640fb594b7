"""The throwaway PostgreSQL server the suite runs against."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from db.embedded import embedded_url, start_embedded, stop_embedded


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Yield an administrative URL: TEST_DATABASE_URL, or a fresh embedded server."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    folder = Path(tempfile.mkdtemp(prefix="orderly-test-"))
    server = start_embedded(folder / "pgdata", database="postgres", delete=True)
    try:
        yield embedded_url(server, "postgres")
    finally:
        stop_embedded(server)


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def recreate_database(admin_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `admin_url`; return its URL."""

    async def run() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(admin_url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(run())
    return database_url(admin_url, name)


def asyncpg_dsn(url: str) -> str:
    """A database URL as asyncpg takes it (without SQLAlchemy's driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
