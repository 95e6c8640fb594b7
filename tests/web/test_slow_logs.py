"""Requests over SLOW_REQUEST_MS and statements over SLOW_QUERY_MS are logged with the
operation being served and the request id; faster ones are not."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import text

from db.driver import fetch_value
from db.engine import create_engine, create_read_session_factory
from server import create_app
from settings import Settings
from telemetry.slow import operation_var
from tests.helpers import PASSWORD, login, new_client, register
from web.state import AppState

# Sign-ins hash a password (tens of milliseconds); the queries below sleep 30 ms.
pytestmark = pytest.mark.settings(slow_request_ms=5, slow_query_ms=20)
SIGN_IN = "mutation SignIn($input: LoginInput!) { login(input: $input) { userErrors { code } } }"


def _slow(caplog: pytest.LogCaptureFixture, kind: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "orderly.slow" and r.msg.startswith(kind)]


async def test_a_slow_request_names_its_operation_and_request_id(
    client: httpx.AsyncClient, slow_log: pytest.LogCaptureFixture
) -> None:
    await register(client, "ann@example.com")
    slow_log.clear()
    body = {
        "query": SIGN_IN,
        "operationName": "SignIn",
        "variables": {"input": {"email": "ann@example.com", "password": PASSWORD}},
    }
    response = await client.post("/graphql", json=body, headers={"x-request-id": "slow-1"})
    assert response.status_code == 200
    (record,) = _slow(slow_log, "slow request")
    assert record.request_id == "slow-1"  # type: ignore[attr-defined]
    message = record.getMessage()
    assert "POST /graphql 200" in message and "(SignIn)" in message
    assert record.fields["operation"] == "SignIn"  # type: ignore[attr-defined]


async def test_below_the_threshold_a_request_is_not_logged(
    settings: Settings, database_url: str, slow_log: pytest.LogCaptureFixture
) -> None:
    app = create_app(replace(settings, slow_request_ms=60_000), database_url=database_url)
    try:
        async with new_client(app) as client:
            await register(client, "bob@example.com")
            await login(client, "bob@example.com")
    finally:
        await app.state.orderly.close()
    assert _slow(slow_log, "slow request") == []


async def test_slow_statements_are_logged_without_their_values(
    state: AppState, slow_log: pytest.LogCaptureFixture
) -> None:
    token = operation_var.set("Report")
    try:
        async with state.reads() as db:
            await db.execute(text("SELECT pg_sleep(0.03), CAST(:secret AS text)"), {"secret": "s3"})
            await db.execute(text("SELECT CAST(:quick AS text)"), {"quick": "q"})
        await fetch_value(state.engine, "SELECT pg_sleep(0.03)::text || $1", ["s4"])
    finally:
        operation_var.reset(token)
    records = _slow(slow_log, "slow query")
    assert len(records) == 2
    assert all("(Report)" in r.getMessage() and "pg_sleep" in r.getMessage() for r in records)
    assert not any("s3" in r.getMessage() or "s4" in r.getMessage() for r in records)


async def test_a_zero_threshold_logs_nothing(
    settings: Settings, database_url: str, slow_log: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(replace(settings, slow_query_ms=0), database_url)
    try:
        async with create_read_session_factory(engine)() as db:
            await db.execute(text("SELECT pg_sleep(0.03)"))
        await fetch_value(engine, "SELECT pg_sleep(0.03)::text", [])
    finally:
        await engine.dispose()
    assert _slow(slow_log, "slow query") == []
