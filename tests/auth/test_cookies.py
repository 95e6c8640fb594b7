"""The session cookies: their attributes, the HTTPS variant, and tokens kept out of bodies."""

from __future__ import annotations

import httpx
import pytest

from settings import Settings
from tests.helpers import (
    ACCESS,
    CHANGE_PASSWORD,
    LOGIN,
    LOGOUT,
    ME,
    PASSWORD,
    REFRESH,
    REFRESH_SESSION,
    REGISTER,
    SECURE_ACCESS,
    SECURE_REFRESH,
    SetCookie,
    gql,
    jar,
    post_graphql,
    register,
    set_cookies,
)

NEW_PASSWORD = "a brand new passphrase"


def _assert_session_cookie(cookie: SetCookie, *, max_age: int, secure: bool) -> None:
    assert cookie.value, cookie
    assert cookie.attribute("HttpOnly") is True, cookie
    samesite = cookie.attribute("SameSite")
    assert isinstance(samesite, str) and samesite.lower() == "lax", cookie
    assert cookie.attribute("Path") == "/", cookie
    assert cookie.attribute("Max-Age") == str(max_age), cookie
    assert cookie.attribute("Domain") is None, cookie  # host-only (and required by __Host-)
    assert (cookie.attribute("Secure") is True) is secure, cookie


def _assert_session_cookies(
    response: httpx.Response, settings: Settings, *, secure: bool = False
) -> dict[str, SetCookie]:
    assert response.status_code == 200, response.text
    cookies = set_cookies(response)
    access, refresh = (SECURE_ACCESS, SECURE_REFRESH) if secure else (ACCESS, REFRESH)
    assert set(cookies) == {access, refresh}, cookies
    _assert_session_cookie(cookies[access], max_age=settings.access_token_ttl, secure=secure)
    _assert_session_cookie(cookies[refresh], max_age=settings.refresh_token_ttl, secure=secure)
    assert cookies[access].value != cookies[refresh].value
    return cookies


def _assert_no_token_in_body(response: httpx.Response, cookies: dict[str, SetCookie]) -> None:
    for cookie in cookies.values():
        assert cookie.value not in response.text, f"{cookie.name} leaked into the body"
        # also no recognisable part of it (a JWT's signature, a refresh token's prefix)
        assert cookie.value.rsplit(".", 1)[-1][:16] not in response.text


def _register_vars(email: str) -> dict[str, object]:
    return {"input": {"email": email, "name": "Cookie Monster", "password": PASSWORD}}


def _login_vars(email: str, password: str = PASSWORD) -> dict[str, object]:
    return {"input": {"email": email, "password": password}}


