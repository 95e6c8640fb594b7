"""register: validation outcomes, each of which writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import (
    ACCESS,
    PASSWORD,
    REGISTER,
    count,
    gql,
    login,
    register,
    set_cookies,
    sql_scalar,
)
from web.state import AppState


async def _register(
    client: httpx.AsyncClient, *, email: str, password: str = PASSWORD, name: str = "Ann Example"
) -> dict[str, Any]:
    body = await gql(
        client, REGISTER, {"input": {"email": email, "password": password, "name": name}}
    )
    payload: dict[str, Any] = body["data"]["register"]
    return payload


def _problems(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in payload["userErrors"]]


async def _users(state: AppState) -> int:
    return int(await sql_scalar(state, "SELECT count(*) FROM users"))


@pytest.mark.parametrize(
    ("password", "name"),
    [
        ("x" * 7, "Ann Example"),
        ("x" * 129, "Ann Example"),
        ("", "Ann Example"),
        ("ann@example.com", "Ann Example"),
        ("ANN@Example.COM", "Ann Example"),
        ("Ann Example", "Ann Example"),
        ("ann example", "Ann Example"),
    ],
    ids=[
        "too-short",
        "too-long",
        "empty",
        "equals-email",
        "equals-email-other-case",
        "equals-name",
        "equals-name-other-case",
    ],
)
async def test_weak_passwords_are_refused_and_nothing_is_written(
    password: str, name: str, client: httpx.AsyncClient, state: AppState
) -> None:
    body_response = await client.post(
        "/graphql",
        json={
            "query": REGISTER,
            "variables": {
                "input": {"email": "ann@example.com", "password": password, "name": name}
            },
        },
    )
    payload = body_response.json()["data"]["register"]
    assert payload["user"] is None
    assert _problems(payload) == [("WEAK_PASSWORD", ["password"])]
    assert set_cookies(body_response) == {}
    assert await _users(state) == 0
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == 0


@pytest.mark.parametrize("password", ["Zq8!vR#2", (PASSWORD + ", ") * 4 + "Zq8!vR#2"])
async def test_passwords_at_the_length_bounds_are_accepted(
    password: str, client: httpx.AsyncClient, state: AppState
) -> None:
    """Control for the length cases: 8 and 128 characters are fine."""
    assert len(password) in (8, 128)
    payload = await _register(client, email="ann@example.com", password=password)
    assert payload["userErrors"] == []
    assert await _users(state) == 1


@pytest.mark.parametrize(
    "email",
    ["", "ann", "ann@", "@example.com", "ann@example", "ann example@example.com", "a@b@c.com",
     "x" * 65 + "@example.com", "ann@" + "x" * 320 + ".com"],
)  # fmt: skip
async def test_bad_emails_are_invalid_input_and_nothing_is_written(
    email: str, client: httpx.AsyncClient, state: AppState
) -> None:
    payload = await _register(client, email=email)
    assert payload["user"] is None
    assert ("INVALID_INPUT", ["email"]) in _problems(payload), payload
    assert await _users(state) == 0


@pytest.mark.parametrize("name", ["", "   ", "n" * 201])
async def test_bad_names_are_invalid_input_and_nothing_is_written(
    name: str, client: httpx.AsyncClient, state: AppState
) -> None:
    payload = await _register(client, email="ann@example.com", name=name)
    assert payload["user"] is None
    assert _problems(payload) == [("INVALID_INPUT", ["name"])]
    assert await _users(state) == 0


async def test_every_problem_is_reported_at_once(
    client: httpx.AsyncClient, state: AppState
) -> None:
    payload = await _register(client, email="nope", password="short", name="")
    assert sorted(_problems(payload)) == [
        ("INVALID_INPUT", ["email"]),
        ("INVALID_INPUT", ["name"]),
        ("WEAK_PASSWORD", ["password"]),
    ]
    assert await _users(state) == 0


@pytest.mark.parametrize("again", ["ANN@EXAMPLE.COM", "Ann@Example.com", "  ann@example.com "])
async def test_an_email_taken_in_another_case_is_email_taken(
    again: str, client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    payload = await _register(stranger, email=again, password="another password")
    assert payload["user"] is None
    assert _problems(payload) == [("EMAIL_TAKEN", ["email"])]
    assert not stranger.cookies.get(ACCESS)
    assert await _users(state) == 1
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == 1
    # the original account's password is untouched
    login = await gql(
        stranger,
        "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }",
        {"i": {"email": "ann@example.com", "password": PASSWORD}},
    )
    assert login["data"]["login"]["userErrors"] == []


async def test_register_creates_a_signed_in_client(
    client: httpx.AsyncClient, state: AppState
) -> None:
    payload = await _register(client, email="  Ann@Example.com ", name="  Ann  ")
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == "Ann@Example.com"
    assert payload["user"]["name"] == "Ann"
    assert payload["user"]["role"] == "CLIENT"
    stored = await sql_scalar(state, "SELECT email || '|' || name || '|' || role FROM users")
    assert stored == "Ann@Example.com|Ann|CLIENT"
    me = await gql(client, "{ me { id email } }")
    assert me["data"]["me"] == {"id": payload["user"]["id"], "email": "Ann@Example.com"}


@pytest.mark.parametrize("field", ["email", "name"])
async def test_nul_characters_are_invalid_input_and_write_nothing(
    client: httpx.AsyncClient, state: AppState, field: str
) -> None:
    values = {"email": "nul@example.com", "name": "Nul", "password": PASSWORD}
    values[field] = values[field][:2] + "\x00" + values[field][2:]
    body = await gql(client, REGISTER, {"input": values})
    assert body["data"]["register"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert await count(state, "users") == 0


async def test_a_nul_in_a_login_email_is_just_wrong_credentials(client: httpx.AsyncClient) -> None:
    payload = await login(client, "nul\x00@example.com")
    assert payload["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
