"""The command line, run as a real process against the test database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db import migrate
from tests.helpers import run_cli, sql_at


@pytest.mark.parametrize(
    "command",
    ["serve", "migrate", "create-admin", "promote", "seed-demo", "expire-orders", "export-schema"],
)
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = run_cli(command, "--help", tmp=tmp_path)
    assert result.returncode == 0
    assert "usage: server.py" in result.stdout


def test_top_level_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", tmp=tmp_path)
    for command in ("serve", "migrate", "create-admin", "promote", "seed-demo", "expire-orders"):
        assert command in result.stdout


def test_migrate_builds_the_schema(cli_database: str, tmp_path: Path) -> None:
    result = run_cli("migrate", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    version = asyncio.run(sql_at(cli_database, "SELECT version_num FROM alembic_version"))
    assert [row["version_num"] for row in version] == [migrate.head_revision()]


USERS_ROW = "SELECT id, email, email_key, name, role, password_hash, updated_at FROM users"


def test_create_admin_creates_a_new_account_only(cli_database: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": cli_database, "ORDERLY_ADMIN_PASSWORD": "correct horse battery"}
    created = run_cli(
        "create-admin", "--email", "Boss@Example.com", "--name", "Boss", env=env, tmp=tmp_path
    )
    assert created.returncode == 0, created.stderr
    assert "created administrator Boss@Example.com" in created.stdout
    rows = asyncio.run(
        sql_at(cli_database, "SELECT email, email_key, name, role, password_hash FROM users")
    )
    assert [(r["email"], r["email_key"], r["name"], r["role"]) for r in rows] == [
        ("Boss@Example.com", "boss@example.com", "Boss", "ADMIN")
    ]
    assert rows[0]["password_hash"].startswith("$argon2id$")
    assert "correct horse battery" not in rows[0]["password_hash"]


@pytest.mark.parametrize(
    "again",
    [
        "\uff42oss@example.com",  # fullwidth: the same address once normalised
        pytest.param("boss@example.com", marks=pytest.mark.slow),
        pytest.param("BOSS@EXAMPLE.COM", marks=pytest.mark.slow),
    ],
)
def test_create_admin_for_an_existing_email_changes_nothing_and_points_to_promote(
    again: str, cli_database: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": cli_database, "ORDERLY_ADMIN_PASSWORD": "correct horse battery"}
    first_env = {**env, "ORDERLY_ADMIN_PASSWORD": "the first passphrase"}
    first = run_cli("create-admin", "--email", "boss@example.com", "--name", "Boss",
                    env=first_env, tmp=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = asyncio.run(sql_at(cli_database, USERS_ROW))

    result = run_cli("create-admin", "--email", again, "--name", "Other", env=env, tmp=tmp_path)
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert "server.py promote --email" in result.stderr
    assert "created" not in result.stdout
    assert asyncio.run(sql_at(cli_database, USERS_ROW)) == before


def _insert_client(database_url: str, email: str, name: str = "C") -> None:
    asyncio.run(
        sql_at(
            database_url,
            "INSERT INTO users (email, email_key, name, password_hash)"
            f" VALUES ('{email}', lower('{email}'), '{name}', 'h') RETURNING id",
        )
    )


def test_create_admin_never_promotes_an_account_someone_registered_first(
    cli_database: str, tmp_path: Path
) -> None:
    """The attack: register the address the operator is about to make an admin, with a
    password of one's own; `create-admin` used to promote that account."""
    run_cli("migrate", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    _insert_client(cli_database, "c@example.com")
    before = asyncio.run(sql_at(cli_database, USERS_ROW))
    env = {"DATABASE_URL": cli_database, "ORDERLY_ADMIN_PASSWORD": "correct horse battery"}
    result = run_cli("create-admin", "--email", "C@EXAMPLE.COM", "--name", "C", env=env,
                     tmp=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "server.py promote --email C@EXAMPLE.COM" in result.stderr
    assert asyncio.run(sql_at(cli_database, USERS_ROW)) == before
    assert before[0]["role"] == "CLIENT"


def test_promote_shows_the_account_and_needs_confirmation(
    cli_database: str, tmp_path: Path
) -> None:
    run_cli("migrate", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    _insert_client(cli_database, "c@example.com", name="Carl")
    asyncio.run(
        sql_at(
            cli_database,
            "INSERT INTO login_sessions (user_id, expires_at, user_agent, ip_address)"
            " SELECT id, now() + interval '1 day', E'curl/8.5 \\u001b[2Jgone', '203.0.113.7'"
            " FROM users RETURNING id",
        )
    )
    before = asyncio.run(sql_at(cli_database, USERS_ROW))
    env = {"DATABASE_URL": cli_database}

    unconfirmed = run_cli("promote", "--email", "C@example.com", env=env, tmp=tmp_path)
    assert unconfirmed.returncode == 2
    assert "--yes" in unconfirmed.stderr
    for shown in (f"id:       {before[0]['id']}", "name:     Carl", "role:     CLIENT",
                  "created:  ", "203.0.113.7", "curl/8.5"):  # fmt: skip
        assert shown in unconfirmed.stdout, unconfirmed.stdout
    assert "\x1b" not in unconfirmed.stdout  # a user agent cannot drive the terminal
    assert "\\x1b[2J" in unconfirmed.stdout
    assert asyncio.run(sql_at(cli_database, USERS_ROW)) == before

    promoted = run_cli("promote", "--email", "c@example.com", "--yes", env=env, tmp=tmp_path)
    assert promoted.returncode == 0, promoted.stderr
    assert f"promoted account {before[0]['id']}" in promoted.stdout
    after = asyncio.run(sql_at(cli_database, USERS_ROW))
    assert after[0]["role"] == "ADMIN"
    assert after[0]["password_hash"] == "h"  # promotion keeps the account as it is
    live = "SELECT count(*) AS n FROM login_sessions WHERE revoked_at IS NULL"
    assert asyncio.run(sql_at(cli_database, live))[0]["n"] == 0  # the new role applies at once


def test_promote_shows_the_code_points_of_a_non_ascii_address(
    cli_database: str, tmp_path: Path
) -> None:
    """An address stored before normalisation, KELVIN SIGN and all, is shown for what it is."""
    run_cli("migrate", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    asyncio.run(
        sql_at(
            cli_database,
            "INSERT INTO users (email, email_key, name, password_hash)"
            " VALUES (E'\\u212Aarl@example.com', 'karl@example.com', 'K', 'h') RETURNING id",
        )
    )
    before = asyncio.run(sql_at(cli_database, USERS_ROW))
    result = run_cli("promote", "--email", "karl@example.com",
                     env={"DATABASE_URL": cli_database}, tmp=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "\\u212a" in result.stdout
    assert asyncio.run(sql_at(cli_database, USERS_ROW)) == before


def test_promote_of_an_unknown_email_fails(cli_database: str, tmp_path: Path) -> None:
    result = run_cli("promote", "--email", "nobody@example.com", "--yes",
                     env={"DATABASE_URL": cli_database}, tmp=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "no account" in result.stderr
    assert asyncio.run(sql_at(cli_database, "SELECT count(*) AS n FROM users"))[0]["n"] == 0


def test_create_admin_refuses_a_weak_password_and_writes_nothing(
    cli_database: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": cli_database, "ORDERLY_ADMIN_PASSWORD": "short"}
    result = run_cli(
        "create-admin", "--email", "a@example.com", "--name", "A", env=env, tmp=tmp_path
    )
    assert result.returncode == 2
    assert "Password must be" in result.stderr
    assert asyncio.run(sql_at(cli_database, "SELECT count(*) AS n FROM users"))[0]["n"] == 0


def test_create_admin_without_a_password_or_terminal_fails(
    cli_database: str, tmp_path: Path
) -> None:
    result = run_cli("create-admin", "--email", "a@example.com", "--name", "A",
                     env={"DATABASE_URL": cli_database}, tmp=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert asyncio.run(sql_at(cli_database, "SELECT count(*) AS n FROM users"))[0]["n"] == 0


def test_seed_demo_fills_an_empty_database_once(cli_database: str, tmp_path: Path) -> None:
    first = run_cli("seed-demo", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "demo account: admin" in first.stderr
    products = asyncio.run(sql_at(cli_database, "SELECT count(*) AS n FROM products"))[0]["n"]
    roles = sorted(r["role"] for r in asyncio.run(sql_at(cli_database, "SELECT role FROM users")))
    assert products >= 5
    assert roles == ["ADMIN", "CLIENT"]

    second = run_cli("seed-demo", env={"DATABASE_URL": cli_database}, tmp=tmp_path)
    assert second.returncode == 0
    assert (
        asyncio.run(sql_at(cli_database, "SELECT count(*) AS n FROM products"))[0]["n"] == products
    )


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
