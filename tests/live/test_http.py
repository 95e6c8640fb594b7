"""Subscriptions are served over WebSocket only: over HTTP they are refused, whatever the
method or the transport asked for."""

from __future__ import annotations

import httpx
import pytest

from tests.live.client import ORDER_UPDATED


@pytest.mark.parametrize("accept", [None, "multipart/mixed", "text/event-stream"])
async def test_a_subscription_over_http_post_is_400(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"accept": accept} if accept else {}
    response = await client.post("/graphql", json={"query": ORDER_UPDATED}, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Subscriptions are served over WebSocket")


async def test_a_subscription_over_http_get_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": ORDER_UPDATED})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
