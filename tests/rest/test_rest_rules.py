"""REST keeps the same rules as GraphQL: ownership, cross-site protection, validation."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.helpers import PASSWORD, count, new_client, register, register_admin
from web.state import AppState


async def _order_of(buyer: httpx.AsyncClient, admin: httpx.AsyncClient) -> str:
    product = await admin.post("/api/products", json={"name": "Cup", "price": "3.00", "stock": 9})
    assert product.status_code == 201
    placed = await buyer.post(
        "/api/orders", json={"items": [{"productId": product.json()["id"], "quantity": 1}]}
    )
    assert placed.status_code == 201
    order_id: str = placed.json()["id"]
    return order_id


async def test_another_customers_order_is_404_on_every_route(
    client: httpx.AsyncClient, state: AppState, app: Starlette
) -> None:
    await register_admin(client, state, "admin@example.com")
    async with new_client(app) as buyer, new_client(app) as other:
        await register(buyer, "buyer@example.com")
        await register(other, "other@example.com")
        order_id = await _order_of(buyer, client)
        read = await other.get(f"/api/orders/{order_id}")
        cancel = await other.post(f"/api/orders/{order_id}/cancel", json={"reason": "mine now"})
        listed = await other.get("/api/orders")
        filtered = await other.get("/api/orders", params={"customerId": "VXNlcjoy"})
        assert (read.status_code, read.json()["code"]) == (404, "NOT_FOUND")
        assert (cancel.status_code, cancel.json()["code"]) == (404, "NOT_FOUND")
        assert listed.json() == {"items": [], "nextCursor": None}
        assert filtered.json() == {"items": [], "nextCursor": None}
        own = await buyer.get(f"/api/orders/{order_id}")
        assert own.json()["status"] == "PENDING"
        assert await count(state, "order_events", "to_status = 'CANCELLED'") == 0


FORMS: dict[str, dict[str, str]] = {
    "form": {"Content-Type": "application/x-www-form-urlencoded"},
    "multipart": {"Content-Type": "multipart/form-data; boundary=x"},
    "text": {"Content-Type": "text/plain"},
    "none": {},
}


@pytest.mark.parametrize("kind", sorted(FORMS))
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "with-cookie"])
async def test_cross_site_register_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, state: AppState, kind: str, signed_in: bool
) -> None:
    if signed_in:
        await register(client, "victim@example.com")
    users, sessions = await count(state, "users"), await count(state, "login_sessions")
    body = f'{{"email": "new@example.com", "password": "{PASSWORD}", "name": "N"}}'
    response = await client.post("/api/auth/register", content=body, headers=FORMS[kind])
    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert await count(state, "users") == users
    assert await count(state, "login_sessions") == sessions


@pytest.mark.parametrize("kind", sorted(FORMS))
async def test_cross_site_password_change_is_refused(
    client: httpx.AsyncClient, state: AppState, kind: str
) -> None:
    await register(client, "victim@example.com")
    before = await count(state, "users", "password_hash IS NOT NULL")
    hashes = await _hashes(state)
    body = f'{{"currentPassword": "{PASSWORD}", "newPassword": "attacker chosen pw"}}'
    response = await client.put("/api/auth/password", content=body, headers=FORMS[kind])
    assert response.status_code in (400, 415)
    if kind != "none":
        assert response.status_code == 415
    assert await _hashes(state) == hashes
    assert await count(state, "users", "password_hash IS NOT NULL") == before


async def _hashes(state: AppState) -> list[str]:
    from sqlalchemy import text

    async with state.sessions() as db:
        return list((await db.scalars(text("SELECT password_hash FROM users ORDER BY id"))).all())


async def test_json_register_with_a_foreign_origin_is_403(
    client: httpx.AsyncClient, state: AppState
) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "new@example.com", "password": PASSWORD, "name": "N"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert await count(state, "users") == 0


async def test_json_register_from_an_allowed_origin_works(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "new@example.com", "password": PASSWORD, "name": "N"},
        headers={"Origin": "http://127.0.0.1:8000"},
    )
    assert response.status_code == 201


async def test_every_failing_field_is_listed(client: httpx.AsyncClient, state: AppState) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": 5, "password": "x", "extra": True}
    )
    assert response.status_code == 400
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "INVALID_INPUT"
    fields = sorted(tuple(error["field"]) for error in problem["errors"])
    assert fields == [("email",), ("extra",), ("name",)]
    assert await count(state, "users") == 0


async def test_business_validation_is_a_problem_document(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "a@example.com", "password": "short", "name": "A"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "WEAK_PASSWORD"
    assert response.json()["errors"][0]["field"] == ["password"]


async def test_login_throttling_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    from auth.throttle import PAIR_LIMIT

    for _ in range(PAIR_LIMIT):
        wrong = await client.post(
            "/api/auth/login", json={"email": "x@example.com", "password": "nope nope"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "INVALID_CREDENTIALS"
    limited = await client.post(
        "/api/auth/login", json={"email": "x@example.com", "password": "nope nope"}
    )
    assert limited.status_code == 429
    assert limited.json()["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) > 0


async def test_page_size_over_100_is_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/products", params={"limit": 100})).status_code == 200
    response = await client.get("/api/products", params={"limit": 101})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == ["limit"]


async def test_paging_with_next_cursor(client: httpx.AsyncClient, state: AppState) -> None:
    await register_admin(client, state, "admin@example.com")
    for i in range(5):
        made = await client.post("/api/products", json={"name": f"P{i}", "price": f"{i}.00"})
        assert made.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", "sort": "price"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/products", params=params)).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == ["P0", "P1", "P2", "P3", "P4"]


async def test_logout_clears_cookies_and_ends_the_session(client: httpx.AsyncClient) -> None:
    await register(client, "ann@example.com")
    old = dict(client.cookies)
    response = await client.post("/api/auth/logout", json={})
    assert response.status_code == 204
    assert 'orderly_access=""' in response.headers.get("set-cookie", "") or not client.cookies
    client.cookies.update(old)
    assert (await client.get("/api/users/me")).status_code == 401
    assert (await client.post("/api/auth/refresh", json={})).status_code == 401
