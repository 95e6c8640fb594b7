"""The limits walk stays linear in the document's size when fragments fan out."""

from __future__ import annotations

import httpx
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from schema.build import build_schema
from schema.limits import Measure, measure_operation
from settings import Settings
from tests.helpers import fan_out_document, gql

SCHEMA = build_schema(Settings())._schema


def measure(document: str) -> Measure:
    ast = parse(document)
    operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}
    return measure_operation(SCHEMA, operation, fragments)


def test_fragments_spread_several_times_count_every_time() -> None:
    # the expanded operation has fan_out ** levels `__typename` fields
    assert measure(fan_out_document(3, 2)).cost == 2**3
    assert measure(fan_out_document(40, 6)).cost == 6**40


def test_the_walk_visits_each_fragment_once_however_wide_the_fan_out() -> None:
    # one field in F0, whatever the fan-out: the walk does not expand the spreads again
    assert {measure(fan_out_document(20, fan_out)).steps for fan_out in (1, 2, 5, 10)} == {1}


def test_steps_grow_linearly_with_the_document() -> None:
    def steps(n: int) -> int:
        fields = " ".join(f"f{i}: __typename" for i in range(3))
        fragments = [f"fragment F0 on Query {{ {fields} }}"] + [
            f"fragment F{k} on Query {{ __typename ...F{k - 1} ...F{k - 1} ...F{k - 1} }}"
            for k in range(1, n + 1)
        ]
        return measure(f"{{ ...F{n} }} " + " ".join(fragments)).steps

    assert [steps(n) for n in (10, 20, 40)] == [3 + 10, 3 + 20, 3 + 40]


async def test_a_fan_out_document_is_refused_as_too_complex(client: httpx.AsyncClient) -> None:
    document = fan_out_document(12, 6)
    assert len(document) < 1024
    body = await gql(client, document)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["message"] == f"Query cost {6**12} exceeds the limit of 10000."
