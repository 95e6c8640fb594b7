"""The first administrator, created by `server.py create-admin`, signs in over HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.auth.support import ME, call, me_with, scalar
from tests.helpers import login, register
from web.state import AppState

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "bootstrap passphrase 42"


async def _create_admin(
    database_url: str, tmp_path: Path, email: str, name: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "ORDERLY_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "bootstrap-test-secret-that-is-long-enough-0123456789",
        "DATABASE_URL": database_url,
        "ORDERLY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    command = [sys.executable, str(ROOT / "server.py"), "create-admin", "--email", email,
               "--name", name]  # fmt: skip
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
    result = await _create_admin(database_url, tmp_path, "boss@example.com", "Boss")
    assert result.returncode == 0, result.stderr
    assert "created administrator boss@example.com" in result.stdout
    assert ADMIN_PASSWORD not in result.stdout + result.stderr

    payload = await login(client, "boss@example.com", ADMIN_PASSWORD)
    assert payload["userErrors"] == []
    assert payload["user"]["role"] == "ADMIN"
    assert (await call(client, ME))["data"]["me"]["role"] == "ADMIN"
    users = await call(client, "{ users { totalCount nodes { email role } } }")
    assert users["data"]["users"]["nodes"] == [{"email": "boss@example.com", "role": "ADMIN"}]
    # the command hashed with the current parameters: signing in did not need a rehash
    stored = await scalar(state, "SELECT password_hash FROM users")
    assert not state.passwords.needs_rehash(stored)


async def test_create_admin_promotes_a_registered_client(
    client: httpx.AsyncClient, state: AppState, database_url: str, tmp_path: Path
) -> None:
    await register(client, "carl@example.com", name="Carl")
    hash_before = await scalar(state, "SELECT password_hash FROM users")
    old_access = client.cookies["orderly_access"]

    result = await _create_admin(database_url, tmp_path, "CARL@example.com", "Ignored")
    assert result.returncode == 0, result.stderr
    assert "promoted administrator" in result.stdout

    # the role change ended the client-era session at once
    assert (await me_with(client, old_access)) is None
    client.cookies.clear()
    payload = await login(client, "carl@example.com")  # the password they registered with
    assert payload["user"]["role"] == "ADMIN"
    assert payload["user"]["name"] == "Carl"
    assert await scalar(state, "SELECT password_hash FROM users") == hash_before
