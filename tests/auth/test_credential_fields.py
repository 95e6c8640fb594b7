"""One GraphQL document holds at most one `login`, `register` or `changePassword`."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import PASSWORD, count, error_codes, gql, register
from web.state import AppState

ANN = "ann@example.com"
LOGIN_FIELD = f'login(input: {{email: "{ANN}", password: "{PASSWORD}"}}) {{ user {{ id }} }}'
REGISTER_FIELD = (
    'register(input: {{email: "new{n}@example.com", name: "New", password: "{password}"}})'
    " {{ user {{ id }} }}"
)
REGISTER_ONE = REGISTER_FIELD.format(n=1, password=PASSWORD)
CHANGE_FIELD = (
    f'changePassword(input: {{currentPassword: "{PASSWORD}", newPassword: "another long one"}})'
    " { user { id } }"
)

TOO_MANY = {
    "aliased-logins": f"mutation {{ a: {LOGIN_FIELD} b: {LOGIN_FIELD} }}",
    "login-and-register": f"mutation {{ {LOGIN_FIELD} {REGISTER_ONE} }}",
    "login-and-change-password": f"mutation {{ {LOGIN_FIELD} {CHANGE_FIELD} }}",
    "fragment-spread-twice": f"mutation {{ ...F a: logout {{ ok }} ...F }}"
    f" fragment F on Mutation {{ {LOGIN_FIELD} }}",
    "nested-fragments": "mutation { ...Outer } fragment Outer on Mutation"
    f" {{ ...F ... on Mutation {{ ...F }} }} fragment F on Mutation {{ x: {LOGIN_FIELD} }}",
    "inline-fragments": f"mutation {{ ... on Mutation {{ {LOGIN_FIELD} }}"
    f" ... {{ a: {LOGIN_FIELD} }} }}",
    "two-operations": f"mutation One {{ {LOGIN_FIELD} }} mutation Two {{ {LOGIN_FIELD} }}",
}


async def _tables(state: AppState) -> dict[str, int]:
    return {t: await count(state, t) for t in ("users", "login_sessions", "login_throttle")}


@pytest.mark.parametrize("document", TOO_MANY.values(), ids=TOO_MANY.keys())
async def test_more_than_one_is_refused_before_anything_runs(
    document: str, client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, ANN)
    before = await _tables(state)
    operation = {"operationName": "One"} if "mutation One" in document else {}
    response = await client.post("/graphql", json={"query": document, **operation})
    body = response.json()
    assert body.get("data") is None, body
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"], body
    assert await _tables(state) == before


async def test_twenty_aliased_registrations_create_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """The reported flood: many `register` fields in one document."""
    fields = " ".join(
        f"r{n}: " + REGISTER_FIELD.format(n=n, password=f"long enough passphrase {n}")
        for n in range(20)
    )
    body = await gql(client, f"mutation {{ {fields} }}")
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"], body
    assert await _tables(state) == {"users": 0, "login_sessions": 0, "login_throttle": 0}


async def test_one_is_fine_however_it_is_written(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, ANN)
    document = (
        f"mutation {{ ...F logout {{ ok }} }} fragment F on Mutation {{ signIn: {LOGIN_FIELD} }}"
    )
    body = await gql(client, document)
    assert "errors" not in body, body
    assert body["data"]["signIn"]["user"]["id"]
