"""`server.py serve` with two workers through a real PgBouncer in transaction pooling: the
migrations go to PostgreSQL directly, and requests from both workers share two server
connections without a prepared-statement or session-setting error."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests import pgbouncer
from tests.live_server import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pgbouncer.pgbouncer_binary() is None, reason="pgbouncer is not installed"),
]
PASSWORD = "correct horse battery staple"


async def test_two_workers_serve_through_pgbouncer(bounced_server: Server) -> None:
    log_before = bounced_server.output()
    assert "alembic" in log_before  # migrated at start (through DATABASE_DIRECT_URL)

    async def customer(n: int) -> list[int]:
        statuses = []
        # A connection per request: the kernel spreads them over both workers.
        async with httpx.AsyncClient(base_url=bounced_server.url, timeout=30) as http:
            email = f"bounce{n}@example.com"
            headers = {"x-forwarded-for": f"198.51.100.{n}"}
            body = {"email": email, "name": "B", "password": PASSWORD}
            registered = await http.post("/api/auth/register", json=body, headers=headers)
            statuses.append(registered.status_code)
            for _ in range(10):
                statuses.append((await http.get("/api/users/me")).status_code)
                statuses.append((await http.get("/api/products?limit=5")).status_code)
                query = {"query": "{ me { email } products(first: 2) { totalCount } }"}
                answer = await http.post("/graphql", json=query)
                statuses.append(answer.status_code)
                assert answer.json()["data"]["me"]["email"] == email
        return statuses

    results = await asyncio.gather(*(customer(n) for n in range(6)))
    for statuses in results:
        assert statuses[0] == 201
        assert set(statuses[1:]) == {200}
    log = bounced_server.output()
    assert "prepared statement" not in log
    assert "unsupported startup parameter" not in log
