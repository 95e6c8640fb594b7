"""The command line, run as a real process against the test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from db import migrate
from tests.database import recreate_database

ROOT = Path(__file__).resolve().parents[1]
SECRET = "cli-test-secret-that-is-long-enough-0123456789"


def run_cli(
    *args: str, env: dict[str, str] | None = None, tmp: Path
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp)),
        "ORDERLY_DATA_DIR": str(tmp / "data"),
        "SECRET_KEY": SECRET,
    }
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py"), *args],
        env=environ, capture_output=True, text=True, timeout=120, cwd=tmp, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def fetch(url: str, query: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            return list(await connection.fetch(query))
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.fixture
def cli_database(admin_database_url: str) -> str:
    return recreate_database(admin_database_url, "orderly_cli")


@pytest.mark.parametrize(
    "command", ["serve", "migrate", "create-admin", "seed-demo", "export-schema"]
)
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = run_cli(command, "--help", tmp=tmp_path)
    assert result.returncode == 0
    assert "usage: server.py" in result.stdout


def test_top_level_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", tmp=tmp_path)
    for command in ("serve", "migrate", "create-admin", "seed-demo"):
        assert command in result.stdout


def test_migrate_builds_the_schema(cli_database: str, tmp_path: Path) -> None:
    result = run_cli("migrate", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    version = fetch(cli_database, "SELECT version_num FROM alembic_version")
    assert [row["version_num"] for row in version] == [migrate.head_revision()]


def test_create_admin_then_promote(cli_database: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": cli_database, "ORDERLY_ADMIN_PASSWORD": "correct horse battery"}
    created = run_cli(
        "create-admin", "--email", "Boss@Example.com", "--name", "Boss", env=env, tmp=tmp_path
    )
    assert created.returncode == 0, created.stderr
    assert "created administrator Boss@Example.com" in created.stdout

    again = run_cli(
        "create-admin", "--email", "boss@example.com", "--name", "Other", env=env, tmp=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert "promoted administrator" in again.stdout
    rows = fetch(cli_database, "SELECT email, name, role, password_hash FROM users")
    assert len(rows) == 1
    assert rows[0]["role"] == "ADMIN"
    assert rows[0]["name"] == "Boss"
    assert rows[0]["password_hash"].startswith("$argon2id$")
    assert "correct horse battery" not in rows[0]["password_hash"]


def test_create_admin_promotes_an_existing_client(cli_database: str, tmp_path: Path) -> None:
    run_cli("migrate", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    fetch(
        cli_database,
        "INSERT INTO users (email, name, password_hash)"
        " VALUES ('c@example.com', 'C', 'h') RETURNING id",
    )
    result = run_cli("create-admin", "--email", "C@EXAMPLE.COM", "--name", "C",
                     env={"DATABASE_URL": cli_database}, tmp=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = fetch(cli_database, "SELECT role, password_hash FROM users")
    assert [(r["role"], r["password_hash"]) for r in rows] == [("ADMIN", "h")]


def test_create_admin_refuses_a_weak_password_and_writes_nothing(
    cli_database: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": cli_database, "ORDERLY_ADMIN_PASSWORD": "short"}
    result = run_cli(
        "create-admin", "--email", "a@example.com", "--name", "A", env=env, tmp=tmp_path
    )
    assert result.returncode == 2
    assert "Password must be" in result.stderr
    assert fetch(cli_database, "SELECT count(*) AS n FROM users")[0]["n"] == 0


def test_create_admin_without_a_password_or_terminal_fails(
    cli_database: str, tmp_path: Path
) -> None:
    result = run_cli("create-admin", "--email", "a@example.com", "--name", "A",
                     env={"DATABASE_URL": cli_database}, tmp=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert fetch(cli_database, "SELECT count(*) AS n FROM users")[0]["n"] == 0


def test_seed_demo_fills_an_empty_database_once(cli_database: str, tmp_path: Path) -> None:
    first = run_cli("seed-demo", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "demo account: admin" in first.stderr
    products = fetch(cli_database, "SELECT count(*) AS n FROM products")[0]["n"]
    roles = sorted(r["role"] for r in fetch(cli_database, "SELECT role FROM users"))
    assert products >= 5
    assert roles == ["ADMIN", "CLIENT"]

    second = run_cli("seed-demo", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    assert second.returncode == 0
    assert fetch(cli_database, "SELECT count(*) AS n FROM products")[0]["n"] == products


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_production_start_without_a_strong_secret_stops_with_one_line(
    secret: str | None, tmp_path: Path
) -> None:
    env = {"ORDERLY_ENV": "production", "DATABASE_URL": "postgresql://x@127.0.0.1:9/none",
           "SECRET_KEY": secret or ""}  # fmt: skip
    result = run_cli("serve", env=env, tmp=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SECRET_KEY" in lines[0]
