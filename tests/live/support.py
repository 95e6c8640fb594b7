"""A real server process for the subscription tests, and its signed-in users."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from auth.passwords import Passwords
from resolvers.ids import to_global_id
from tests.database import recreate_database
from tests.helpers import PASSWORD
from tests.live_server import SECRET, Server

_numbers = itertools.count(1)
_HASH = Passwords(memory_kib=64, time_cost=1).hash_sync(PASSWORD)


@dataclass(frozen=True, slots=True)
class Live:
    server: Server
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        dsn = make_url(self.database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()


@dataclass(frozen=True, slots=True)
class User:
    http: httpx.AsyncClient
    id: str
    email: str

    @property
    def cookies(self) -> dict[str, str]:
        return dict(self.http.cookies)


def live_server(
    tmp_path_factory: pytest.TempPathFactory, admin_database_url: str, name: str, workers: int
) -> Iterator[Live]:
    url = recreate_database(admin_database_url, name)
    server = Server(
        tmp_path_factory.mktemp(name),
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "WORKERS": str(workers)},
    )
    try:
        server.wait_ready()
        yield Live(server, url)
        server.stop()  # a clean stop: the workers close their sockets (and write coverage)
    finally:
        server.kill()


async def user(live: Live, *, admin: bool = False) -> User:
    """A new account (inserted, as registering is throttled per address), signed in on a
    client of its own."""
    email = f"live{next(_numbers)}@example.com"
    [row] = await live.sql(
        "INSERT INTO users (email, email_key, name, role, password_hash)"
        " VALUES ($1, $1, 'Live', $2, $3) RETURNING id",
        email, "ADMIN" if admin else "CLIENT", _HASH,
    )  # fmt: skip
    http = httpx.AsyncClient(base_url=live.url)
    signed = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return User(http, to_global_id("User", row["id"]), email)


async def product(admin: User, stock: int = 1000) -> str:
    made = await admin.http.post(
        "/api/products", json={"name": "Kite", "price": "9.50", "stock": stock}
    )
    assert made.status_code == 201, made.text
    product_id: str = made.json()["id"]
    return product_id


async def place(customer: User, product_id: str) -> str:
    placed = await customer.http.post(
        "/api/orders", json={"items": [{"productId": product_id, "quantity": 1}]}
    )
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["id"]
    return order_id


async def move(admin: User, order_id: str, status: str) -> None:
    moved = await admin.http.patch(f"/api/orders/{order_id}/status", json={"status": status})
    assert moved.status_code == 200, moved.text


async def settle() -> None:
    """Give a subscribe message time to reach its worker before a change is made."""
    await asyncio.sleep(0.3)
