"""Password handling: equal-cost login failures, rehash on login, changePassword outcomes,
strength rules and NFKC normalisation."""

from __future__ import annotations

import unicodedata

import httpx
import pytest
from argon2 import PasswordHasher, Type

from auth.passwords import MEMORY_KIB, PARALLELISM, TIME_COST
from tests.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    ME,
    PASSWORD,
    REGISTER,
    gql,
    live_sessions,
    login,
    post_graphql,
    register,
    set_cookies,
    sql_execute,
    sql_scalar,
)
from web.state import AppState

CURRENT_PARAMETERS = f"$argon2id$v=19$m={MEMORY_KIB},t={TIME_COST},p={PARALLELISM}$"


async def _hash_of(state: AppState, email: str) -> str:
    found = await sql_scalar(state, "SELECT password_hash FROM users WHERE email = :e", e=email)
    assert isinstance(found, str)
    return found


async def _insert_user(state: AppState, email: str, password_hash: str) -> None:
    await sql_execute(
        state,
        "INSERT INTO users (email, email_key, name, password_hash)"
        " VALUES (:e, lower(:e), 'Old', :h)",
        e=email,
        h=password_hash,
    )


async def _login_counting(
    client: httpx.AsyncClient, state: AppState, email: str, password: str
) -> tuple[httpx.Response, int]:
    before = state.passwords.verifications
    response = await post_graphql(client, LOGIN, {"input": {"email": email, "password": password}})
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
    response = await post_graphql(
        client,
        "mutation($i: RegisterInput!) { register(input: $i) { user { id email } } }",
        {"i": {"email": "ann@example.com", "name": "Ann", "password": PASSWORD}},
    )
    stored = await _hash_of(state, "ann@example.com")
    assert stored.startswith(CURRENT_PARAMETERS)
    assert PASSWORD not in stored
    assert stored not in response.text and "argon2" not in response.text
    schema_fields = await gql(client, '{ __type(name: "User") { fields { name } } }')
    names = {field["name"] for field in schema_fields["data"]["__type"]["fields"]}
    assert not {n for n in names if "password" in n.lower() or "hash" in n.lower()}, names


