"""Helpers for REST tests."""

from __future__ import annotations

from typing import Any

import httpx

from server import create_app
from tests.conftest import BASE_URL
from tests.helpers import PASSWORD


def new_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def rest_register(
    http: httpx.AsyncClient, email: str, name: str = "Rest User"
) -> dict[str, Any]:
    response = await http.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


__all__ = ["create_app", "new_client", "rest_register"]
