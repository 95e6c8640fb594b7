"""Cross-site request forgery: refused requests are refused before they run, and change nothing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.helpers import (
    ACCESS,
    BASE_URL,
    LOGOUT_ALL,
    ME,
    PASSWORD,
    gql,
    jar,
    live_sessions,
    login,
    post_graphql,
    register,
    sql_scalar,
)
from web.state import AppState

VICTIM = "victim@example.com"
FORGED = "forged@example.com"
REGISTER_FORGED = (
    'mutation { register(input: {email: "forged@example.com", password: "forged password 1",'
    ' name: "Forged"}) { user { id } userErrors { code } } }'
)
CHANGE_PASSWORD_FORGED = (
    'mutation { changePassword(input: {currentPassword: "correct horse battery staple",'
    ' newPassword: "attacker chosen 123"}) { user { id } userErrors { code } } }'
)
GRAPHQL_BODY = json.dumps({"query": REGISTER_FORGED}).encode()

Send = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]


async def _form(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.post("/graphql", data={"query": query})


async def _multipart(client: httpx.AsyncClient, query: str) -> httpx.Response:
    # the GraphQL multipart request spec, which some servers execute
    return await client.post(
        "/graphql",
        files={"operations": (None, json.dumps({"query": query})), "map": (None, "{}")},
    )


async def _text_plain(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        content=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "text/plain"},
    )


async def _no_content_type(client: httpx.AsyncClient, query: str) -> httpx.Response:
    request = client.build_request("POST", "/graphql", content=json.dumps({"query": query}))
    assert "content-type" not in request.headers
    return await client.send(request)


async def _json(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": query})


REFUSED_SENDERS: dict[str, Send] = {
    "form-urlencoded": _form,
    "multipart": _multipart,
    "text-plain": _text_plain,
    "no-content-type": _no_content_type,
}


async def _nothing_written(state: AppState, sessions_before: int) -> None:
    assert await sql_scalar(state, "SELECT count(*) FROM users WHERE email = :e", e=FORGED) == 0
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == sessions_before


async def _maybe_sign_in(client: httpx.AsyncClient, signed_in: bool) -> int:
    if signed_in:
        await register(client, VICTIM, name="Victim")
        assert client.cookies.get(ACCESS)
    return 1 if signed_in else 0


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "with-auth-cookie"])
@pytest.mark.parametrize("send", list(REFUSED_SENDERS.values()), ids=list(REFUSED_SENDERS))
async def test_non_json_post_is_refused_and_changes_nothing(
    send: Send, signed_in: bool, client: httpx.AsyncClient, state: AppState
) -> None:
    sessions = await _maybe_sign_in(client, signed_in)
    response = await send(client, REGISTER_FORGED)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "set-cookie" not in response.headers
    await _nothing_written(state, sessions)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "with-auth-cookie"])
async def test_json_post_runs(signed_in: bool, client: httpx.AsyncClient, state: AppState) -> None:
    """Control for the matrix above: the same document sent as JSON does register."""
    sessions = await _maybe_sign_in(client, signed_in)
    response = await _json(client, REGISTER_FORGED)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["register"]["userErrors"] == []
    assert await sql_scalar(state, "SELECT count(*) FROM users WHERE email = :e", e=FORGED) == 1
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == sessions + 1


async def test_json_with_a_charset_parameter_is_json(
    client: httpx.AsyncClient, state: AppState
) -> None:
    response = await client.post(
        "/graphql",
        content=GRAPHQL_BODY,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert await sql_scalar(state, "SELECT count(*) FROM users WHERE email = :e", e=FORGED) == 1


async def test_form_change_password_with_an_auth_cookie_changes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, VICTIM, name="Victim")
    hash_before = await sql_scalar(
        state, "SELECT password_hash FROM users WHERE email = :e", e=VICTIM
    )
    for send in REFUSED_SENDERS.values():
        response = await send(client, CHANGE_PASSWORD_FORGED)
        assert response.status_code == 415, response.text
    hash_after = await sql_scalar(
        state, "SELECT password_hash FROM users WHERE email = :e", e=VICTIM
    )
    assert hash_after == hash_before
    assert await live_sessions(state, VICTIM) == 1
    assert (await gql(client, ME))["data"]["me"]["email"] == VICTIM
    assert (await login(client, VICTIM, PASSWORD))["userErrors"] == []


MUTATION_M = "mutation M " + REGISTER_FORGED.removeprefix("mutation ")


@pytest.mark.parametrize(
    "params",
    [
        {"query": REGISTER_FORGED},
        {"query": MUTATION_M, "operationName": "M"},
        {"query": "query Q { me { id } } " + MUTATION_M, "operationName": "M"},
        {"query": MUTATION_M + " query Q { me { id } }"},
    ],
    ids=["plain", "named", "selected-after-a-query", "first-of-two"],
)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "with-auth-cookie"])
async def test_mutation_over_get_is_405_and_changes_nothing(
    params: dict[str, str], signed_in: bool, client: httpx.AsyncClient, state: AppState
) -> None:
    sessions = await _maybe_sign_in(client, signed_in)
    response = await client.get("/graphql", params=params)
    assert response.status_code == 405, response.text
    assert "set-cookie" not in response.headers
    await _nothing_written(state, sessions)


@pytest.mark.parametrize(
    "params",
    [
        {"query": "query Q { me { id } } " + REGISTER_FORGED},
        {"query": "query Q { me { id } } " + MUTATION_M},
        {"query": MUTATION_M + " query Q { me { id } }", "operationName": "Q"},
    ],
    ids=["anonymous-mutation-after-a-query", "unselected-second", "query-selected"],
)
async def test_a_mutation_smuggled_next_to_a_get_query_never_runs(
    params: dict[str, str], client: httpx.AsyncClient, state: AppState
) -> None:
    """Whatever GET answers for a document that also holds a mutation, the mutation never runs."""
    response = await client.get("/graphql", params=params)
    assert response.status_code in (200, 400, 405), response.text
    assert "register" not in response.text
    assert "set-cookie" not in response.headers
    await _nothing_written(state, 0)


async def test_mutation_over_head_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    response = await client.head("/graphql", params={"query": REGISTER_FORGED})
    assert response.status_code == 405
    await _nothing_written(state, 0)


async def test_mutation_over_get_cannot_end_sessions(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, VICTIM, name="Victim")
    response = await client.get("/graphql", params={"query": LOGOUT_ALL})
    assert response.status_code == 405, response.text
    assert await live_sessions(state, VICTIM) == 1


async def test_queries_over_get_still_work(client: httpx.AsyncClient) -> None:
    """Control: GET is refused for mutations only."""
    await register(client, VICTIM, name="Victim")
    response = await client.get("/graphql", params={"query": ME})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["email"] == VICTIM


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://127.0.0.1:8000.evil.example",
        "http://evil.example:8000",
        "https://127.0.0.1:8001",
    ],
)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "with-auth-cookie"])
async def test_foreign_origin_is_403_and_changes_nothing(
    origin: str, signed_in: bool, client: httpx.AsyncClient, state: AppState
) -> None:
    sessions = await _maybe_sign_in(client, signed_in)
    response = await post_graphql(client, REGISTER_FORGED, headers={"Origin": origin})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    await _nothing_written(state, sessions)


async def test_foreign_origin_cannot_use_the_victims_session(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, VICTIM, name="Victim")
    response = await post_graphql(client, LOGOUT_ALL, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert await live_sessions(state, VICTIM) == 1
    # reading with the victim's cookie from a foreign origin is refused too
    read = await client.get(
        "/graphql", params={"query": ME}, headers={"Origin": "https://evil.example"}
    )
    assert read.status_code == 403
    assert VICTIM not in read.text


@pytest.mark.parametrize("origin", [BASE_URL, BASE_URL + "/", BASE_URL.upper()])
async def test_allowed_origin_passes(
    origin: str, client: httpx.AsyncClient, state: AppState
) -> None:
    response = await post_graphql(client, REGISTER_FORGED, headers={"Origin": origin})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["register"]["userErrors"] == []
    assert await sql_scalar(state, "SELECT count(*) FROM users WHERE email = :e", e=FORGED) == 1
    assert jar(client, ACCESS)
