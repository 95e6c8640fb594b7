"""The database stops, then freezes: every request is a prompt, honest `503` a client may
retry, `/readyz` says so within its deadline, and service resumes as soon as PostgreSQL does.

A real server process against a PostgreSQL of the test's own. Each request gets a client
deadline: a request still hanging past it fails the test.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.disposable_database import DisposableDatabase, wait_until
from tests.helpers import PASSWORD
from tests.live_server import Server

pytestmark = pytest.mark.slow

POOL_TIMEOUT = 2.0
STATEMENT_TIMEOUT = 2.0
OUTAGE = 10.0
# The server's bound for a failing request: the pool wait, or the statement timeout plus the
# driver's one-second margin. The client allows half a second more for a loaded machine.
REQUEST_DEADLINE = max(POOL_TIMEOUT, STATEMENT_TIMEOUT) + 1.0 + 0.5
READINESS_DEADLINE = 1.0 + 0.5
RECOVERY = 2.0

PRODUCTS = "{ products(first: 5) { nodes { id name } } }"
ME = "{ me { id email } }"
PLACE = """mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } userErrors { code } } }"""


def _requests(http: httpx.Client) -> dict[str, httpx.Response]:
    """One of each kind: anonymous and signed-in, read and write, GraphQL and REST."""
    item = {"productId": "UHJvZHVjdDox", "quantity": 1}
    return {
        "graphql read": http.post("/graphql", json={"query": PRODUCTS}),
        "graphql session": http.post("/graphql", json={"query": ME}),
        "graphql mutation": http.post(
            "/graphql", json={"query": PLACE, "variables": {"input": {"items": [item]}}}
        ),
        "rest read": http.get("/api/products"),
        "rest session": http.get("/api/orders"),
    }


def _assert_unavailable(responses: dict[str, httpx.Response]) -> None:
    for name, response in responses.items():
        assert response.status_code == 503, (name, response.text)
        assert response.headers["retry-after"] == "1", name
        body = response.json()
        code = body["errors"][0]["extensions"]["code"] if "graphql" in name else body["code"]
        assert code == "UNAVAILABLE", (name, body)


def _serving(http: httpx.Client) -> bool:
    try:
        ready = http.get("/readyz").status_code == 200
        return ready and all(r.status_code == 200 for r in _requests(http).values())
    except httpx.TransportError:
        return False


def _during(seconds: float, http: httpx.Client) -> None:
    """Send every kind of request over and over for `seconds`: each is refused in time."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        _assert_unavailable(_requests(http))
        ready = http.get("/readyz", timeout=READINESS_DEADLINE)
        assert ready.status_code == 503, ready.text


def test_stopped_then_frozen_database(outage_server: Server, database: DisposableDatabase) -> None:
    with httpx.Client(base_url=outage_server.url, timeout=REQUEST_DEADLINE) as http:
        signed_up = http.post(
            "/api/auth/register",
            json={"email": "outage@example.com", "password": PASSWORD, "name": "Outage"},
        )
        assert signed_up.status_code == 201, signed_up.text
        assert _serving(http)

        database.stop()
        _during(OUTAGE, http)
        database.start()
        wait_until(lambda: _serving(http), timeout=RECOVERY, what="serving after a restart")

        database.freeze()
        try:
            _during(OUTAGE, http)
        finally:
            database.thaw()
        wait_until(lambda: _serving(http), timeout=RECOVERY, what="serving after a freeze")

    log = outage_server.output()
    assert "Traceback" not in log
    assert "database unavailable" in log
