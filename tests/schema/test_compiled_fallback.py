"""What compiled reads hand to the standard executor, and that they say why.

Introspection, mutations, requests that answer with an error and documents selecting a
field the compiled path has no SQL for run on the standard executor; each time the reason is
logged at DEBUG (and counted). A plain read is compiled and logs its SQL, with the values as
parameters, never in the text.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import strawberry
from graphql import GraphQLObjectType

from auth.viewer import Role, Viewer
from db.models import User as UserRow
from schema.build import build_schema
from schema.compiled.fields import compiled_from, object_types
from schema.compiled.runner import CompiledReads
from settings import Settings
from tests.helpers import NewProduct, insert_products
from web.state import AppState

COMPILED = "orderly.compiled"

pytestmark = pytest.mark.settings(graphql_compiler=True)  # whatever the suite runs with


def _reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage().removeprefix("standard executor: ")
        for r in caplog.records
        if r.name == COMPILED and r.getMessage().startswith("standard executor: ")
    ]


async def test_introspection_mutations_and_errors_run_on_the_standard_executor(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=COMPILED)
    introspection = await client.post(
        "/graphql", json={"query": "{ __schema { queryType { name } } }"}
    )
    assert introspection.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    logout = await client.post("/graphql", json={"query": "mutation { logout { ok } }"})
    assert logout.json() == {"data": {"logout": {"ok": True}}}
    too_many = await client.post(
        "/graphql", json={"query": "{ products(first: 101) { totalCount } }"}
    )
    assert too_many.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    anonymous = await client.post("/graphql", json={"query": "{ orders { totalCount } }"})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert _reasons(caplog) == [
        "introspection",
        "mutation operation",
        "InvalidArgument",
        "not signed in",
    ]


async def test_a_read_is_compiled_with_its_values_bound(
    client: httpx.AsyncClient, state: AppState, caplog: pytest.LogCaptureFixture
) -> None:
    await insert_products(state, [NewProduct("Lamp with 'quotes'", price_minor=1999)])
    caplog.set_level(logging.DEBUG, logger=COMPILED)
    query = "query($s: String) { products(filter: {search: $s}) { nodes { name } } }"
    search = "quotes'"
    response = await client.post("/graphql", json={"query": query, "variables": {"s": search}})
    assert response.json() == {"data": {"products": {"nodes": [{"name": "Lamp with 'quotes'"}]}}}
    assert _reasons(caplog) == []
    (compiled,) = [r for r in caplog.records if r.getMessage().startswith("compiled ")]
    assert isinstance(compiled.args, tuple)
    sql, params, plan = compiled.args
    assert isinstance(sql, str) and isinstance(params, list | tuple)
    assert search not in sql
    assert f"%{search}%" in params
    assert plan == "custom"  # a search plans with its pattern


PLANNED = [
    ("{ products(first: 5) { nodes { name } } }", "generic"),
    ("{ products(first: 5, sort: {field: PRICE}) { nodes { name } } }", "generic"),
    ('{ products(filter: {minPrice: "1", maxPrice: "2"}) { nodes { name } } }', "custom"),
    ('{ products(filter: {search: "lamp"}) { nodes { name } } }', "custom"),
    ('{ product(id: "UHJvZHVjdDox") { name } }', "generic"),
]


@pytest.mark.parametrize(("query", "plan"), PLANNED)
async def test_a_read_filtered_by_values_is_planned_for_them(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, query: str, plan: str
) -> None:
    """Keyed reads and pages run on PostgreSQL's generic plan (planned once per connection);
    a range or a pattern filter is planned for its values, which choose the index."""
    caplog.set_level(logging.DEBUG, logger=COMPILED)
    response = await client.post("/graphql", json={"query": query})
    assert "errors" not in response.json(), response.text
    (compiled,) = [r for r in caplog.records if r.getMessage().startswith("compiled ")]
    assert isinstance(compiled.args, tuple)
    assert compiled.args[2] == plan


# --- a field's SQL ---------------------------------------------------------------------------


@compiled_from(UserRow)
@strawberry.type(name="User")
class Member:
    """A `User` with fields the compiled path has no SQL for."""

    id: strawberry.ID
    name: str
    nickname: str  # not a column of users
    created_at: float  # a column, of a type no convention writes

    @strawberry.field
    def shout(self) -> str:  # computed in Python, no SQL declared
        return self.name.upper()


@strawberry.type
class MemberQuery:
    me: Member | None


async def test_a_field_without_sql_falls_back(state: AppState) -> None:
    """Plain columns are written by convention; any other field without declared SQL makes
    its documents fall back before any SQL runs, never fail."""
    schema = strawberry.Schema(query=MemberQuery)
    assert set(object_types(schema)["User"].fields) == {"id", "name"}
    reads = CompiledReads(schema, state)
    viewer = Viewer(1, "ann@example.com", "Ann", Role.CLIENT, datetime.now(UTC), uuid.uuid4())
    assert await reads.answer({"query": "{ me { id name } }"}, viewer) == b'{"data":{"me":null}}'
    for field in ("nickname", "createdAt", "shout"):
        assert await reads.answer({"query": f"{{ me {{ name {field} }} }}"}, viewer) is None
    assert reads.fallbacks == {"User.nickname": 1, "User.createdAt": 1, "User.shout": 1}


def test_every_field_of_the_compiled_types_has_its_sql() -> None:
    """No field of the types compiled reads write falls back for lack of SQL."""
    schema = build_schema(Settings())
    types = object_types(schema)
    assert set(types) == {"Product", "User", "Order", "OrderItem", "OrderEvent", "Payment"}
    missing = []
    for name, compiled in types.items():
        graphql_type = schema._schema.type_map[name]
        assert isinstance(graphql_type, GraphQLObjectType)
        missing += [f"{name}.{f}" for f in graphql_type.fields if f not in compiled.fields]
    assert missing == []