async def test_change_password_with_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    before = await _hash_of(state, "ann@example.com")
    response = await post_graphql(
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
    assert (await gql(client, ME))["data"]["me"]["email"] == "ann@example.com"


async def test_change_password_refuses_a_weak_new_password(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com", name="Ann Example")
    before = await _hash_of(state, "ann@example.com")
    for weak in ("short", "x" * 129, "ANN@example.com", "ann example"):
        body = await gql(
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
    body = await gql(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}},
        cookies={},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _hash_of(state, "ann@example.com") == before


COMMON = ["password", "12345678", "aaaaaaaa", " " * 8, "Password1", "qwertyuiop", "Summer2024"]


@pytest.mark.parametrize("weak", COMMON)
async def test_common_and_easily_guessed_passwords_are_refused_with_advice(
    weak: str, client: httpx.AsyncClient, state: AppState
) -> None:
    body = await gql(
        client,
        REGISTER,
        {"input": {"email": "ann@example.com", "password": weak, "name": "Ann"}},
    )
    errors = body["data"]["register"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("WEAK_PASSWORD", ["password"])]
    assert "guess" in errors[0]["message"]
    rest = await client.post(
        "/api/auth/register", json={"email": "ann@example.com", "password": weak, "name": "Ann"}
    )
    assert rest.status_code == 400
    assert rest.json()["code"] == "WEAK_PASSWORD"
    assert await sql_scalar(state, "SELECT count(*) FROM users") == 0


async def test_a_password_made_of_the_account_name_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    body = await gql(
        client,
        REGISTER,
        {"input": {"email": "zbigniew@example.com", "password": "Zbigniew Wodecki!", "name":
                   "Zbigniew Wodecki"}},
    )  # fmt: skip
    errors = body["data"]["register"]["userErrors"]
    assert [e["code"] for e in errors] == ["WEAK_PASSWORD"]
    assert await sql_scalar(state, "SELECT count(*) FROM users") == 0


@pytest.mark.parametrize(
    "same",
    [PASSWORD, unicodedata.normalize("NFD", PASSWORD), PASSWORD.replace("e", "\uff45")],
    ids=["as-is", "nfd", "fullwidth"],
)
async def test_the_current_password_is_refused_as_the_new_one(
    same: str, client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    before = await _hash_of(state, "ann@example.com")
    change = {"currentPassword": PASSWORD, "newPassword": same}
    body = await gql(client, CHANGE_PASSWORD, {"input": change})
    errors = body["data"]["changePassword"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("WEAK_PASSWORD", ["newPassword"])]
    rest = await client.put("/api/auth/password", json=change)
    assert rest.status_code == 400, rest.text
    assert rest.json()["code"] == "WEAK_PASSWORD"
    assert await _hash_of(state, "ann@example.com") == before
    assert await live_sessions(state, "ann@example.com") == 1


async def test_change_password_refuses_a_common_new_password_over_rest(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    before = await _hash_of(state, "ann@example.com")
    rest = await client.put(
        "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": "password123"}
    )
    assert rest.status_code == 400
    assert rest.json()["code"] == "WEAK_PASSWORD"
    assert await _hash_of(state, "ann@example.com") == before
    assert await live_sessions(state, "ann@example.com") == 1


# "café crème" with composed accents (NFC), and a fullwidth digit that NFKC makes ASCII
COMPOSED = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e 42"
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
COMPATIBILITY = "\ufb01ne \ufb02our pastry \u2460\u2461\u2462"  # ligatures, circled digits


async def test_a_password_signs_in_whichever_normal_form_it_is_typed_in(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    assert COMPOSED != DECOMPOSED
    await register(client, "ann@example.com", password=COMPOSED)
    stored = await _hash_of(state, "ann@example.com")
    payload = await login(stranger, "ann@example.com", DECOMPOSED)
    assert payload["userErrors"] == []
    assert await _hash_of(state, "ann@example.com") == stored  # already normalised
    assert PasswordHasher().verify(stored, unicodedata.normalize("NFKC", COMPOSED))


async def test_a_hash_of_a_password_as_typed_still_signs_in_and_is_rehashed_normalised(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """Hashes made before normalisation hold the raw password: login tries the NFKC form,
    then the raw one, and replaces the hash by one of the NFKC form."""
    assert unicodedata.normalize("NFKC", COMPATIBILITY) != COMPATIBILITY
    current = PasswordHasher(
        time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM, type=Type.ID
    )
    old_hash = current.hash(COMPATIBILITY)  # current parameters: only the form is old
    await _insert_user(state, "old@example.com", old_hash)

    first, cost = await _login_counting(client, state, "old@example.com", COMPATIBILITY)
    assert first.json()["data"]["login"]["userErrors"] == []
    assert cost == 2  # the NFKC form, then the raw one
    new_hash = await _hash_of(state, "old@example.com")
    assert new_hash != old_hash
    assert new_hash.startswith(CURRENT_PARAMETERS)
    assert current.verify(new_hash, unicodedata.normalize("NFKC", COMPATIBILITY))

    client.cookies.clear()
    again, cost = await _login_counting(client, state, "old@example.com", COMPATIBILITY)
    assert again.json()["data"]["login"]["userErrors"] == []
    assert cost == 1  # the NFKC form matches now
    assert await _hash_of(state, "old@example.com") == new_hash
    typed_normalised = await login(client, "old@example.com", "fine flour pastry 123")
    assert typed_normalised["userErrors"] == []


async def test_unknown_email_and_wrong_password_cost_the_same_for_unnormalised_input(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    client.cookies.clear()
    wrong, wrong_cost = await _login_counting(client, state, "ann@example.com", COMPATIBILITY)
    unknown, unknown_cost = await _login_counting(
        client, state, "nobody@example.com", COMPATIBILITY
    )
    assert wrong.content == unknown.content
    assert wrong_cost == unknown_cost == 2
