"""The REST routes for managing users and products, and for ending sessions and changing
passwords: what each answers and what it changes."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.helpers import PASSWORD, count, new_client, register, register_admin
from web.state import AppState

NEW_PASSWORD = "a quite different passphrase"


async def test_an_admin_lists_and_filters_users(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    async with new_client(app) as customer, new_client(app) as anonymous:
        await register(customer, "carol@example.com", name="Carol")
        listed = await client.get("/api/users")
        admins = await client.get("/api/users", params={"role": "ADMIN"})
        searched = await client.get("/api/users", params={"search": "carol"})
        assert listed.status_code == 200
        assert sorted(u["email"] for u in listed.json()["items"]) == [
            "admin@example.com",
            "carol@example.com",
        ]
        assert [u["email"] for u in admins.json()["items"]] == ["admin@example.com"]
        assert [u["name"] for u in searched.json()["items"]] == ["Carol"]
        refused = await customer.get("/api/users")
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        unsigned = await anonymous.get("/api/users")
        assert (unsigned.status_code, unsigned.json()["code"]) == (401, "UNAUTHENTICATED")


async def test_an_admin_changes_a_users_role(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    async with new_client(app) as customer:
        user = await register(customer, "carol@example.com")
        refused = await customer.patch(f"/api/users/{user['id']}", json={"role": "ADMIN"})
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        assert await count(state, "users", "role = 'ADMIN'") == 1
        promoted = await client.patch(f"/api/users/{user['id']}", json={"role": "ADMIN"})
        assert promoted.status_code == 200
        assert promoted.json()["id"] == user["id"]
        assert promoted.json()["role"] == "ADMIN"
        assert await count(state, "users", "role = 'ADMIN'") == 2
        missing = await client.patch("/api/users/VXNlcjo5OTk=", json={"role": "ADMIN"})
        assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")


async def test_an_admin_changes_and_archives_a_product(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    created = await client.post("/api/products", json={"name": "Cup", "price": "3.00"})
    product_id = created.json()["id"]
    async with new_client(app) as customer:
        await register(customer, "carol@example.com")
        refused = await customer.patch(f"/api/products/{product_id}", json={"stock": 1})
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        changed = await client.patch(
            f"/api/products/{product_id}", json={"price": "4.50", "stock": 7}
        )
        assert changed.status_code == 200
        assert changed.json()["price"]["amount"] == "4.50"
        assert changed.json()["stock"] == 7
        assert changed.json()["name"] == "Cup"  # fields not sent are kept
        seen = await customer.get(f"/api/products/{product_id}")
        assert (seen.json()["price"]["amount"], seen.json()["stock"]) == ("4.50", 7)
        refused = await customer.delete(f"/api/products/{product_id}")
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        archived = await client.delete(f"/api/products/{product_id}")
        assert archived.status_code == 204
        assert archived.content == b""
        hidden = await customer.get(f"/api/products/{product_id}")
        assert (hidden.status_code, hidden.json()["code"]) == (404, "NOT_FOUND")
        assert await count(state, "products", "archived_at IS NOT NULL") == 1


async def test_logout_all_ends_every_session_of_the_user(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register(client, "carol@example.com")
    async with new_client(app) as laptop, new_client(app) as other_user:
        signed_in = await laptop.post(
            "/api/auth/login", json={"email": "carol@example.com", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        await register(other_user, "dave@example.com")
        ended = await client.post("/api/auth/logout-all")
        assert ended.status_code == 204
        assert (await client.get("/api/users/me")).status_code == 401
        assert (await laptop.get("/api/users/me")).status_code == 401
        assert (await laptop.post("/api/auth/refresh")).status_code == 401
        assert (await other_user.get("/api/users/me")).status_code == 200
        assert await count(state, "login_sessions", "revoked_at IS NULL") == 1


async def test_changing_the_password_ends_the_other_sessions_and_signs_in_again(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register(client, "carol@example.com")
    async with new_client(app) as laptop, new_client(app) as fresh:
        await laptop.post(
            "/api/auth/login", json={"email": "carol@example.com", "password": PASSWORD}
        )
        wrong = await client.put(
            "/api/auth/password",
            json={"currentPassword": "not the password", "newPassword": NEW_PASSWORD},
        )
        assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_CREDENTIALS")
        changed = await client.put(
            "/api/auth/password", json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
        )
        assert changed.status_code == 204
        assert (await client.get("/api/users/me")).status_code == 200  # signed in anew
        assert (await laptop.get("/api/users/me")).status_code == 401
        old = await fresh.post(
            "/api/auth/login", json={"email": "carol@example.com", "password": PASSWORD}
        )
        assert (old.status_code, old.json()["code"]) == (401, "INVALID_CREDENTIALS")
        new = await fresh.post(
            "/api/auth/login", json={"email": "carol@example.com", "password": NEW_PASSWORD}
        )
        assert new.status_code == 200
        assert await count(state, "login_sessions", "revoked_at IS NULL") == 2
