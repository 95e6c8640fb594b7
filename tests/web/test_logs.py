"""The log of a real server: one line per record whatever a client sends, client errors as
INFO lines without tracebacks, every line of a request tagged with its id, and no values
of SQL statements in error messages."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.live_server import Server
from web.state import AppState

# "12:00:00 INFO    [request id] logger: message", as web/logs.py writes it
LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<level>[A-Z]+) +\[(?P<id>[^\]]+)\] (?P<logger>\S+): ")


def _lines_until(logs_server: Server, start: int, request_id: str) -> list[str]:
    """The log lines written since offset `start`, once the access line of `request_id` is in."""
    deadline = time.monotonic() + 10
    while True:
        lines = logs_server.output()[start:].splitlines()
        if any(f"[{request_id}] orderly.access" in line for line in lines):
            return lines
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)


def test_a_client_cannot_forge_a_log_line(logs_server: Server) -> None:
    start = len(logs_server.output())
    forged = "00:00:00 ERROR   [forged] orderly.failures: unexpected error"
    response = httpx.get(
        logs_server.url + "/healthz%0a" + forged.replace(" ", "%20") + "%0d%1b[2J%e2%80%a8",
        headers={"X-Request-ID": "forge-1"},
    )
    assert response.status_code == 404
    lines = _lines_until(logs_server, start, "forge-1")
    assert all(LINE.match(line) for line in lines), lines
    assert not any("[forged]" in line.split(":", 3)[0] for line in lines)
    (access,) = [line for line in lines if "[forge-1]" in line]
    assert "/healthz\\n00:00:00 ERROR   [forged]" in access
    assert "\\r\\x1b[2J\\u2028" in access


def test_client_errors_are_info_lines_without_traceback(logs_server: Server) -> None:
    start = len(logs_server.output())
    requests = {
        "client-1": {"query": "{ nosuchfield\n }"},
        "client-2": {"query": '{ products(filter: {search: "ab"}) { totalCount } }'},
        "client-3": {"query": "{ products(first: 1000) { totalCount } }"},
    }
    for request_id, body in requests.items():
        answer = httpx.post(
            logs_server.url + "/graphql", json=body, headers={"X-Request-ID": request_id}
        )
        assert answer.json()["errors"], answer.text
    rest = httpx.get(
        logs_server.url + "/api/products",
        params={"cursor": "not-a-cursor"},
        headers={"X-Request-ID": "client-4"},
    )
    assert rest.status_code == 400
    lines = _lines_until(logs_server, start, "client-4")
    for request_id in ("client-1", "client-2", "client-3"):
        tagged = [line for line in lines if f"[{request_id}]" in line]
        assert any("client error" in line for line in tagged), lines
    assert all(LINE.match(line) for line in lines), lines
    assert {LINE.match(line)["level"] for line in lines} == {"INFO"}, lines  # type: ignore[index]
    assert not any("Traceback" in line for line in lines)


def test_every_line_of_a_request_carries_its_id(logs_server: Server) -> None:
    start = len(logs_server.output())
    httpx.post(logs_server.url + "/graphql", json={"query": "{ mee { id } }"})
    httpx.post(
        logs_server.url + "/api/auth/login", json={"email": "x@example.com", "password": "p"}
    )
    httpx.get(logs_server.url + "/healthz", headers={"X-Request-ID": "last-1"})
    lines = _lines_until(logs_server, start, "last-1")
    ids = [LINE.match(line)["id"] for line in lines]  # type: ignore[index]
    assert len(lines) >= 4, lines
    assert "-" not in ids, lines


async def test_database_errors_never_quote_the_values_sent(state: AppState) -> None:
    secret = "card 4111 1111 1111 1111"
    with pytest.raises(IntegrityError) as raised:
        async with state.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO products (name, price_minor) VALUES (:name, -1)"),
                {"name": secret},
            )
    assert "INSERT INTO products" in str(raised.value)
    assert secret not in str(raised.value)
