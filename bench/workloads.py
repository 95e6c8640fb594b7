"""The workloads' GraphQL documents, the preparation they need, and their request lists.

W1 nested read (admin), W2 catalogue pages (anonymous, rotating cursors), W4 logins.
The checkout rush (W3) has a module of its own: bench/checkout.py.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import orjson

from bench.data import ADMIN_EMAIL, PASSWORD, customer_email
from bench.wire import Target, graphql_request

ACCESS_COOKIE = "orderly_access"
MAX_PAGES = 10_000  # walking the catalogue once is bounded too
SETUP_TIMEOUT = 60.0

W1_QUERY = (
    "{ orders(first: 20) { edges { node { status total { amount } customer { email } "
    "items { quantity unitPrice { amount } productName product { name price { amount } } } "
    "} } } }"
)
W2_TEMPLATE = (
    "query Catalog($after: String) { products(first: 50, after: $after, "
    'filter: {minPrice: "@LOW", maxPrice: "@HIGH"}) '
    "{ edges { cursor node { id name price { amount currency } stock } } "
    "pageInfo { hasNextPage endCursor } } }"
)
LOGIN_MUTATION = (
    "mutation Login($input: LoginInput!) "
    "{ login(input: $input) { user { id email } userErrors { code message } } }"
)


def w2_query(min_price: str, max_price: str) -> str:
    for value in (min_price, max_price):
        Decimal(value)  # refuse anything that is not a decimal before it reaches a query
    return W2_TEMPLATE.replace("@LOW", min_price).replace("@HIGH", max_price)


def to_minor(value: str) -> int:
    return int(Decimal(value).scaleb(2))


def login_many(target: Target, emails: list[str], concurrency: int = 4) -> list[str]:
    """Sign each email in (a few at a time); returns their Cookie header values."""
    return asyncio.run(_login_many(target, emails, concurrency))


def _post(
    target: Target,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    path: str = "/graphql",
    cookie: str | None = None,
) -> httpx.Response:
    headers = {"Cookie": cookie} if cookie else {}
    payload: dict[str, Any] = {"query": query}
    if variables:
        payload["variables"] = variables
    response = httpx.post(
        target.base_url + path,
        content=orjson.dumps(payload),
        headers={"Content-Type": "application/json", **headers},
        timeout=SETUP_TIMEOUT,
    )
    response.raise_for_status()
    return response


def _login(target: Target, email: str) -> str:
    response = _post(target, LOGIN_MUTATION, {"input": {"email": email, "password": PASSWORD}})
    return _cookie_of(response, email)


def _cookie_of(response: httpx.Response, email: str) -> str:
    payload = response.json()
    errors = payload.get("errors") or payload["data"]["login"]["userErrors"]
    token = response.cookies.get(ACCESS_COOKIE)
    if errors or not token:
        raise RuntimeError(f"login of {email} failed: {errors or 'no access cookie'}")
    return f"{ACCESS_COOKIE}={token}"


async def _login_many(target: Target, emails: list[str], concurrency: int) -> list[str]:
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=target.base_url, timeout=SETUP_TIMEOUT) as client:

        async def one(email: str) -> str:
            async with slots:
                body = orjson.dumps(
                    {
                        "query": LOGIN_MUTATION,
                        "variables": {"input": {"email": email, "password": PASSWORD}},
                    }
                )
                response = await client.post(
                    "/graphql", content=body, headers={"Content-Type": "application/json"}
                )
                response.raise_for_status()
                return _cookie_of(response, email)

        return await asyncio.gather(*(one(email) for email in emails))


def admin_cookie(target: Target) -> str:
    return _login(target, ADMIN_EMAIL)


def collect_cursors(target: Target, query: str) -> list[str | None]:
    """Walk the catalogue once: the `after` of every page, the first page's being None."""
    cursors: list[str | None] = [None]
    after: str | None = None
    for _ in range(MAX_PAGES):
        data = _post(target, query, {"after": after}).json()
        if data.get("errors"):
            raise RuntimeError(f"catalogue page failed: {data['errors']}")
        info = data["data"]["products"]["pageInfo"]
        if not info["hasNextPage"] or not info["endCursor"]:
            break
        after = info["endCursor"]
        cursors.append(after)
    return cursors


def reference_body(
    target: Target,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    path: str = "/graphql",
    cookie: str | None = None,
) -> bytes:
    """One response body, which must have data and no errors."""
    body = _post(target, query, variables, path=path, cookie=cookie).content
    payload = orjson.loads(body)
    if payload.get("errors") or not payload.get("data"):
        raise RuntimeError(f"reference request failed: {body[:500]!r}")
    return body


def w1_requests(target: Target, cookie: str, path: str = "/graphql") -> list[bytes]:
    return [graphql_request(target, W1_QUERY, path=path, cookie=cookie)]


def w2_requests(
    target: Target, query: str, cursors: list[str | None], path: str = "/graphql"
) -> list[bytes]:
    return [graphql_request(target, query, {"after": after}, path=path) for after in cursors]


def login_requests(target: Target, customers: int) -> list[bytes]:
    """One login per customer in turn: distinct emails, so no email's throttle is near."""
    return [
        graphql_request(
            target,
            LOGIN_MUTATION,
            {"input": {"email": customer_email(number), "password": PASSWORD}},
        )
        for number in range(1, customers + 1)
    ]
