"""A graphql-transport-ws client on the `websockets` library, for the subscription tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOL = "graphql-transport-ws"

ORDER_UPDATED = """
subscription Updates($orderId: ID) {
  orderUpdated(orderId: $orderId) { id status customer { id } events { fromStatus toStatus } }
}
"""


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


@asynccontextmanager
async def connected(
    http_url: str, cookies: dict[str, str], *, origin: str | None = None, init: bool = True
) -> AsyncIterator[ClientConnection]:
    """An open, acknowledged connection signed in with `cookies`."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    async with websockets.connect(
        ws_url(http_url), subprotocols=[PROTOCOL], additional_headers=headers,  # type: ignore[list-item]
        origin=origin, open_timeout=10,  # type: ignore[arg-type]
    ) as socket:  # fmt: skip
        if init:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            ack = await receive(socket)
            assert ack["type"] == "connection_ack", ack
        yield socket


async def receive(socket: ClientConnection, seconds: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), seconds))
    return message


async def subscribe(
    socket: ClientConnection, operation_id: str, order_id: str | None = None
) -> None:
    await socket.send(json.dumps({
        "id": operation_id, "type": "subscribe",
        "payload": {"query": ORDER_UPDATED, "variables": {"orderId": order_id}},
    }))  # fmt: skip


async def next_order(socket: ClientConnection, seconds: float = 10) -> dict[str, Any]:
    """The order of the next `next` message (pongs skipped)."""
    while True:
        message = await receive(socket, seconds)
        if message["type"] == "pong":
            continue
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        order: dict[str, Any] = message["payload"]["data"]["orderUpdated"]
        return order


async def nothing_more(socket: ClientConnection, seconds: float = 1.0) -> None:
    """No message arrives within `seconds`."""
    try:
        message = await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected message {message!r}")