async def test_register_sets_both_cookies_with_every_attribute(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await post_graphql(client, REGISTER, _register_vars("reg@example.com"))
    cookies = _assert_session_cookies(response, settings)
    _assert_no_token_in_body(response, cookies)
    assert response.json()["data"]["register"]["user"]["email"] == "reg@example.com"


async def test_login_sets_both_cookies_with_every_attribute(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client, "ann@example.com")
    client.cookies.clear()
    response = await post_graphql(client, LOGIN, _login_vars("ann@example.com"))
    cookies = _assert_session_cookies(response, settings)
    _assert_no_token_in_body(response, cookies)
    assert response.json()["data"]["login"]["user"]["email"] == "ann@example.com"


async def test_refresh_session_sets_both_cookies_with_every_attribute(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client, "ann@example.com")
    before_access, before_refresh = jar(client, ACCESS), jar(client, REFRESH)
    response = await post_graphql(client, REFRESH_SESSION)
    cookies = _assert_session_cookies(response, settings)
    _assert_no_token_in_body(response, cookies)
    assert before_refresh not in response.text
    assert before_access not in response.text
    assert cookies[REFRESH].value != before_refresh  # rotated
    assert cookies[ACCESS].value != before_access
    assert response.json()["data"]["refreshSession"]["user"]["email"] == "ann@example.com"


async def test_change_password_sets_fresh_cookies_and_keeps_them_out_of_the_body(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client, "ann@example.com")
    before_access, before_refresh = jar(client, ACCESS), jar(client, REFRESH)
    response = await post_graphql(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
    )
    cookies = _assert_session_cookies(response, settings)
    _assert_no_token_in_body(response, cookies)
    assert response.json()["data"]["changePassword"]["userErrors"] == []
    assert before_access not in response.text and before_refresh not in response.text
    assert cookies[ACCESS].value != before_access
    assert cookies[REFRESH].value != before_refresh


async def test_failed_login_sets_no_cookie(client: httpx.AsyncClient) -> None:
    await register(client, "ann@example.com")
    client.cookies.clear()
    response = await post_graphql(client, LOGIN, _login_vars("ann@example.com", "not the password"))
    assert response.json()["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert set_cookies(response) == {}


async def test_logout_clears_both_cookies(client: httpx.AsyncClient) -> None:
    await register(client, "ann@example.com")
    response = await post_graphql(client, LOGOUT)
    assert response.json() == {"data": {"logout": {"ok": True}}}
    cookies = set_cookies(response)
    assert set(cookies) == {ACCESS, REFRESH}
    for cookie in cookies.values():
        assert cookie.attribute("Max-Age") == "0", cookie
        assert cookie.attribute("Path") == "/", cookie
        assert cookie.value in ("", '""'), cookie
    assert not client.cookies.get(ACCESS) and not client.cookies.get(REFRESH)


@pytest.mark.parametrize("operation", ["register", "login", "refresh"])
async def test_https_deployment_uses_secure_host_prefixed_cookies(
    secure_client: httpx.AsyncClient, settings: Settings, operation: str
) -> None:
    email = "secure@example.com"
    response = await post_graphql(secure_client, REGISTER, _register_vars(email))
    if operation == "login":
        secure_client.cookies.clear()
        response = await post_graphql(secure_client, LOGIN, _login_vars(email))
    elif operation == "refresh":
        response = await post_graphql(secure_client, REFRESH_SESSION)
    cookies = _assert_session_cookies(response, settings, secure=True)
    _assert_no_token_in_body(response, cookies)
    # the browser (here: httpx's jar over https) sends them back and they sign the user in
    me = await gql(secure_client, ME)
    assert me["data"]["me"]["email"] == email


async def test_https_deployment_ignores_cookies_without_the_host_prefix(
    secure_client: httpx.AsyncClient,
) -> None:
    await post_graphql(secure_client, REGISTER, _register_vars("secure@example.com"))
    access = jar(secure_client, SECURE_ACCESS)
    refresh = jar(secure_client, SECURE_REFRESH)
    # a cookie tossed in from a sibling (sub)domain cannot carry the __Host- prefix
    me = await gql(secure_client, ME, cookies={ACCESS: access})
    assert me == {"data": {"me": None}}
    refreshed = await gql(secure_client, REFRESH_SESSION, cookies={REFRESH: refresh})
    assert refreshed["data"] is None
    assert refreshed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # control: the prefixed name works
    me = await gql(secure_client, ME, cookies={SECURE_ACCESS: access})
    assert me["data"]["me"]["email"] == "secure@example.com"


async def test_https_deployment_logout_clears_the_secure_cookies(
    secure_client: httpx.AsyncClient,
) -> None:
    await post_graphql(secure_client, REGISTER, _register_vars("secure@example.com"))
    response = await post_graphql(secure_client, LOGOUT)
    cookies = set_cookies(response)
    assert set(cookies) == {SECURE_ACCESS, SECURE_REFRESH}
    for cookie in cookies.values():
        assert cookie.attribute("Max-Age") == "0"
        assert cookie.attribute("Secure") is True  # browsers ignore a non-Secure __Host- cookie
        assert cookie.attribute("Path") == "/"
