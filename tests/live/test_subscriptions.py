"""orderUpdated over graphql-transport-ws, against a real server process (one worker)."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import (
    PASSWORD,
    Live,
    MakeUser,
    create_product,
    move_ok,
    place_ok,
    settle,
    sql_at,
)
from tests.live.client import (
    PROTOCOL,
    connected,
    next_order,
    nothing_more,
    receive,
    subscribe,
    ws_url,
)

ORIGIN = "http://127.0.0.1:{port}"

pytestmark = pytest.mark.live_server("orderly_live_one", workers=1)


async def test_a_customer_follows_their_order(live: Live, users: MakeUser) -> None:
    admin, customer = await users(admin=True), await users()
    kite = await create_product(admin, "Kite", "9.50", 1000)
    async with connected(live.url, customer.cookies) as socket:
        await subscribe(socket, "mine")
        await settle()
        order_id = (await place_ok(customer.http, [(kite, 1)]))["id"]
        created = await next_order(socket)
        assert (created["id"], created["status"]) == (order_id, "PENDING")
        assert created["customer"]["id"] == customer.id
        await move_ok(admin, order_id, "PAID")
        paid = await next_order(socket)
        assert paid["status"] == "PAID"
        assert paid["events"][-1] == {"fromStatus": "PENDING", "toStatus": "PAID"}


async def test_one_order_or_all_and_never_another_customers(live: Live, users: MakeUser) -> None:
    admin, ann, bob = await users(admin=True), await users(), await users()
    kite = await create_product(admin, "Kite", "9.50", 1000)
    first = (await place_ok(ann.http, [(kite, 1)]))["id"]
    async with (
        connected(live.url, ann.cookies) as ann_one,
        connected(live.url, bob.cookies) as bob_all,
        connected(live.url, admin.cookies) as admin_all,
    ):
        await subscribe(ann_one, "one", first)
        await subscribe(bob_all, "all")
        await subscribe(admin_all, "all")
        await settle()
        second = (await place_ok(ann.http, [(kite, 1)]))["id"]  # Ann's, but not the one she follows
        await move_ok(admin, first, "CANCELLED")
        assert (await next_order(ann_one))["id"] == first
        assert {(await next_order(admin_all))["id"] for _ in range(2)} == {first, second}
        await nothing_more(bob_all)
        await nothing_more(ann_one, 0.2)
        bobs = (await place_ok(bob.http, [(kite, 1)]))["id"]
        assert (await next_order(bob_all))["id"] == bobs


async def test_another_customers_order_cannot_be_named(live: Live, users: MakeUser) -> None:
    admin, ann, bob = await users(admin=True), await users(), await users()
    kite = await create_product(admin, "Kite", "9.50", 1000)
    anns = (await place_ok(ann.http, [(kite, 1)]))["id"]
    async with connected(live.url, bob.cookies) as socket:
        await subscribe(socket, "theirs", anns)
        message = await receive(socket)
        assert message["type"] == "next" and message["payload"]["data"] is None
        assert message["payload"]["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_the_upgrade_refuses_a_foreign_origin_and_a_missing_session(
    live: Live, users: MakeUser
) -> None:
    customer = await users()
    with pytest.raises(InvalidStatus) as refused:
        async with connected(live.url, customer.cookies, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as anonymous:
        async with connected(live.url, {}):
            pass
    assert anonymous.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        async with connected(live.url, {"orderly_access": "forged"}):
            pass
    own = ORIGIN.format(port=live.server.port)
    async with connected(live.url, customer.cookies, origin=own) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        assert (await receive(socket))["type"] == "pong"


async def test_logout_ends_the_subscription(live: Live, users: MakeUser) -> None:
    customer = await users()
    async with connected(live.url, customer.cookies) as socket:
        await subscribe(socket, "mine")
        await settle()
        assert (await customer.http.post("/api/auth/logout")).status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket, 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_password_change_ends_the_subscription(live: Live, users: MakeUser) -> None:
    customer = await users()
    async with connected(live.url, customer.cookies) as socket:
        await subscribe(socket, "mine")
        await settle()
        changed = await customer.http.put(
            "/api/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "violet tuesday anchors 9 kites"},
        )
        assert changed.status_code == 204, changed.text
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket, 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_role_change_ends_the_subscription(live: Live, users: MakeUser) -> None:
    admin, customer = await users(admin=True), await users()
    async with connected(live.url, customer.cookies) as socket:
        await subscribe(socket, "mine")
        await settle()
        changed = await admin.http.patch(f"/api/users/{customer.id}", json={"role": "ADMIN"})
        assert changed.status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            await receive(socket, 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_lost_listen_connection_comes_back_with_a_snapshot(
    live: Live, users: MakeUser
) -> None:
    admin, customer = await users(admin=True), await users()
    kite = await create_product(admin, "Kite", "9.50", 1000)
    followed = (await place_ok(customer.http, [(kite, 1)]))["id"]
    async with (
        connected(live.url, customer.cookies) as one,
        connected(live.url, customer.cookies) as every,
    ):
        await subscribe(one, "one", followed)
        await subscribe(every, "all")
        await settle()
        killed = await sql_at(
            live.database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'orderly-listen'",
        )
        assert killed and all(row[0] for row in killed)
        # while the worker may not be listening:
        placed = (await place_ok(customer.http, [(kite, 1)]))["id"]
        snapshot = await next_order(one)  # sent on reconnection, though nothing changed
        assert (snapshot["id"], snapshot["status"]) == (followed, "PENDING")
        seen: set[str] = set()
        while placed not in seen:  # the orders changed around the gap, this one among them
            order = await next_order(every)
            assert order["customer"]["id"] == customer.id
            seen.add(order["id"])
        await move_ok(admin, followed, "PAID")  # and it listens again
        assert (await next_order(one))["status"] == "PAID"


async def test_limits_per_connection_and_per_user(live: Live, users: MakeUser) -> None:
    customer = await users()
    async with connected(live.url, customer.cookies) as socket:
        for n in range(20):
            await subscribe(socket, f"s{n}")
        await subscribe(socket, "one-too-many")
        refused = await receive(socket)
        assert refused["type"] == "error" and refused["id"] == "one-too-many"
        assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    sockets = []
    try:
        for _ in range(10):
            sockets.append(await websockets.connect(
                ws_url(live.url), subprotocols=[PROTOCOL],  # type: ignore[list-item]
                additional_headers={"Cookie": _cookie(customer.cookies)},
            ))  # fmt: skip
        async with connected(live.url, customer.cookies, init=False) as eleventh:
            with pytest.raises(ConnectionClosed) as closed:
                await eleventh.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
    finally:
        await asyncio.gather(*(s.close() for s in sockets))


async def test_only_subscriptions_are_served_over_websocket(live: Live, users: MakeUser) -> None:
    customer = await users()
    async with connected(live.url, customer.cookies) as socket:
        await socket.send(json.dumps({"id": "q", "type": "subscribe",
                                      "payload": {"query": "{ me { id } }"}}))  # fmt: skip
        refused = await receive(socket)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"


def _cookie(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())
