"""The real server process: embedded start-up, several workers, graceful shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.disposable_database import wait_until
from tests.live_server import SECRET, Server


def test_embedded_start_keeps_data_across_restarts(
    tmp_path: Path, start_server: type[Server]
) -> None:
    first = start_server(tmp_path, {})
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

    second = start_server(tmp_path, {})
    second.wait_ready()
    assert second.stop() == 0
    assert "database already has accounts" in second.output()
    assert "demo account:" not in second.output()
    assert (tmp_path / "data" / "demo-credentials.txt").read_text() == credentials
    assert (tmp_path / "data" / "secret_key").exists()


def test_two_workers_share_one_database(
    tmp_path: Path, process_database: str, start_server: type[Server]
) -> None:
    server = start_server(
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
    tmp_path: Path, process_database: str, start_server: type[Server]
) -> None:
    server = start_server(tmp_path, {"DATABASE_URL": process_database, "SECRET_KEY": SECRET})
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


def _answers(server: Server) -> bool:
    """/healthz and a GraphQL query both answer, each on a fresh connection."""
    try:
        health = httpx.get(server.url + "/healthz", timeout=5)
        query = httpx.post(server.url + "/graphql", json={"query": "{ me { id } }"}, timeout=5)
    except httpx.TransportError:
        return False
    return health.status_code == 200 and query.json() == {"data": {"me": None}}


def _ready_status(server: Server) -> int:
    return httpx.get(server.url + "/readyz", timeout=5).status_code


@pytest.mark.slow
def test_workers_killed_in_quick_succession_are_replaced(
    tmp_path: Path, process_database: str, start_server: type[Server]
) -> None:
    server = start_server(
        tmp_path, {"DATABASE_URL": process_database, "WORKERS": "2", "SECRET_KEY": SECRET}
    )
    server.wait_ready()
    wait_until(lambda: len(server.serving_workers()) == 2, timeout=30, what="two workers")
    first, survivor = server.serving_workers()
    first.kill()
    first.wait(10)
    assert _answers(server)
    wait_until(lambda: len(server.serving_workers()) == 2, timeout=30, what="a replacement worker")
    (replacement,) = [w for w in server.serving_workers() if w.pid != survivor.pid]
    assert replacement.create_time() - first.create_time() < 10
    replacement.kill()  # seconds after its start: the server must neither stop nor give up
    replacement.wait(10)
    assert _answers(server)
    wait_until(lambda: len(server.serving_workers()) == 2, timeout=30, what="two workers again")
    assert survivor in server.serving_workers()
    assert _answers(server)
    assert server.process.poll() is None
    assert server.stop(signal.SIGTERM) == 0


@pytest.mark.slow
def test_workers_that_never_serve_stop_the_server(
    tmp_path: Path, process_database: str, start_server: type[Server]
) -> None:
    with socket.socket() as taken:  # no SO_REUSEPORT: the workers cannot bind beside it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        server = start_server(
            tmp_path,
            {"DATABASE_URL": process_database, "WORKERS": "2", "SECRET_KEY": SECRET, "PORT": port},
        )
        assert server.process.wait(90) == 1
    output = server.output()
    assert "times in a row before they could serve" in output
    assert "Address already in use" in output
    assert not psutil.pid_exists(server.process.pid)


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_stop_signal_drains_before_shutting_down(
    tmp_path: Path, process_database: str, start_server: type[Server], workers: str
) -> None:
    env = {"DATABASE_URL": process_database, "SECRET_KEY": SECRET, "WORKERS": workers}
    server = start_server(tmp_path, {**env, "SHUTDOWN_DRAIN": "4"})
    server.wait_ready()
    server.process.send_signal(signal.SIGTERM)
    wait_until(
        lambda: all(_ready_status(server) == 503 for _ in range(3)),
        timeout=5,
        what="readiness turns 503",
    )
    assert server.process.poll() is None
    assert _answers(server)
    assert server.process.wait(30) == 0
    assert "still serving for 4s" in server.output()


@pytest.mark.slow
def test_ctrl_c_twice_under_uv_stops_quietly(tmp_path: Path, start_server: type[Server]) -> None:
    """The README's `uv run server.py`, embedded database, and a terminal's Ctrl-C twice."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in UV
    assert uv is not None, "run the tests with `uv run pytest`, as the README says"
    passed = ("UV_", "XDG_", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k.startswith(passed)}
    server = start_server(tmp_path, env, command=[uv, "run", "server.py"])
    server.wait_ready(timeout=120)
    server.signal_group(signal.SIGINT)
    time.sleep(0.05)
    server.signal_group(signal.SIGINT)
    assert server.process.wait(60) == 0
    output = server.output()
    assert "Traceback" not in output
    assert "Exception ignored" not in output
    pgdata = str(tmp_path / "data" / "pgdata")
    assert not [
        p for p in psutil.process_iter(["cmdline"]) if pgdata in " ".join(p.info["cmdline"] or [])
    ]
