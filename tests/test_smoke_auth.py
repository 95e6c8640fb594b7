from __future__ import annotations

import httpx

from tests.helpers import gql, login, register


async def test_register_me_login(client: httpx.AsyncClient) -> None:
    user = await register(client, "ann@example.com", name="Ann")
    assert user["email"] == "ann@example.com"
    me = await gql(client, "{ me { id email name role } }")
    assert me["data"]["me"]["email"] == "ann@example.com"
    client.cookies.clear()
    assert (await gql(client, "{ me { id } }"))["data"]["me"] is None
    payload = await login(client, "ann@example.com")
    assert payload["userErrors"] == []
    bad = await login(client, "ann@example.com", "wrong password!")
    assert bad["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    refreshed = await gql(
        client, "mutation { refreshSession { user { email } userErrors { code } } }"
    )
    assert refreshed["data"]["refreshSession"]["user"]["email"] == "ann@example.com"
    users = await gql(client, "{ users { totalCount } }")
    assert users["errors"][0]["extensions"]["code"] == "FORBIDDEN"
