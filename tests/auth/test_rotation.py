"""Refresh-token rotation, reuse detection, and a refresh race over one token."""

from __future__ import annotations

import asyncio

import httpx

from tests.helpers import (
    ACCESS,
    REFRESH,
    REFRESH_SESSION,
    ClientFactory,
    assert_access_refused,
    assert_refresh_refused,
    error_codes,
    gql,
    jar,
    me_with,
    post_graphql,
    refresh_hash,
    register,
    set_cookies,
    sql_rows,
    sql_scalar,
)
from web.state import AppState


async def _token_row(state: AppState, token: str) -> tuple[int, int | None, bool, bool]:
    """(id, parent id, spent, revoked) of the stored refresh token."""
    found = await sql_rows(
        state,
        "SELECT id, parent_id, used_at IS NOT NULL, revoked_at IS NOT NULL"
        " FROM refresh_tokens WHERE token_hash = :h",
        h=refresh_hash(token),
    )
    assert len(found) == 1, f"refresh token not stored (exactly once) by its hash: {found}"
    row_id, parent_id, spent, revoked = found[0]
    return row_id, parent_id, spent, revoked


async def _refresh(client: httpx.AsyncClient) -> tuple[str, str]:
    body = await gql(client, REFRESH_SESSION)
    assert body["data"]["refreshSession"]["user"]["email"] == "ann@example.com", body
    return jar(client, ACCESS), jar(client, REFRESH)


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    refresh = jar(client, REFRESH)
    await _token_row(state, refresh)
    stored = await sql_scalar(
        state, "SELECT count(*) FROM refresh_tokens WHERE token_hash = convert_to(:t, 'UTF8')",
        t=refresh,
    )  # fmt: skip
    assert stored == 0


async def test_each_refresh_rotates_and_chains_to_its_parent(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    tokens = [jar(client, REFRESH)]
    for _ in range(3):
        tokens.append((await _refresh(client))[1])
    assert len(set(tokens)) == 4
    ids = [(await _token_row(state, token))[0] for token in tokens]
    for previous, token in zip(ids, tokens[1:], strict=False):
        _, parent, spent, revoked = await _token_row(state, token)
        assert parent == previous
        assert not revoked
    for token in tokens[:-1]:
        assert (await _token_row(state, token))[2], "a rotated token must be marked spent"
    assert not (await _token_row(state, tokens[-1]))[2]
    sessions = await sql_scalar(state, "SELECT count(DISTINCT session_id) FROM refresh_tokens")
    assert sessions == 1


async def test_the_old_refresh_token_is_refused_after_rotation(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    old = jar(client, REFRESH)
    old_id = (await _token_row(state, old))[0]
    await _refresh(client)
    await assert_refresh_refused(stranger, old)
    # refusing it created no second successor
    successors = await sql_scalar(
        state, "SELECT count(*) FROM refresh_tokens WHERE parent_id = :p", p=old_id
    )
    assert successors == 1


async def test_reusing_a_rotated_token_revokes_the_whole_session(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    stolen = jar(client, REFRESH)
    new_access, new_refresh = await _refresh(client)
    # the legitimate client's fresh tokens work and are live...
    assert (await me_with(stranger, new_access))["email"] == "ann@example.com"
    assert (await _token_row(state, new_refresh))[2:] == (False, False)

    # ...until the thief presents the already-rotated token
    await assert_refresh_refused(stranger, stolen)

    assert (await _token_row(state, new_refresh))[3], "the newest token must be revoked"
    await assert_access_refused(stranger, new_access)
    await assert_refresh_refused(stranger, new_refresh)
    # the legitimate client, with its own jar, is signed out as well
    assert (await gql(client, "{ me { id } }"))["data"]["me"] is None
    revoked = await sql_scalar(
        state, "SELECT count(*) FROM login_sessions WHERE revoked_at IS NULL"
    )
    assert revoked == 0


async def test_reuse_ends_only_that_session(
    client: httpx.AsyncClient, another_client: ClientFactory, stranger: httpx.AsyncClient
) -> None:
    await register(client, "ann@example.com")
    laptop = await another_client()
    await gql(
        laptop,
        "mutation($i: LoginInput!) { login(input: $i) { user { id } } }",
        {"i": {"email": "ann@example.com", "password": "correct horse battery staple"}},
    )
    stolen = jar(client, REFRESH)
    await _refresh(client)
    await assert_refresh_refused(stranger, stolen)
    # the same user's other login session is a different family and lives on
    assert (await me_with(stranger, jar(laptop, ACCESS)))["email"] == "ann@example.com"


async def test_refresh_without_a_cookie_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await post_graphql(client, REFRESH_SESSION)
    body = response.json()
    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert set_cookies(response) == {}


async def test_refresh_with_an_unknown_token_is_unauthenticated(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient
) -> None:
    await register(client, "ann@example.com")
    await assert_refresh_refused(stranger, "x" * 43)
    # an unknown token revokes nothing
    assert (await me_with(stranger, jar(client, ACCESS)))["email"] == "ann@example.com"


async def test_concurrent_refreshes_with_one_token_have_exactly_one_winner(
    client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> None:
    await register(client, "ann@example.com")
    token = jar(client, REFRESH)
    token_id = (await _token_row(state, token))[0]
    tab_a, tab_b = await another_client(), await another_client()

    responses = await asyncio.gather(
        post_graphql(tab_a, REFRESH_SESSION, cookies={REFRESH: token}),
        post_graphql(tab_b, REFRESH_SESSION, cookies={REFRESH: token}),
    )

    bodies = [response.json() for response in responses]
    winners = [i for i, body in enumerate(bodies) if body["data"] is not None]
    assert len(winners) == 1, bodies
    winner, loser = responses[winners[0]], responses[1 - winners[0]]
    assert winner.json()["data"]["refreshSession"]["user"]["email"] == "ann@example.com"
    assert error_codes(loser.json()) == ["UNAUTHENTICATED"]
    assert set_cookies(loser) == {}
    successors = await sql_scalar(
        state, "SELECT count(*) FROM refresh_tokens WHERE parent_id = :p", p=token_id
    )
    assert successors == 1

    # By design the loser presented a token that had just been spent, which is exactly what
    # reuse of a stolen token looks like, so it revokes the whole session: the winner's fresh
    # tokens are dead too and the user must sign in again. (A benign race between two tabs
    # therefore signs the user out; the contract prefers that to letting a replay through.)
    fresh = set_cookies(winner)
    await assert_access_refused(tab_a, fresh[ACCESS].value)
    await assert_refresh_refused(tab_a, fresh[REFRESH].value)
    live = await sql_scalar(state, "SELECT count(*) FROM login_sessions WHERE revoked_at IS NULL")
    assert live == 0
