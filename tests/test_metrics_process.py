"""/metrics of a real server with two workers: one set of values for the host, whichever
process answers the scrape, and a worker's counts outlive it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import httpx
import pytest

from tests.disposable_database import wait_until
from tests.helpers import METRICS_TOKEN, Live, live_user, sample, settle
from tests.live.client import connected, subscribe
from tests.live_server import Server

pytestmark = pytest.mark.slow
REQUESTS = 40
ROUTE = {"route": "/api/products", "method": "GET", "status": "200"}


def _port_scrape(port: int) -> str:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    return response.text


def _token_scrape(server: Server) -> str:
    # A new connection each time: the kernel spreads them over both workers.
    response = httpx.get(
        server.url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    assert response.status_code == 200
    return response.text


def test_the_host_counts_every_workers_requests(metrics_server: tuple[Server, int, str]) -> None:
    running, metrics_port, _ = metrics_server
    for _ in range(REQUESTS):
        assert httpx.get(running.url + "/api/products", timeout=5).status_code == 200
    workers = {w.pid for w in running.serving_workers()}

    scrapes = [_port_scrape(metrics_port)] + [_token_scrape(running) for _ in range(6)]
    assert {sample(text, "orderly_http_requests_total", **ROUTE) for text in scrapes} == {REQUESTS}
    memory = re.findall(r'orderly_process_resident_memory_bytes\{pid="(\d+)"\}', scrapes[0])
    pids = {int(pid) for pid in memory}
    assert pids == workers

    # A worker killed outright: its requests stay counted, its live gauges go.
    dead = min(workers)
    os.kill(dead, signal.SIGKILL)
    wait_until(
        lambda: len(running.serving_workers()) == 2 and dead not in _pids(running),
        timeout=30,
        what="the worker replaced",
    )
    after = _port_scrape(metrics_port)
    assert sample(after, "orderly_http_requests_total", **ROUTE) == REQUESTS
    assert f'pid="{dead}"' not in after


def _pids(server: Server) -> set[int]:
    return {w.pid for w in server.serving_workers()}


def test_the_api_port_serves_metrics_only_with_the_token(
    metrics_server: tuple[Server, int, str],
) -> None:
    running, _, _ = metrics_server
    for headers in ({}, {"authorization": "Bearer not-the-token-at-all"}):
        refused = httpx.get(running.url + "/metrics", headers=headers, timeout=5)
        assert refused.status_code == 401
        assert "orderly_" not in refused.text


async def test_subscriptions_are_counted_while_open(
    metrics_server: tuple[Server, int, str],
) -> None:
    running, metrics_port, url = metrics_server
    customer = await live_user(Live(running, url))
    try:
        async with connected(running.url, customer.cookies) as socket:
            await subscribe(socket, "mine")
            await settle()
            during = await asyncio.to_thread(_port_scrape, metrics_port)
            assert sample(during, "orderly_live_connections") == 1
            assert sample(during, "orderly_graphql_subscriptions") == 1
        deadline = time.monotonic() + 10
        while True:
            after = await asyncio.to_thread(_port_scrape, metrics_port)
            if sample(after, "orderly_live_connections") == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert sample(after, "orderly_live_connections") == 0
        assert sample(after, "orderly_graphql_subscriptions") == 0
    finally:
        await customer.http.aclose()
