"""Each GraphQL limit at its boundary: the limit passes, one more is refused before running."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate
from graphql.language import Lexer, Source, TokenKind

from schema.build import build_schema
from schema.limits import (
    LIST_ESTIMATE,
    MAX_ALIASES,
    MAX_COST,
    MAX_DEPTH,
    MAX_TOKENS,
    ComplexityRule,
    measure_operation,
)
from server import create_app
from settings import Settings
from tests.helpers import BASE_URL, count, gql
from web.state import AppState

SCHEMA = build_schema(Settings())._schema


def refusals(document: str) -> list[str]:
    return [error.message for error in validate(SCHEMA, parse(document), [ComplexityRule])]


def cost(document: str) -> int:
    ast = parse(document)
    operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}
    return measure_operation(SCHEMA, operation, fragments).cost


def deep_query(depth: int) -> str:
    """`me` then orders/edges/node/customer repeated, `depth` fields deep in all."""
    cycle = ["orders", "edges", "node", "customer"]
    chain = ["me"] + [cycle[i % 4] for i in range(depth - 2)]
    body = "id" if chain[-1] in ("me", "node", "customer") else "__typename"
    for name in reversed(chain):
        body = f"{name} {{ {body} }}"
    return "{ " + body + " }"


def test_depth_limit_boundary() -> None:
    assert refusals(deep_query(MAX_DEPTH)) == []
    assert refusals(deep_query(MAX_DEPTH + 1)) == [
        f"Query depth {MAX_DEPTH + 1} exceeds the limit of {MAX_DEPTH}."
    ]


def aliased(n: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"


def test_alias_limit_boundary() -> None:
    assert refusals(aliased(MAX_ALIASES)) == []
    assert refusals(aliased(MAX_ALIASES + 1)) == [
        f"Query aliases {MAX_ALIASES + 1} exceeds the limit of {MAX_ALIASES}."
    ]


def test_aliases_inside_fragments_count_at_every_use() -> None:
    document = (
        "{ ...F ...G } fragment F on Query { " + " ".join(f"f{i}: __typename" for i in range(11))
        + " } fragment G on Query { ...F }"
    )  # fmt: skip
    assert refusals(document) == [f"Query aliases 22 exceeds the limit of {MAX_ALIASES}."]


def test_cost_model() -> None:
    # products + edges + 100 × (node + id)
    assert cost("{ products(first: 100) { edges { node { id } } } }") == 2 + 100 * 2
    # the default page size when `first` is absent; totalCount is counted once
    assert cost("{ products { nodes { id } totalCount } }") == 3 + 20
    # a variable page size counts as the maximum
    assert cost("query($n: Int) { products(first: $n) { nodes { id } } }") == 2 + 100
    # plain object lists count LIST_ESTIMATE entries
    assert cost("{ orders(first: 5) { nodes { items { quantity } } } }") == 2 + 5 * (
        1 + LIST_ESTIMATE
    )


def cost_document(total: int) -> str:
    """A document whose cost is exactly `total` (at least 9,018)."""
    wide = " ".join(
        f"p{i}: products(first: 100) {{ edges {{ node {{ id name description stock createdAt "
        "updatedAt price { amount currency } } } }"
        for i in range(9)
    )
    base = 9 * (2 + 100 * 10)
    return "{ " + wide + " __typename" * (total - base) + " }"


def test_cost_limit_boundary() -> None:
    assert cost(cost_document(MAX_COST)) == MAX_COST
    assert refusals(cost_document(MAX_COST)) == []
    assert refusals(cost_document(MAX_COST + 1)) == [
        f"Query cost {MAX_COST + 1} exceeds the limit of {MAX_COST}."
    ]


def with_tokens(n: int) -> str:
    """A valid query of exactly `n` tokens, padded with a status list in a filter."""
    head = "{ me { orders(filter: {status: ["
    tail = "]}) { totalCount } } }"
    fixed = _tokens(head + tail)
    document = head + " PAID" * (n - fixed) + tail
    assert _tokens(document) == n
    return document


def _tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    n = 0
    while lexer.advance().kind is not TokenKind.EOF:
        n += 1
    return n


async def test_token_limit_boundary(client: httpx.AsyncClient) -> None:
    accepted = await gql(client, with_tokens(MAX_TOKENS))
    assert accepted == {"data": {"me": None}}
    refused = await gql(client, with_tokens(MAX_TOKENS + 1))
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


EXPENSIVE_ORDER = (
    "items { product { name description stock price { amount currency } } } "
    "events { toStatus note actor { name } }"
)


def register_field(i: int, selection: str = "userErrors { code }") -> str:
    return (
        f'r{i}: register(input: {{email: "u{i}@example.com", password: "long enough pw", '
        f'name: "U"}}) {{ {selection} }}'
    )


@pytest.mark.parametrize(
    "document",
    [
        "mutation { " + " ".join(register_field(i) for i in range(MAX_ALIASES + 1)) + " }",
        "mutation { "
        + register_field(
            0, "user { orders(filter: {status: [" + " PAID" * MAX_TOKENS + "]}) { totalCount } }"
        )
        + " }",
        "mutation { "
        + register_field(0, "user { orders(first: 100) { nodes { " + EXPENSIVE_ORDER + " } } }")
        + " }",
    ],
    ids=["aliases", "tokens", "cost"],
)
async def test_refused_before_any_resolver_runs(
    client: httpx.AsyncClient, state: AppState, document: str
) -> None:
    body = await gql(client, document)
    assert body["data"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"QUERY_TOO_COMPLEX"}
    assert await count(state, "users") == 0


async def test_batched_requests_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[{"query": "{ me { id } }"}] * 2)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_production_hides_suggestions_introspection_and_graphiql(
    settings: Settings, database_url: str
) -> None:
    production = replace(settings, env="production", introspection=False, graphiql=False)
    app = create_app(production, database_url=database_url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        typo = await gql(http, "{ mee { id } }")
        introspection = await gql(http, "{ __schema { types { name } } }")
        page = await http.get("/graphql", headers={"Accept": "text/html"})
    await app.state.orderly.close()
    assert typo["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in typo["errors"][0]["message"]
    assert introspection["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "graphiql" not in page.text.lower()


async def test_development_shows_suggestions_and_graphiql(client: httpx.AsyncClient) -> None:
    typo = await gql(client, "{ mee { id } }")
    assert "Did you mean 'me'?" in typo["errors"][0]["message"]
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
