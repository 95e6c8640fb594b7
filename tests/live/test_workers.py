"""orderUpdated across the workers of one server (two), through PostgreSQL's NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import random

import psutil
import pytest
from websockets.asyncio.client import ClientConnection

from tests.helpers import Live, MakeUser, create_product, move_ok, place_ok, settle
from tests.live.client import connected, next_order, subscribe

pytestmark = [pytest.mark.slow, pytest.mark.live_server("orderly_live_two", workers=2)]


def worker_of(live: Live, socket: ClientConnection) -> int:
    """The pid of the worker holding this WebSocket connection."""
    port = socket.local_address[1]
    for worker in live.server.workers():
        with contextlib.suppress(psutil.Error):
            if any(c.raddr and c.raddr.port == port for c in worker.net_connections("tcp")):
                return worker.pid
    raise AssertionError("no worker holds the connection")


async def one_on_each_worker(
    live: Live, stack: contextlib.AsyncExitStack, cookies: dict[str, str]
) -> dict[int, ClientConnection]:
    """A connection on each of the two workers (the kernel spreads connections)."""
    by_worker: dict[int, ClientConnection] = {}
    for _ in range(10):  # within the 10 connections a user may hold on one worker
        socket = await stack.enter_async_context(connected(live.url, cookies))
        by_worker.setdefault(worker_of(live, socket), socket)
        if len(by_worker) == 2:
            return by_worker
    raise AssertionError("every connection went to one worker")


async def test_a_change_through_one_worker_reaches_subscribers_on_both(
    live: Live, users: MakeUser
) -> None:
    admin, customer = await users(admin=True), await users()
    kite = await create_product(admin, "Kite", "9.50", 1000)
    async with contextlib.AsyncExitStack() as stack:
        by_worker = await one_on_each_worker(live, stack, customer.cookies)
        for n, socket in enumerate(by_worker.values()):
            await subscribe(socket, f"on-{n}")
        await settle()
        order_id = (await place_ok(customer.http, [(kite, 1)]))[
            "id"
        ]  # served by one worker or the other
        for socket in by_worker.values():
            assert (await next_order(socket))["id"] == order_id
        await move_ok(admin, order_id, "PAID")
        for socket in by_worker.values():
            assert (await next_order(socket))["status"] == "PAID"


async def test_customers_only_ever_receive_their_own_orders(live: Live, users: MakeUser) -> None:
    admin = await users(admin=True)
    customers = [await users() for _ in range(4)]
    kite = await create_product(admin, "Kite", "9.50", 10_000)
    rng = random.Random(20261201)
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connected(live.url, c.cookies)) for c in customers
        ]
        for n, socket in enumerate(sockets):
            await subscribe(socket, f"all-{n}")
        await settle()
        placed: dict[str, list[str]] = {c.id: [] for c in customers}

        async def act(step: int) -> None:
            who = rng.choice(customers)
            await asyncio.sleep(rng.random() * 0.05)
            order_id = (await place_ok(who.http, [(kite, 1)]))["id"]
            placed[who.id].append(order_id)
            if step % 3 == 0:
                await move_ok(admin, order_id, rng.choice(["PAID", "CANCELLED"]))

        await asyncio.gather(*(act(step) for step in range(24)))
        for customer, socket in zip(customers, sockets, strict=True):
            expected = set(placed[customer.id])
            seen: set[str] = set()
            while not expected <= seen:
                order = await next_order(socket)
                assert order["customer"]["id"] == customer.id, "another customer's order"
                seen.add(order["id"])
            assert seen == expected
        for customer, socket in zip(customers, sockets, strict=True):
            with contextlib.suppress(TimeoutError):  # what is left: repeats, never others'
                while True:
                    order = await next_order(socket, 0.5)
                    assert order["customer"]["id"] == customer.id, "another customer's order"


async def test_logout_on_one_worker_ends_connections_on_every_worker(
    live: Live, users: MakeUser
) -> None:
    customer = await users()
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connected(live.url, customer.cookies)) for _ in range(6)
        ]
        assert len({worker_of(live, s) for s in sockets}) == 2
        assert (await customer.http.post("/api/auth/logout")).status_code == 204
        async with asyncio.timeout(5):
            for socket in sockets:
                await socket.wait_closed()
        assert {s.close_code for s in sockets} == {4403}
