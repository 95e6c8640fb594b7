"""Administrators made by `server.py create-admin` and `promote` sign in over HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import pgbouncer
from tests.helpers import ME, gql, login, me_with, register, sql_rows, sql_scalar
from tests.live_server import measured
from web.state import AppState

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "bootstrap passphrase 42"


async def _cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "ORDERLY_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "bootstrap-test-secret-that-is-long-enough-0123456789",
        **pgbouncer.environment(database_url),
        "ORDERLY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **measured(),
    }
    command = [sys.executable, str(ROOT / "server.py"), *args]
    return await asyncio.to_thread(
        subprocess.run,
        command,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        check=False,
    )


async def test_create_admin_then_sign_in_as_admin(
    client: httpx.AsyncClient, state: AppState, database_url: str, tmp_path: Path
) -> None:
    result = await _cli(
        database_url, tmp_path, "create-admin", "--email", "boss@example.com", "--name", "Boss"
    )
    assert result.returncode == 0, result.stderr
    assert "created administrator boss@example.com" in result.stdout
    assert ADMIN_PASSWORD not in result.stdout + result.stderr

    payload = await login(client, "boss@example.com", ADMIN_PASSWORD)
    assert payload["userErrors"] == []
    assert payload["user"]["role"] == "ADMIN"
    assert (await gql(client, ME))["data"]["me"]["role"] == "ADMIN"
    users = await gql(client, "{ users { totalCount nodes { email role } } }")
    assert users["data"]["users"]["nodes"] == [{"email": "boss@example.com", "role": "ADMIN"}]
    # the command hashed with the current parameters: signing in did not need a rehash
    stored = await sql_scalar(state, "SELECT password_hash FROM users")
    assert not state.passwords.needs_rehash(stored)


@pytest.mark.slow
async def test_create_admin_leaves_a_registered_account_alone_and_promote_takes_over(
    client: httpx.AsyncClient, state: AppState, database_url: str, tmp_path: Path
) -> None:
    """Someone registered the address first (with a KELVIN SIGN for its `K`): create-admin
    refuses and changes nothing; promote shows whose account it is, then promotes it."""
    await register(client, "\u212aarl@example.com", name="Carl")
    row = "SELECT id, email, name, role, password_hash, updated_at FROM users"
    before = await sql_rows(state, row)
    old_access = client.cookies["orderly_access"]

    refused = await _cli(database_url, tmp_path, "create-admin", "--email", "karl@example.com",
                         "--name", "Karl")  # fmt: skip
    assert refused.returncode == 2
    assert "server.py promote --email karl@example.com" in refused.stderr
    assert await sql_rows(state, row) == before
    assert (await me_with(client, old_access)) is not None  # not even its sessions ended

    promoted = await _cli(database_url, tmp_path, "promote", "--email", "KARL@example.com",
                          "--yes")  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert f"id:       {before[0].id}" in promoted.stdout
    assert "name:     Carl" in promoted.stdout
    assert "from 127.0.0.1" in promoted.stdout  # the registration's sign-in
    # the role change ended the client-era session at once
    assert (await me_with(client, old_access)) is None
    client.cookies.clear()
    payload = await login(client, "karl@example.com")  # the password they registered with
    assert payload["user"]["role"] == "ADMIN"
    assert payload["user"]["name"] == "Carl"
    assert await sql_scalar(state, "SELECT password_hash FROM users") == before[0].password_hash
