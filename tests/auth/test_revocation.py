"""logout, logoutAll, changePassword and setUserRole take effect on the very next request."""

from __future__ import annotations

import httpx

from tests.helpers import (
    ACCESS,
    CHANGE_PASSWORD,
    LOGOUT,
    LOGOUT_ALL,
    ME,
    PASSWORD,
    REFRESH,
    REFRESH_SESSION,
    SET_USER_ROLE,
    ClientFactory,
    assert_access_refused,
    assert_refresh_refused,
    gql,
    jar,
    live_sessions,
    login,
    me_with,
    register,
    register_admin,
    sql_execute,
    sql_scalar,
)
from web.state import AppState

NEW_PASSWORD = "a brand new passphrase"


async def _signed_in_elsewhere(another_client: ClientFactory, email: str) -> httpx.AsyncClient:
    other = await another_client()
    payload = await login(other, email)
    assert payload["userErrors"] == [], payload
    return other


async def test_logout_refuses_the_old_access_and_refresh_cookies(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    access, refresh = jar(client, ACCESS), jar(client, REFRESH)
    assert (await me_with(stranger, access))["email"] == "ann@example.com"  # control

    assert await gql(client, LOGOUT) == {"data": {"logout": {"ok": True}}}

    await assert_access_refused(stranger, access)
    await assert_refresh_refused(stranger, refresh)
    assert await live_sessions(state, "ann@example.com") == 0


async def test_logout_with_only_the_refresh_cookie_ends_the_session(
    client: httpx.AsyncClient, stranger: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "ann@example.com")
    access, refresh = jar(client, ACCESS), jar(client, REFRESH)
    # e.g. the access cookie has already expired in the browser
    body = await gql(stranger, LOGOUT, cookies={REFRESH: refresh})
    assert body == {"data": {"logout": {"ok": True}}}
    await assert_access_refused(stranger, access)
    await assert_refresh_refused(stranger, refresh)
    assert await live_sessions(state, "ann@example.com") == 0


async def test_logout_ends_only_the_current_session(
    client: httpx.AsyncClient, another_client: ClientFactory, stranger: httpx.AsyncClient
) -> None:
    await register(client, "ann@example.com")
    laptop = await _signed_in_elsewhere(another_client, "ann@example.com")
    await gql(client, LOGOUT)
    assert (await me_with(stranger, jar(laptop, ACCESS)))["email"] == "ann@example.com"


async def test_logout_all_ends_every_session_of_the_user_only(
    client: httpx.AsyncClient,
    another_client: ClientFactory,
    stranger: httpx.AsyncClient,
    state: AppState,
) -> None:
    await register(client, "ann@example.com")
    laptop = await _signed_in_elsewhere(another_client, "ann@example.com")
    bob = await another_client()
    await register(bob, "bob@example.com", name="Bob")
    mine = [(jar(c, ACCESS), jar(c, REFRESH)) for c in (client, laptop)]
    for access, _ in mine:  # control
        assert (await me_with(stranger, access))["email"] == "ann@example.com"

    assert await gql(client, LOGOUT_ALL) == {"data": {"logoutAll": {"ok": True}}}

    for access, refresh in mine:
        await assert_access_refused(stranger, access)
        await assert_refresh_refused(stranger, refresh)
    assert await live_sessions(state, "ann@example.com") == 0
    assert (await me_with(stranger, jar(bob, ACCESS)))["email"] == "bob@example.com"


async def test_change_password_keeps_this_client_and_ends_every_other_session(
    client: httpx.AsyncClient,
    another_client: ClientFactory,
    stranger: httpx.AsyncClient,
    state: AppState,
) -> None:
    await register(client, "ann@example.com")
    laptop = await _signed_in_elsewhere(another_client, "ann@example.com")
    old_access, old_refresh = jar(client, ACCESS), jar(client, REFRESH)
    laptop_access, laptop_refresh = jar(laptop, ACCESS), jar(laptop, REFRESH)

    body = await gql(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
    )
    assert body["data"]["changePassword"]["userErrors"] == [], body
    assert body["data"]["changePassword"]["user"]["email"] == "ann@example.com"

    # this client carries on with the fresh cookies it was given
    assert jar(client, ACCESS) != old_access and jar(client, REFRESH) != old_refresh
    assert (await gql(client, ME))["data"]["me"]["email"] == "ann@example.com"
    # its old cookies are refused...
    await assert_access_refused(stranger, old_access)
    await assert_refresh_refused(stranger, old_refresh)
    # ...and so is the other session, on its very next request
    assert (await gql(laptop, ME))["data"]["me"] is None
    await assert_access_refused(stranger, laptop_access)
    await assert_refresh_refused(stranger, laptop_refresh)
    assert await live_sessions(state, "ann@example.com") == 1
    # the fresh refresh cookie still rotates
    refreshed = await gql(client, REFRESH_SESSION)
    assert refreshed["data"]["refreshSession"]["user"]["email"] == "ann@example.com"
    # and only the new password signs in
    assert (await login(stranger, "ann@example.com"))["userErrors"][0]["code"] == (
        "INVALID_CREDENTIALS"
    )
    assert (await login(stranger, "ann@example.com", NEW_PASSWORD))["userErrors"] == []


async def test_set_user_role_refuses_the_users_old_cookies_at_once(
    client: httpx.AsyncClient,
    another_client: ClientFactory,
    stranger: httpx.AsyncClient,
    state: AppState,
) -> None:
    admin = await another_client()
    await register_admin(admin, state, "root@example.com")
    target = await register(client, "ann@example.com")
    laptop = await _signed_in_elsewhere(another_client, "ann@example.com")
    cookies = [(jar(c, ACCESS), jar(c, REFRESH)) for c in (client, laptop)]
    assert (await me_with(stranger, cookies[0][0]))["role"] == "CLIENT"  # control

    body = await gql(admin, SET_USER_ROLE, {"id": target["id"], "role": "ADMIN"})
    assert body["data"]["setUserRole"] == {
        "user": {"id": target["id"], "email": "ann@example.com", "role": "ADMIN"},
        "userErrors": [],
    }

    for access, refresh in cookies:
        await assert_access_refused(stranger, access)
        await assert_refresh_refused(stranger, refresh)
    assert await live_sessions(state, "ann@example.com") == 0
    role = await sql_scalar(state, "SELECT role FROM users WHERE email = 'ann@example.com'")
    assert role == "ADMIN"
    # signing in again gives a session with the new role; the admin's own session is untouched
    assert (await login(client, "ann@example.com"))["user"]["role"] == "ADMIN"
    assert (await gql(admin, ME))["data"]["me"]["email"] == "root@example.com"


async def test_expired_sessions_are_pruned_with_their_tokens(
    client: httpx.AsyncClient, state: AppState
) -> None:
    from auth.sessions import prune_expired_sessions

    await register(client, "old@example.com")
    await register(client, "new@example.com")
    await sql_execute(
        state,
        "UPDATE login_sessions SET expires_at = now() - interval '1 second' WHERE user_id = "
        "(SELECT id FROM users WHERE email = 'old@example.com')",
    )
    async with state.sessions.begin() as db:
        assert await prune_expired_sessions(db) == 1
    assert await sql_scalar(state, "SELECT count(*) FROM login_sessions") == 1
    assert await sql_scalar(state, "SELECT count(*) FROM refresh_tokens") == 1
