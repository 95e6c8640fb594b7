"""A worker killed mid-delivery: the delivery is sent again, with the same webhook-id."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from tests.database import recreate_database
from tests.helpers import PASSWORD
from tests.live_server import SECRET, Server
from tests.webhooks.receiver import Receiver


@pytest.mark.slow
async def test_a_delivery_survives_a_sigkill_of_its_worker(
    tmp_path: Path, admin_database_url: str
) -> None:
    url = await asyncio.to_thread(recreate_database, admin_database_url, "orderly_webhook_kill")
    env = {
        "DATABASE_URL": url, "SECRET_KEY": SECRET, "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT_MS": "1000", "WEBHOOK_POLL_INTERVAL_MS": "100",
        "WEBHOOK_RETRY_BASE_MS": "100",
    }  # fmt: skip
    receiver = Receiver()
    hold = asyncio.Event()  # the first request is never answered: the worker dies holding it
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not receiver.received:
            held.append(writer)
            await receiver.handle_request(reader, writer, answer=False)
            await hold.wait()
            return
        await receiver.handle_request(reader, writer, answer=True)

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    receiver.port = listener.sockets[0].getsockname()[1]
    servers: list[Server] = []
    try:
        first = Server(tmp_path, env)
        servers.append(first)
        await asyncio.to_thread(first.wait_ready)
        async with httpx.AsyncClient(base_url=first.url) as http:
            await _admin(http, url)
            made = await http.post("/api/webhooks", json={"url": receiver.url,
                                                          "events": ["ORDER_CREATED"]})  # fmt: skip
            assert made.status_code == 201, made.text
            product = await http.post("/api/products", json={"name": "Kite", "price": "9.50",
                                                             "stock": 5})  # fmt: skip
            order = await http.post(
                "/api/orders", json={"items": [{"productId": product.json()["id"], "quantity": 1}]}
            )
            assert order.status_code == 201, order.text
        await receiver.wait_for(1)
        first.stop(signal.SIGKILL)

        second = Server(tmp_path, env)
        servers.append(second)
        await asyncio.to_thread(second.wait_ready)
        await receiver.wait_for(2, seconds=30)  # after the dead worker's lease ran out
        assert receiver.received[1].webhook_id == receiver.received[0].webhook_id
        assert receiver.received[1].body == receiver.received[0].body
        async with httpx.AsyncClient(base_url=second.url) as http:
            await http.post("/api/auth/login", json={"email": "kill@example.com",
                                                     "password": PASSWORD})  # fmt: skip
            hooks = (await http.get("/api/webhooks")).json()["items"]
            for _ in range(50):
                page = await http.get(f"/api/webhooks/{hooks[0]['id']}/deliveries")
                [delivery] = page.json()["items"]
                if delivery["status"] == "SUCCEEDED":
                    break
                await asyncio.sleep(0.1)
            assert (delivery["status"], delivery["attempts"]) == ("SUCCEEDED", 2)
    finally:
        hold.set()
        for server in servers:
            server.kill()
        for writer in held:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def _admin(http: httpx.AsyncClient, database_url: str) -> None:
    from tests.rest.test_schemathesis import _promote

    registered = await http.post(
        "/api/auth/register", json={"email": "kill@example.com", "password": PASSWORD, "name": "K"}
    )
    assert registered.status_code == 201, registered.text
    await asyncio.to_thread(_promote, database_url, "kill@example.com")
    signed = await http.post(
        "/api/auth/login", json={"email": "kill@example.com", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
