"""Registrations are throttled per client address, in PostgreSQL."""

from __future__ import annotations

import httpx

from auth.throttle import REGISTRATION_LIMIT, WINDOW
from tests.helpers import PASSWORD, REGISTER, ClientFactory, count, error_codes, gql, sql_scalar
from web.state import AppState


def _input(n: int) -> dict[str, dict[str, str]]:
    return {"input": {"email": f"new{n}@example.com", "name": f"New {n}", "password": PASSWORD}}


async def test_an_address_registers_a_few_accounts_per_window(
    another_client: ClientFactory, state: AppState
) -> None:
    address = "198.51.100.20"
    for n in range(REGISTRATION_LIMIT):
        body = await gql(await another_client(address), REGISTER, _input(n))
        assert body["data"]["register"]["userErrors"] == [], body

    refused = await another_client(address)
    body = await gql(refused, REGISTER, _input(REGISTRATION_LIMIT))
    assert body["data"] is None, body
    assert error_codes(body) == ["RATE_LIMITED"]
    assert 1 <= body["errors"][0]["extensions"]["retryAfter"] <= WINDOW.total_seconds()
    rest = await refused.post("/api/auth/register", json=_input(REGISTRATION_LIMIT)["input"])
    assert rest.status_code == 429
    assert rest.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(rest.headers["retry-after"]) <= WINDOW.total_seconds()
    assert not refused.cookies.get("orderly_access")
    assert await count(state, "users") == REGISTRATION_LIMIT
    counted = await sql_scalar(
        state, "SELECT failures FROM login_throttle WHERE bucket = :b", b=f"register:{address}"
    )
    assert counted == REGISTRATION_LIMIT  # refused registrations are not counted

    other = await another_client("198.51.100.21")  # another address is not affected
    body = await gql(other, REGISTER, _input(REGISTRATION_LIMIT))
    assert body["data"]["register"]["userErrors"] == [], body


async def test_refused_input_is_not_counted(client: httpx.AsyncClient, state: AppState) -> None:
    weak = {"input": {"email": "a@example.com", "name": "A", "password": "short"}}
    for _ in range(REGISTRATION_LIMIT + 1):
        body = await gql(client, REGISTER, weak)
        assert body["data"]["register"]["userErrors"][0]["code"] == "WEAK_PASSWORD"
    body = await gql(client, REGISTER, _input(0))
    assert body["data"]["register"]["userErrors"] == [], body
    assert await count(state, "login_throttle") == 1
