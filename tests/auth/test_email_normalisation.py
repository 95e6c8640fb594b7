"""Emails are compared in one form (NFKC, case-folded); look-alike addresses are refused.

Every refused registration is checked to write nothing, over GraphQL and over REST.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import (
    ACCESS,
    PASSWORD,
    REGISTER,
    gql,
    login,
    register,
    sql_execute,
    sql_rows,
    sql_scalar,
)
from web.state import AppState

USERS_ROW = "SELECT id, email, email_key, name, role, password_hash, updated_at FROM users"

LOOK_ALIKES = {
    "zero-width-space": "ann\u200b@example.com",
    "zero-width-joiner": "an\u200dn@example.com",
    "soft-hyphen": "an\u00adn@example.com",
    "word-joiner": "ann\u2060@example.com",
    "right-to-left-override": "\u202eann@example.com",
    "left-to-right-mark": "ann@example.com\u200e",
    "no-break-space": "ann\u00a0@example.com",
    "ideographic-space": "ann\u3000x@example.com",
    "bell-control": "ann\u0007@example.com",
    "cyrillic-a-in-latin-name": "\u0430nn@example.com",
    "cyrillic-a-in-latin-domain": "ann@ex\u0430mple.com",
    "greek-omicron-in-latin-name": "b\u03bfss@example.com",
    "combining-overlay": "a\u0335nn@example.com",
    "combining-dot-below-on-digit": "ann1\u0323@example.com",
    "trailing-dot": "ann@example.com.",
    "fullwidth-cyrillic-mix": "\uff41\u043dn@example.com",
}


async def _register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, Any]:
    body = await gql(
        client, REGISTER, {"input": {"email": email, "password": password, "name": "Ann"}}
    )
    payload: dict[str, Any] = body["data"]["register"]
    return payload


async def _rows(state: AppState) -> list[Any]:
    return await sql_rows(state, USERS_ROW + " ORDER BY id")


@pytest.mark.parametrize("email", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
async def test_a_look_alike_address_is_invalid_input_and_writes_nothing(
    email: str, client: httpx.AsyncClient, state: AppState
) -> None:
    payload = await _register(client, email)
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_INPUT", ["email"])
    ], payload
    assert not client.cookies.get(ACCESS)
    assert await sql_scalar(state, "SELECT count(*) FROM users") == 0
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == 0


@pytest.mark.parametrize(
    "email",
    [LOOK_ALIKES["zero-width-space"], LOOK_ALIKES["cyrillic-a-in-latin-domain"]],
    ids=["invisible", "mixed-script"],
)
async def test_rest_refuses_look_alikes_the_same_way(
    email: str, client: httpx.AsyncClient, state: AppState
) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Ann"}
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "INVALID_INPUT"
    assert [(e["code"], e["field"]) for e in problem["errors"]] == [("INVALID_INPUT", ["email"])]
    assert "set-cookie" not in response.headers
    assert await sql_scalar(state, "SELECT count(*) FROM users") == 0


@pytest.mark.parametrize(
    "again",
    ["KARL@EXAMPLE.COM", "\u212aarl@example.com", "\uff4b\uff41\uff52\uff4c@example.com",
     "karl@\uff45xample.com", "Karl@Example.com "],
    ids=["upper-case", "kelvin-sign", "fullwidth-name", "fullwidth-domain", "padded"],
)  # fmt: skip
async def test_an_address_equal_once_normalised_is_taken_and_the_account_is_unchanged(
    again: str, client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "karl@example.com")
    before = await _rows(state)

    payload = await _register(stranger, again, password="an attacker's own passphrase")
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("EMAIL_TAKEN", ["email"])]
    rest = await stranger.post(
        "/api/auth/register",
        json={"email": again, "password": "an attacker's own passphrase", "name": "X"},
    )
    assert rest.status_code == 409
    assert rest.json()["code"] == "EMAIL_TAKEN"

    assert await _rows(state) == before
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == 1


async def test_a_kelvin_sign_address_is_stored_as_the_plain_letter(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    """NFKC turns the KELVIN SIGN into `K`: what is stored and shown is the real address,
    not a look-alike of it, and the plain address can no longer be registered again."""
    user = await register(client, "\u212aarl@example.com")
    assert user["email"] == "Karl@example.com"
    assert await sql_scalar(state, "SELECT email || ' ' || email_key FROM users") == (
        "Karl@example.com karl@example.com"
    )
    payload = await _register(stranger, "karl@example.com")
    assert [e["code"] for e in payload["userErrors"]] == ["EMAIL_TAKEN"]


@pytest.mark.parametrize(
    ("registered", "signs_in_as"),
    [("karl@example.com", "\uff2b\uff21\uff32\uff2c@example.com"),
     ("Ann@Example.com", "ann@EXAMPLE.com"),
     ("jos\u00e9@example.com", "jose\u0301@example.com"),
     ("stra\u00dfe@example.de", "STRASSE@example.de")],
    ids=["fullwidth", "case", "decomposed-accent", "sharp-s-folds-to-ss"],
)  # fmt: skip
async def test_sign_in_finds_the_account_by_its_normalised_address(
    registered: str, signs_in_as: str, client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    user = await register(client, registered)
    payload = await login(stranger, signs_in_as)
    assert payload["userErrors"] == []
    assert payload["user"]["id"] == user["id"]
    assert payload["user"]["email"] == registered


@pytest.mark.parametrize(
    "email",
    ["\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
     "ivan@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
     "\u592a\u90ce@\u4f8b\u3048.jp", "jos\u00e9.m\u00fcller@example.com",
     "ann+orders@example.com"],
    ids=["cyrillic", "latin-name-cyrillic-domain", "japanese", "latin-accents", "plus-tag"],
)  # fmt: skip
async def test_single_script_international_addresses_are_accepted(
    email: str, client: httpx.AsyncClient, state: AppState
) -> None:
    """Control for the mixed-script cases: one script per part is fine."""
    payload = await _register(client, email)
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == email
    assert await sql_scalar(state, "SELECT count(*) FROM users") == 1


async def test_the_user_search_matches_the_normalised_address(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "karl@example.com", name="Karl")
    await sql_execute(state, "UPDATE users SET role = 'ADMIN' WHERE email = 'karl@example.com'")
    client.cookies.clear()
    await login(client, "karl@example.com")
    found = await gql(
        client,
        "query($s: String) { users(filter: {search: $s}) { nodes { email } } }",
        {"s": "\uff2b\uff21\uff32\uff2c@EXAMPLE"},
    )
    assert found["data"]["users"]["nodes"] == [{"email": "karl@example.com"}]
