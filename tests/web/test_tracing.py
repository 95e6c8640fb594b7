"""With OTEL_EXPORTER_OTLP_ENDPOINT set, a request's HTTP, GraphQL and SQL spans reach the
collector in one trace, and the request's log lines carry that trace's id."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
import pytest

from auth.passwords import Passwords
from server import create_app
from settings import Settings
from telemetry import tracing
from tests.helpers import BASE_URL
from tests.web.collector import Collector
from web.logs import RequestIdFilter

SHELF = "query Shelf { products(first: 1) { totalCount } }"


async def test_one_trace_from_http_to_sql_and_its_id_in_the_logs(
    settings: Settings,
    database_url: str,
    passwords: Passwords,
    collector: Collector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO, logger="orderly.access")
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    traced = replace(settings, otel_endpoint=endpoint, graphql_compiler=True)
    app = create_app(traced, database_url=database_url, passwords=passwords)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.post(
                "/graphql", json={"query": SHELF, "operationName": "Shelf"}
            )
            assert response.status_code == 200
    finally:
        tracing.shutdown()  # sends what is left, and stops tracing for the next tests
        await app.state.orderly.close()

    spans = collector.spans()
    names = {span.name for span in spans}  # type: ignore[attr-defined]
    assert "graphql query Shelf" in names
    assert "POST /graphql" in names
    assert "sql" in names
    trace_ids = {span.trace_id.hex() for span in spans}  # type: ignore[attr-defined]
    assert len(trace_ids) == 1
    (access,) = [r for r in caplog.records if r.name == "orderly.access"]
    assert access.trace_id == trace_ids.pop()  # type: ignore[attr-defined]


def test_without_an_endpoint_nothing_is_traced(settings: Settings) -> None:
    assert tracing.configure(replace(settings, otel_endpoint="")) is None
    assert tracing.current_trace_id() is None
    with tracing.span("anything") as current:
        assert current is None
