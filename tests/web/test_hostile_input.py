"""Hostile input is refused cheaply and cleanly: a 4xx with a code, and nothing written.

Every case goes through HTTP: GraphQL and REST alike, in process; the last test sends each
one to a real server process and checks that the same worker answers at once afterwards.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, count, fan_out_document, gql, register_admin
from tests.live_server import Server
from web.state import AppState

JSON = {"Content-Type": "application/json"}
HUGE = "1e999997"  # a Decimal whose integer value has about a million digits
TABLES = ("users", "products", "orders", "login_throttle")

PRODUCTS_QUERY = "query($p: Decimal) { products(filter: {minPrice: $p}) { totalCount } }"
CREATE_PRODUCT = 'mutation { createProduct(input: {name: "Tea", price: "%s"}) { product { id } } }'
REGISTER = (
    "mutation($e: String!, $n: String!) { register(input: {email: $e, "
    'password: "long enough pw", name: $n}) { user { id } userErrors { code field } } }'
)
LOGIN = (
    'mutation($e: String!) { login(input: {email: $e, password: "long enough pw"}) '
    "{ user { id } userErrors { code field } } }"
)


def min_price_literal(amount: str) -> str:
    return f'{{ products(filter: {{minPrice: "{amount}"}}) {{ totalCount }} }}'


async def row_counts(state: AppState) -> dict[str, int]:
    return {table: await count(state, table) for table in TABLES}


def problem_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    code: str = response.json()["code"]
    return code


def error_code(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["data"] is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


# --- numbers: checked on their text, never expanded ------------------------------------


@pytest.mark.parametrize("amount", [HUGE, "1E5", "NaN", "-Infinity", "1" * 41, " 1", "1.", "٣"])
async def test_decimal_filters_are_checked_on_their_text(
    client: httpx.AsyncClient, amount: str
) -> None:
    literal = await client.post(
        "/graphql",
        json={"query": min_price_literal(amount)},
    )
    variable = await client.post(
        "/graphql", json={"query": PRODUCTS_QUERY, "variables": {"p": amount}}
    )
    rest = await client.get("/api/products", params={"minPrice": amount})
    assert error_code(literal) == "GRAPHQL_VALIDATION_FAILED"
    assert error_code(variable) == "BAD_USER_INPUT"
    assert problem_code(rest, 400) == "INVALID_INPUT"


async def test_plain_decimals_still_filter(client: httpx.AsyncClient) -> None:
    variable = await client.post(
        "/graphql", json={"query": PRODUCTS_QUERY, "variables": {"p": "9" * 30 + ".5"}}
    )
    assert variable.json() == {"data": {"products": {"totalCount": 0}}}
    assert (await client.get("/api/products?minPrice=-0.01&maxPrice=19.99")).status_code == 200


async def test_prices_are_checked_on_their_text(client: httpx.AsyncClient, state: AppState) -> None:
    await register_admin(client, state, "admin@example.com")
    before = await row_counts(state)
    created = await client.post("/graphql", json={"query": CREATE_PRODUCT % HUGE})
    rest = await client.post("/api/products", json={"name": "Tea", "price": HUGE})
    assert error_code(created) == "GRAPHQL_VALIDATION_FAILED"
    assert problem_code(rest, 400) == "INVALID_INPUT"
    made = await client.post("/api/products", json={"name": "Tea", "price": "7.50"})
    assert made.status_code == 201
    product = made.json()["id"]
    update = (
        "mutation($id: ID!, $p: Decimal) { updateProduct(id: $id, input: {price: $p}) "
        "{ product { id } } }"
    )
    updated = await client.post(
        "/graphql", json={"query": update, "variables": {"id": product, "p": HUGE}}
    )
    patched = await client.patch(f"/api/products/{product}", json={"price": HUGE})
    assert error_code(updated) == "BAD_USER_INPUT"
    assert problem_code(patched, 400) == "INVALID_INPUT"
    assert await row_counts(state) == {**before, "products": before["products"] + 1}
    assert await count(state, "products", "price_minor = 750") == 1


async def test_an_int_literal_of_thousands_of_digits(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ products(first: %s) { totalCount } }" % ("9" * 5000)}
    )
    assert error_code(response) == "GRAPHQL_VALIDATION_FAILED"


# --- malformed bodies: 400 problem documents on both endpoints ------------------------

MALFORMED = {
    "null": b"null",
    "number": b"1",
    "string": b'"x"',
    "array": b"[1, 2]",
    "batch": b'[{"query": "{ me { id } }"}]',
    "huge-integer": b'{"query": "{ me { id } }", "x": ' + b"1" * 5000 + b"}",
    "deep-nesting": b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "invalid-utf8": b'{"query": "\xff\xfe"}',
    "lone-surrogate": b'{"email": "a\\ud800@example.com", "query": "{ me { id } }"}',
    "truncated": b'{"query": ',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("path", ["/graphql", "/api/auth/register"])
async def test_malformed_bodies_are_400_problems(
    client: httpx.AsyncClient, state: AppState, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers=JSON)
    assert problem_code(response, 400) == "INVALID_INPUT"
    assert await row_counts(state) == dict.fromkeys(TABLES, 0)


async def test_malformed_variables_in_a_get_are_400_problems(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ me { id } }", "variables": "[1]"})
    assert problem_code(response, 400) == "INVALID_INPUT"


@pytest.mark.parametrize("path", ["/graphql", "/api/auth/register"])
async def test_encoded_bodies_are_refused_with_415(
    client: httpx.AsyncClient, state: AppState, path: str
) -> None:
    response = await client.post(
        path, content=b"\x1f\x8b\x08\x00", headers={**JSON, "Content-Encoding": "gzip"}
    )
    assert problem_code(response, 415) == "UNSUPPORTED_MEDIA_TYPE"
    assert response.headers["accept-encoding"] == "identity"
    assert await row_counts(state) == dict.fromkeys(TABLES, 0)


# --- variables and strings ------------------------------------------------------------


async def test_variables_of_the_wrong_type_are_bad_user_input(client: httpx.AsyncClient) -> None:
    wrong_type = await client.post(
        "/graphql",
        json={"query": "query($n: Int) { products(first: $n) { totalCount } }",
              "variables": {"n": "ten"}},
    )  # fmt: skip
    unknown_enum = await client.post(
        "/graphql",
        json={"query": "query($r: Role) { users(filter: {role: $r}) { totalCount } }",
              "variables": {"r": "ROOT"}},
    )  # fmt: skip
    out_of_range = await client.post(
        "/graphql",
        json={"query": "query($n: Int) { products(first: $n) { totalCount } }",
              "variables": {"n": 2**40}},
    )  # fmt: skip
    for response in (wrong_type, unknown_enum, out_of_range):
        assert error_code(response) == "BAD_USER_INPUT"
        assert response.json()["errors"][0]["message"].startswith("Variable '$")


async def test_lone_surrogates_never_reach_the_database(
    client: httpx.AsyncClient, state: AppState
) -> None:
    variables = b'{"e": "ann@example.com", "n": "Ann \\udc00"}'
    graphql = await client.post(
        "/graphql",
        content=b'{"query": "' + REGISTER.replace('"', '\\"').encode() + b'", "variables": '
        + variables + b"}",
        headers=JSON,
    )  # fmt: skip
    rest = await client.post(
        "/api/auth/register",
        content=b'{"email": "ann@example.com", "password": "long enough pw", "name": "\\ud800"}',
        headers=JSON,
    )
    literal = await client.post(
        "/graphql", json={"query": '{ products(filter: {search: "\\ud800"}) { totalCount } }'}
    )
    assert problem_code(graphql, 400) == "INVALID_INPUT"
    assert problem_code(rest, 400) == "INVALID_INPUT"
    assert error_code(literal) == "GRAPHQL_VALIDATION_FAILED"
    assert await row_counts(state) == dict.fromkeys(TABLES, 0)


LONG_EMAIL = "a" * 300_000 + "@example.com"


async def test_overlong_emails_are_refused_before_any_query(
    client: httpx.AsyncClient, state: AppState
) -> None:
    registered = await gql(client, REGISTER, {"e": LONG_EMAIL, "n": "Ann"})
    logged_in = await gql(client, LOGIN, {"e": LONG_EMAIL})
    rest_register = await client.post(
        "/api/auth/register", json={"email": LONG_EMAIL, "password": PASSWORD, "name": "Ann"}
    )
    rest_login = await client.post(
        "/api/auth/login", json={"email": LONG_EMAIL, "password": PASSWORD}
    )
    for payload in (registered["data"]["register"], logged_in["data"]["login"]):
        assert payload == {
            "user": None,
            "userErrors": [{"code": "INVALID_INPUT", "field": ["email"]}],
        }
    assert problem_code(rest_register, 400) == "INVALID_INPUT"
    assert problem_code(rest_login, 400) == "INVALID_INPUT"
    assert await row_counts(state) == dict.fromkeys(TABLES, 0)


async def test_the_email_limit_is_254_characters(client: httpx.AsyncClient) -> None:
    # a domain label holds at most 63 characters (RFC 1035), a local part 64 (RFC 5321)
    domain = "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    longest = "a" * 64 + "@" + domain
    assert len(longest) == 254
    accepted = await gql(client, REGISTER, {"e": longest, "n": "Ann"})
    refused = await gql(client, REGISTER, {"e": longest.replace(".com", "d.com"), "n": "Ann"})
    assert accepted["data"]["register"]["userErrors"] == []
    assert refused["data"]["register"]["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["email"]}
    ]


async def test_overlong_user_searches_are_invalid_input(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register_admin(client, state, "admin@example.com")
    search = "query($s: String) { users(filter: {search: $s}) { totalCount } }"
    graphql = await client.post("/graphql", json={"query": search, "variables": {"s": LONG_EMAIL}})
    rest = await client.get("/api/users", params={"search": "a" * 255})
    products = await client.get("/api/products", params={"search": "a" * 255})
    assert error_code(graphql) == "INVALID_INPUT"
    assert problem_code(rest, 400) == "INVALID_INPUT"
    assert problem_code(products, 400) == "INVALID_INPUT"
    assert (await client.get("/api/users", params={"search": "a" * 254})).status_code == 200


# --- a real worker stays responsive ----------------------------------------------------


HOSTILE: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", f"/api/products?minPrice={HUGE}", {}, 400),
    ("POST", "/graphql", {"json": {"query": PRODUCTS_QUERY, "variables": {"p": HUGE}}}, 200),
    ("POST", "/graphql",
     {"json": {"query": min_price_literal(HUGE)}}, 200),
    ("POST", "/graphql", {"json": {"query": REGISTER, "variables": {"e": LONG_EMAIL, "n": "A"}}},
     200),
    ("POST", "/graphql", {"json": {"query": LOGIN, "variables": {"e": LONG_EMAIL}}}, 200),
    *[("POST", path, {"content": body, "headers": JSON}, 400)
      for path in ("/graphql", "/api/auth/login") for body in MALFORMED.values()],
    ("POST", "/graphql", {"content": b"\x1f\x8b", "headers": {**JSON, "Content-Encoding": "gzip"}},
     415),
]  # fmt: skip


@pytest.mark.slow
def test_the_worker_answers_at_once_after_each_hostile_request(
    hostile_input_server: Server,
) -> None:
    with httpx.Client(base_url=hostile_input_server.url, timeout=10) as http:
        for method, path, options, status in HOSTILE:
            response = http.request(method, path, **options)
            assert response.status_code == status, (path, response.text[:200])
            assert httpx.get(hostile_input_server.url + "/healthz", timeout=1).status_code == 200
    with httpx.Client(base_url=hostile_input_server.url, timeout=10) as http:
        fan_out = http.post("/graphql", json={"query": fan_out_document(12, 6)})
        assert fan_out.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert httpx.get(hostile_input_server.url + "/healthz", timeout=1).status_code == 200
