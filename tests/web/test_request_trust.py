"""What a request says about itself is not trusted: its Origin is checked against the
configuration (never against its own Host), its header block is bounded (431), a forwarded
client address counts only when it is an IP address, and a token has one spelling only."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from settings import load_settings
from tests.helpers import ACCESS, BASE_URL, count, jar, me_with, post_graphql, register, sql_at
from tests.live_server import SECRET, Server
from web.state import AppState

HEADER_LIMIT = 8192
REGISTER_FORGED = (
    'mutation { register(input: {email: "forged@example.com", password: "forged password 1",'
    ' name: "Forged"}) { user { id } } }'
)

# --- Origin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),  # https claimed on an http server
        ("http://127.0.0.1:9000", "127.0.0.1:9000"),  # another port
        ("http://attacker.example:8000", "attacker.example:8000"),  # DNS rebinding
        ("http://attacker.example", "attacker.example"),
        ("null", "127.0.0.1:8000"),  # sandboxed frames, file: pages
    ],
)
async def test_an_origin_that_only_matches_its_own_host_is_403(
    origin: str, host: str, client: httpx.AsyncClient, state: AppState
) -> None:
    response = await post_graphql(client, REGISTER_FORGED, headers={"Origin": origin, "Host": host})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert await count(state, "users") == 0


async def test_the_configured_origin_passes(client: httpx.AsyncClient, state: AppState) -> None:
    response = await post_graphql(client, REGISTER_FORGED, headers={"Origin": BASE_URL})
    assert response.status_code == 200
    assert await count(state, "users") == 1


@pytest.mark.parametrize(
    ("environ", "origins"),
    [
        ({}, ("http://127.0.0.1:8000", "http://localhost:8000")),
        ({"HOST": "::1", "PORT": "9000"}, ("http://[::1]:9000", "http://localhost:9000")),
        ({"ALLOWED_ORIGINS": "https://shop.example"}, ("https://shop.example",)),
    ],
)
def test_development_allows_the_servers_own_origin_by_default(
    environ: dict[str, str], origins: tuple[str, ...]
) -> None:
    assert load_settings(environ, secret_key=SECRET).allowed_origins == origins


# --- Tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["=", "==", ".", "%3D", "A"])
async def test_a_token_with_anything_appended_to_its_signature_is_refused(
    change: str, client: httpx.AsyncClient
) -> None:
    await register(client, "token@example.com")
    token = jar(client, ACCESS)
    assert (await me_with(client, token))["email"] == "token@example.com"
    client.cookies.clear()
    assert await me_with(client, token + change) is None


async def test_another_spelling_of_the_same_signature_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "spelling@example.com")
    token = jar(client, ACCESS)
    client.cookies.clear()
    # 32 signature bytes take 43 characters; the last one carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    for spare in (1, 2, 3):
        variant = token[:-1] + alphabet[last | spare]
        assert variant != token
        assert await me_with(client, variant) is None


# --- A real server: header limits and forwarded addresses --------------------------------


def _exchange(trust_server: Server, request: bytes) -> bytes:
    """Send raw bytes on one connection (as far as the server reads them); all it answers."""
    with socket.create_connection(("127.0.0.1", trust_server.port), timeout=10) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _get(path: str, *headers: bytes) -> bytes:
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", *headers, b"", b""]
    return b"\r\n".join(lines)


@pytest.mark.parametrize(
    "request_bytes",
    [
        _get("/healthz", b"X-Big: " + b"a" * 16 * 1024 * 1024),  # 16 MB in one header
        _get("/healthz", *(b"X-H%d: v" % i for i in range(2000))),  # many small ones
        _get("/healthz?q=" + "a" * (HEADER_LIMIT + 1)),  # a long request line
        _get("/healthz", b"X-Pad: " + b"a" * 10_000, b"Content-Length: 2") + b"{}",
    ],
    ids=["16MB-header", "2000-headers", "long-url", "just-over"],
)
def test_a_header_block_over_the_limit_is_431(trust_server: Server, request_bytes: bytes) -> None:
    answer = _exchange(trust_server, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:500]
    assert b"REQUEST_HEADER_FIELDS_TOO_LARGE" in body
    assert b"x-content-type-options: nosniff" in head.lower()
    assert httpx.get(trust_server.url + "/healthz").status_code == 200  # the server goes on


def test_header_blocks_under_the_limit_and_large_bodies_are_served(trust_server: Server) -> None:
    padded = httpx.get(
        trust_server.url + "/healthz", headers={"X-Pad": "a" * (HEADER_LIMIT - 1024)}
    )
    assert padded.status_code == 200
    body = {"query": "{ me { id } }", "variables": {"pad": "a" * 200_000}}
    assert httpx.post(trust_server.url + "/graphql", json=body).json() == {"data": {"me": None}}


def test_the_limit_applies_to_each_request_of_a_kept_alive_connection(trust_server: Server) -> None:
    padded = _get("/healthz", b"X-Pad: " + b"a" * (HEADER_LIMIT // 2))
    with socket.create_connection(("127.0.0.1", trust_server.port), timeout=10) as sock:
        for _ in range(3):  # together over the limit, each one under it
            sock.sendall(padded)
            answer = b""
            while b'"ok"}' not in answer:
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        sock.sendall(_get("/healthz", b"X-Pad: " + b"a" * HEADER_LIMIT))
        assert sock.recv(65536).startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize(
    ("forwarded", "recorded"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("198.51.100.1, 2001:db8::1", "2001:db8::1"),  # the last hop is the one a proxy adds
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("not-an-address", None),
        ("203.0.113.9, <script>alert(1)</script>", None),
        ("203.0.113.9.1", None),
    ],
)
def test_a_forwarded_client_address_is_recorded_only_when_it_is_an_ip_address(
    trust_server: Server, trust_database: str, forwarded: str, recorded: str | None
) -> None:
    email = f"fwd-{forwarded.encode().hex()[:24]}@example.com"
    response = httpx.post(
        trust_server.url + "/api/auth/register",
        json={"email": email, "password": "correct horse battery staple", "name": "Forwarded"},
        headers={"X-Forwarded-For": forwarded},
    )
    assert response.status_code == 201, response.text
    assert _session_addresses(trust_database, email) == [recorded]


def _session_addresses(database_url: str, email: str) -> list[str | None]:
    rows = asyncio.run(
        sql_at(
            database_url,
            "SELECT s.ip_address FROM login_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE u.email = $1",
            email,
        )
    )
    return [row["ip_address"] for row in rows]
