"""`server.py unlock`, run as a real process against the database the app uses."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx

from auth.throttle import PAIR_LIMIT
from tests import pgbouncer
from tests.helpers import LOGIN, PASSWORD, ClientFactory, gql, register, run_cli, sql_scalar
from web.state import AppState

ANN = "ann@example.com"
BOB = "bob@example.com"
ATTACKER = "198.51.100.9"


async def _unlock(database_url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = pgbouncer.environment(database_url)
    return await asyncio.to_thread(run_cli, "unlock", *args, env=env, tmp=tmp)


async def _outcome(client: httpx.AsyncClient, email: str, password: str) -> str:
    body = await gql(client, LOGIN, {"input": {"email": email, "password": password}})
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    errors = body["data"]["login"]["userErrors"]
    return str(errors[0]["code"]) if errors else "OK"


async def _lock(client: httpx.AsyncClient, email: str) -> None:
    for _ in range(PAIR_LIMIT):
        assert await _outcome(client, email, "wrong wrong wrong") == "INVALID_CREDENTIALS"
    assert await _outcome(client, email, PASSWORD) == "RATE_LIMITED"


def test_unlock_has_help_and_needs_exactly_one_target(tmp_path: Path) -> None:
    helped = run_cli("unlock", "--help", tmp=tmp_path)
    assert helped.returncode == 0
    assert "usage: server.py unlock" in helped.stdout
    assert "--email" in helped.stdout and "--address" in helped.stdout
    for args in ((), ("--email", ANN, "--address", ATTACKER)):
        refused = run_cli("unlock", *args, tmp=tmp_path)
        assert refused.returncode == 2, refused
    not_an_address = run_cli("unlock", "--address", "my laptop", tmp=tmp_path)
    assert not_an_address.returncode == 2
    assert "not an IP address" in not_an_address.stderr


async def test_unlock_by_email_and_by_address(
    another_client: ClientFactory, state: AppState, database_url: str, tmp_path: Path
) -> None:
    await register(await another_client(), ANN)
    await register(await another_client(), BOB)
    attacker = await another_client(ATTACKER)
    await _lock(attacker, ANN)
    await _lock(attacker, BOB)

    by_email = await _unlock(database_url, tmp_path, "--email", " Ann@Example.COM ")
    assert by_email.returncode == 0, by_email.stderr
    assert by_email.stdout.strip() == "cleared 2 throttle counters"  # Ann's and the pair's
    assert await _outcome(attacker, ANN, PASSWORD) == "OK"
    assert await _outcome(attacker, BOB, PASSWORD) == "RATE_LIMITED"

    by_address = await _unlock(database_url, tmp_path, "--address", ATTACKER)
    assert by_address.returncode == 0, by_address.stderr
    assert by_address.stdout.strip() == "cleared 2 throttle counters"  # the address and a pair
    left = await sql_scalar(
        state,
        "SELECT string_agg(bucket, ',' ORDER BY bucket) FROM login_throttle WHERE failures > 0",
    )
    assert left == f"email:{BOB},register:127.0.0.1"  # the account keeps its failures
    assert await _outcome(attacker, BOB, PASSWORD) == "OK"

    nothing = await _unlock(database_url, tmp_path, "--address", "2001:db8::1")
    assert nothing.stdout.strip() == "cleared 0 throttle counters"
