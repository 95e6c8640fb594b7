"""Password handling: equal-cost login failures, rehash on login, changePassword outcomes."""

from __future__ import annotations

import httpx
from argon2 import PasswordHasher, Type

from tests.auth.support import (
    CHANGE_PASSWORD,
    ME,
    call,
    execute,
    live_sessions,
    post,
    scalar,
    set_cookies,
)
from tests.helpers import LOGIN, PASSWORD, login, register
from web.state import AppState

CURRENT_PARAMETERS = "$argon2id$v=19$m=19456,t=2,p=1$"


async def _hash_of(state: AppState, email: str) -> str:
    found = await scalar(state, "SELECT password_hash FROM users WHERE email = :e", e=email)
    assert isinstance(found, str)
    return found


async def _insert_user(state: AppState, email: str, password_hash: str) -> None:
    await execute(
        state,
        "INSERT INTO users (email, name, password_hash) VALUES (:e, 'Old', :h)",
        e=email,
        h=password_hash,
    )


async def _login_counting(
    client: httpx.AsyncClient, state: AppState, email: str, password: str
) -> tuple[httpx.Response, int]:
    before = state.passwords.verifications
    response = await post(client, LOGIN, {"input": {"email": email, "password": password}})
    return response, state.passwords.verifications - before


async def test_unknown_email_and_wrong_password_answer_identically_at_equal_cost(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    client.cookies.clear()

    wrong, wrong_cost = await _login_counting(client, state, "ann@example.com", "not it at all")
    unknown, unknown_cost = await _login_counting(
        client, state, "nobody@example.com", "not it at all"
    )

    assert wrong.status_code == unknown.status_code == 200
    assert wrong.content == unknown.content
    payload = wrong.json()["data"]["login"]
    assert payload["user"] is None
    assert [error["code"] for error in payload["userErrors"]] == ["INVALID_CREDENTIALS"]
    assert wrong.headers["content-type"] == unknown.headers["content-type"]
    assert set_cookies(wrong) == set_cookies(unknown) == {}
    assert wrong_cost == 1
    assert unknown_cost == 1


async def test_a_successful_login_costs_one_verification(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """Control for the counter: it counts real verifications (and no rehash is due here)."""
    await register(client, "ann@example.com")
    response, cost = await _login_counting(client, state, "ann@example.com", PASSWORD)
    assert response.json()["data"]["login"]["userErrors"] == []
    assert cost == 1


async def test_login_rehashes_a_hash_made_with_weaker_parameters(
    client: httpx.AsyncClient, state: AppState
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    old_hash = weak.hash(PASSWORD)
    assert old_hash.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    await _insert_user(state, "old@example.com", old_hash)

    first = await login(client, "old@example.com")
    assert first["userErrors"] == [] and first["user"]["email"] == "old@example.com"

    new_hash = await _hash_of(state, "old@example.com")
    assert new_hash != old_hash
    assert new_hash.startswith(CURRENT_PARAMETERS), new_hash
    assert not state.passwords.needs_rehash(new_hash)
    # the new hash is of the same password: signing in still works, and wrong ones still fail
    client.cookies.clear()
    again = await login(client, "old@example.com")
    assert again["userErrors"] == []
    assert await _hash_of(state, "old@example.com") == new_hash  # no second rehash
    wrong = await login(client, "old@example.com", "not the password")
    assert wrong["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_a_failed_login_does_not_rehash(client: httpx.AsyncClient, state: AppState) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    old_hash = weak.hash(PASSWORD)
    await _insert_user(state, "old@example.com", old_hash)
    wrong = await login(client, "old@example.com", "not the password")
    assert wrong["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert await _hash_of(state, "old@example.com") == old_hash


async def test_passwords_are_stored_as_argon2id_and_never_returned(
    client: httpx.AsyncClient, state: AppState
) -> None:
    response = await post(
        client,
        "mutation($i: RegisterInput!) { register(input: $i) { user { id email } } }",
        {"i": {"email": "ann@example.com", "name": "Ann", "password": PASSWORD}},
    )
    stored = await _hash_of(state, "ann@example.com")
    assert stored.startswith(CURRENT_PARAMETERS)
    assert PASSWORD not in stored
    assert stored not in response.text and "argon2" not in response.text
    schema_fields = await call(client, '{ __type(name: "User") { fields { name } } }')
    names = {field["name"] for field in schema_fields["data"]["__type"]["fields"]}
    assert not {n for n in names if "password" in n.lower() or "hash" in n.lower()}, names


async def test_change_password_with_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    before = await _hash_of(state, "ann@example.com")
    response = await post(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": "a wrong guess", "newPassword": "whatever new 123"}},
    )
    payload = response.json()["data"]["changePassword"]
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_CREDENTIALS", ["currentPassword"])
    ]
    assert set_cookies(response) == {}
    assert await _hash_of(state, "ann@example.com") == before
    assert await live_sessions(state, "ann@example.com") == 1
    assert (await call(client, ME))["data"]["me"]["email"] == "ann@example.com"


async def test_change_password_refuses_a_weak_new_password(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com", name="Ann Example")
    before = await _hash_of(state, "ann@example.com")
    for weak in ("short", "x" * 129, "ANN@example.com", "ann example"):
        body = await call(
            client, CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": weak}}
        )
        payload = body["data"]["changePassword"]
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            ("WEAK_PASSWORD", ["newPassword"])
        ], weak
    assert await _hash_of(state, "ann@example.com") == before
    assert await live_sessions(state, "ann@example.com") == 1


async def test_change_password_needs_a_session(client: httpx.AsyncClient, state: AppState) -> None:
    await register(client, "ann@example.com")
    before = await _hash_of(state, "ann@example.com")
    body = await call(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}},
        cookies={},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _hash_of(state, "ann@example.com") == before
