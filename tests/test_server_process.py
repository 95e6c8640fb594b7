"""The real server process: embedded start-up, several workers, graceful shutdown."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.database import recreate_database
from tests.live_server import SECRET, Server


@pytest.fixture
def process_database(admin_database_url: str) -> str:
    return recreate_database(admin_database_url, "orderly_process")


@pytest.fixture
def start(tmp_path: Path) -> Iterator[type[Server]]:
    started: list[Server] = []

    class Tracked(Server):
        def __init__(self, tmp: Path, env: dict[str, str]) -> None:
            super().__init__(tmp, env)
            started.append(self)

    yield Tracked
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def test_embedded_start_keeps_data_across_restarts(tmp_path: Path, start: type[Server]) -> None:
    first = start(tmp_path, {})
    first.wait_ready()
    assert httpx.get(first.url + "/healthz").json() == {"status": "ok"}
    response = httpx.post(first.url + "/graphql", json={"query": "{ me { id } }"})
    assert response.json() == {"data": {"me": None}}
    assert first.stop() == 0
    assert "demo account: admin" in first.output()
    pgdata = str(tmp_path / "data" / "pgdata")
    assert not [
        p for p in psutil.process_iter(["cmdline"]) if pgdata in " ".join(p.info["cmdline"] or [])
    ]
    credentials = (tmp_path / "data" / "demo-credentials.txt").read_text()

    second = start(tmp_path, {})
    second.wait_ready()
    assert second.stop() == 0
    assert "database already has accounts" in second.output()
    assert "demo account:" not in second.output()
    assert (tmp_path / "data" / "demo-credentials.txt").read_text() == credentials
    assert (tmp_path / "data" / "secret_key").exists()


def test_two_workers_share_one_database(
    tmp_path: Path, process_database: str, start: type[Server]
) -> None:
    server = start(
        tmp_path, {"DATABASE_URL": process_database, "WORKERS": "2", "SECRET_KEY": SECRET}
    )
    server.wait_ready()
    children = psutil.Process(server.process.pid).children()
    workers = [
        c for c in children if "python" in c.name().lower() or "spawn" in " ".join(c.cmdline())
    ]
    assert len(workers) >= 2, [c.cmdline() for c in children]
    with httpx.Client(base_url=server.url) as http:
        for _ in range(20):
            assert http.get("/readyz").status_code == 200
    assert server.stop(signal.SIGTERM) == 0
    assert "demo account" not in server.output()  # DATABASE_URL set: never seeds


def test_in_flight_request_finishes_during_graceful_shutdown(
    tmp_path: Path, process_database: str, start: type[Server]
) -> None:
    server = start(tmp_path, {"DATABASE_URL": process_database, "SECRET_KEY": SECRET})
    server.wait_ready()
    body = b'{"query": "{ me { id } }"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None, "the server quit with a request in flight"
        sock.sendall(body[10:])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
            if b'"me":null' in reply:
                break
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'{"data":{"me":null}}' in reply
    assert server.process.wait(30) == 0
