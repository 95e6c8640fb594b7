"""The OpenAPI document states exactly what the server accepts: every published length,
pattern and range agrees with the check the resolvers run, value for value."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidArgument, Problem
from resolvers.id_pattern import MAX_KEY_DIGITS
from resolvers.ids import ID_PATTERNS, NODE_TYPES, parse_global_id, to_global_id
from resolvers.input_rules import BLANKS, CURSOR, SEARCH, TIMESTAMP, TextRule
from resolvers.money import bound_pattern, parse_decimal, price_pattern, price_problems
from resolvers.pagination import decode_cursor
from resolvers.products import ProductQuery, filtered_products
from resolvers.text import search_pattern
from rest.openapi import openapi_document
from settings import Settings
from tests.helpers import register_admin
from web.state import AppState

DOCUMENT = openapi_document()
SCHEMAS = DOCUMENT["components"]["schemas"]
B64 = string.ascii_letters + string.digits + "-_"
EXAMPLES = settings(max_examples=400, deadline=None)


def _accepted(rule: TextRule, value: str) -> bool:
    """`value` is valid for the published keywords, read as JSON Schema reads them."""
    schema = {"type": "string", **rule.json_schema()}
    return bool(jsonschema.Draft202012Validator(schema).is_valid(value))


def _refuses(check: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        check(*args, **kwargs)
    except (InvalidArgument, ValueError):
        return True
    return False


text = st.text(st.characters(codec="utf-8"), max_size=12) | st.text(
    st.sampled_from([" ", "\t", "\u3000", "\x1c", "\x00", "a", "é", "\ufeff"]), max_size=6
)


def test_blanks_are_the_characters_strip_removes() -> None:
    blank = re.compile(f"[{BLANKS}]")
    for code in range(0x110000):
        assert bool(blank.fullmatch(chr(code))) == chr(code).isspace(), hex(code)


@EXAMPLES
@given(st.one_of(st.integers(0, 10 ** (MAX_KEY_DIGITS + 1)).map(str), st.text(B64, max_size=40)))
def test_id_patterns_match_exactly_the_ids_the_server_parses(key: str) -> None:
    for type_name in NODE_TYPES:
        for value in (to_global_id(type_name, int(key)) if key.isdigit() else key, key):
            parses = not _refuses(parse_global_id, value)
            kind = parse_global_id(value)[0] if parses else None
            assert bool(re.fullmatch(ID_PATTERNS[type_name], value)) == (kind == type_name), value


@EXAMPLES
@given(
    st.from_regex(r"-?[0-9]{1,8}(\.[0-9]{0,5})?", fullmatch=True) | text, st.sampled_from([0, 2, 3])
)
def test_price_patterns_match_exactly_the_prices_the_server_takes(value: str, digits: int) -> None:
    def takes() -> bool:
        try:
            problems: list[Problem] = price_problems(parse_decimal(value), digits, ("price",))[1]
        except ValueError:
            return False
        return not problems

    assert bool(re.fullmatch(price_pattern(digits), value)) == takes(), value
    bound = ProductQuery(min_price=None if _refuses(parse_decimal, value) else Decimal(value))
    if bound.min_price is not None:
        filters = not _refuses(filtered_products, bound, digits)
        assert bool(re.fullmatch(bound_pattern(digits), value)) == filters, value


@EXAMPLES
@given(text | st.text(st.sampled_from(" ab\t\x00"), max_size=8))
def test_the_search_rule_is_the_search_check(value: str) -> None:
    assert (
        SEARCH.accepts(value) == (not _refuses(search_pattern, value)) == _accepted(SEARCH, value)
    )


@EXAMPLES
@given(st.datetimes(timezones=st.timezones()) | st.datetimes())
def test_the_timestamp_rule_takes_rfc_3339_with_an_offset(moment: Any) -> None:
    value = moment.isoformat()
    if TIMESTAMP.accepts(value):
        assert moment.tzinfo is not None and 1900 <= moment.year <= 2199
        moment.fromisoformat(value).astimezone()  # has a UTC equivalent
    elif moment.tzinfo is not None and moment.utcoffset() is not None:
        offset = moment.utcoffset().total_seconds()
        assert not 1900 <= moment.year <= 2199 or offset % 60 or len(value) > 32


@EXAMPLES
@given(st.text(B64 + "=+/. ", max_size=24))
def test_a_cursor_off_the_pattern_is_refused(value: str) -> None:
    if not CURSOR.accepts(value):
        assert _refuses(decode_cursor, value, timestamp=False)
    assert CURSOR.accepts(value) == _accepted(CURSOR, value)


def _request_schemas() -> list[dict[str, Any]]:
    names = [s["$ref"].rsplit("/", 1)[-1] for s in _bodies()]
    return [SCHEMAS[name] for name in names] + [SCHEMAS["OrderLineBody"]]


def _bodies() -> list[dict[str, Any]]:
    found = []
    for methods in DOCUMENT["paths"].values():
        for operation in methods.values():
            if "requestBody" in operation:
                found.append(operation["requestBody"]["content"]["application/json"]["schema"])
    return found


def test_fields_with_defaults_are_optional_and_carry_no_default() -> None:
    assert "default" not in repr(_request_schemas())
    assert SCHEMAS["CreateProductBody"]["required"] == ["name", "price"]
    for name in ("UpdateProductBody", "CancelOrderBody"):
        assert "required" not in SCHEMAS[name]
    cancel = DOCUMENT["paths"]["/api/orders/{id}/cancel"]["post"]["requestBody"]
    assert cancel["required"] is False
    for methods in DOCUMENT["paths"].values():
        for operation in methods.values():
            for parameter in operation["parameters"]:
                assert "default" not in parameter["schema"], parameter


def test_account_fields_publish_the_servers_limits() -> None:
    register = SCHEMAS["RegisterBody"]["properties"]
    assert register["password"] | {"description": ""} == {
        "type": "string", "format": "password", "minLength": 8, "maxLength": 128,
        "title": "Password", "description": "",
    }  # fmt: skip
    assert register["email"]["format"] == "email" and register["email"]["maxLength"] == 254
    assert register["name"]["minLength"] == 1 and register["name"]["maxLength"] == 200


# (path, body, whether the document calls it valid); the server must agree.
BOUNDARIES = [
    ("/api/products", {"name": "A", "price": "1000000", "stock": 1_000_000_000}, True),
    ("/api/products", {"name": "A", "price": "1000000.01"}, False),
    ("/api/products", {"name": "A", "price": "0.001"}, False),
    ("/api/products", {"name": "A", "price": "-0"}, True),
    ("/api/products", {"name": "A", "price": "1", "stock": -1}, False),
    ("/api/products", {"name": "A", "price": "1", "stock": 1_000_000_001}, False),
    ("/api/products", {"name": " ", "price": "1"}, False),
    ("/api/products", {"name": "x" * 200, "price": "1"}, True),
    ("/api/products", {"name": "x" * 201, "price": "1"}, False),
    ("/api/products", {"name": "A", "price": "1", "description": "d" * 5001}, False),
    ("/api/products", {"name": "A", "price": "1", "stock": True}, False),
    ("/api/products", {"name": "A", "price": "1", "stock": "3"}, False),
    ("/api/products", {"name": "A", "price": "1", "stock": 3.0}, True),
]


def _valid(path: str, body: dict[str, Any]) -> bool:
    schema = DOCUMENT["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    resolver = {"$ref": schema["schema"]["$ref"], "components": {"schemas": SCHEMAS}}
    validator = jsonschema.Draft202012Validator(
        resolver | {"$defs": SCHEMAS},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    reference = schema["schema"]["$ref"].replace("#/components/schemas/", "#/$defs/")
    return bool(validator.evolve(schema={"$ref": reference, "$defs": SCHEMAS}).is_valid(body))


@pytest.mark.parametrize(("path", "body", "valid"), BOUNDARIES)
async def test_the_server_accepts_what_the_document_calls_valid(
    client: httpx.AsyncClient, state: AppState, path: str, body: dict[str, Any], valid: bool
) -> None:
    assert _valid(path, body) is valid
    await register_admin(client, state, "admin@example.com")
    response = await client.post(path, json=body)
    assert (response.status_code == 400) is not valid, response.text


def test_the_served_document_follows_the_currency(settings: Settings) -> None:
    from dataclasses import replace

    yen = openapi_document(replace(settings, currency="JPY"))
    price = yen["components"]["schemas"]["CreateProductBody"]["properties"]["price"]
    assert price["pattern"] == price_pattern(0)
    assert DOCUMENT["components"]["schemas"]["CreateProductBody"]["properties"]["price"][
        "pattern"
    ] == price_pattern(2)
