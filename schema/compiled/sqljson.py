"""SQL that writes values exactly as the standard executor serialises them.

Every function returns the SQL text of an expression whose value is compact JSON text (what
orjson writes: no spaces), so that the statement's result is the response body as it is.
Arguments are SQL texts too: column references of the statement's own aliases, constants
of the schema, or placeholders (`$n`) of bound values; never a value itself. Keys are
GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`, checked by the parser and again here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
NULL = "'null'"
EMPTY_LIST = "'[]'"
TRUE = "'true'"
FALSE = "'false'"


def name(value: str) -> str:
    """A GraphQL name, checked, so that it can be written into SQL text."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"not a GraphQL name: {value!r}")
    return value


def literal(value: str) -> str:
    """A constant of the schema as a SQL string literal."""
    if "'" in value or "\\" in value:
        raise ValueError(value)
    return f"'{value}'"


def json_object(pairs: Sequence[tuple[str, str]]) -> str:
    """An object of JSON texts, its keys in the given order."""
    if not pairs:
        return literal("{}")
    pieces = []
    for index, (key, value) in enumerate(pairs):
        pieces += [literal(("{" if index == 0 else ",") + f'"{name(key)}":'), f"({value})"]
    return " || ".join([*pieces, literal("}")])


def json_list(item: str, order: str, where: str | None = None) -> str:
    """An aggregate: the JSON texts of the rows as a list, in `order`."""
    aggregated = f"string_agg({item}, ',' ORDER BY {order})"
    if where is not None:
        aggregated += f" FILTER (WHERE {where})"
    return f"'[' || coalesce({aggregated}, '') || ']'"


def string(expression: str) -> str:
    """A text (or enum) value, escaped as orjson escapes strings; null as null."""
    return f"coalesce(to_json({expression})::text, 'null')"


def number(expression: str) -> str:
    return f"coalesce(({expression})::text, 'null')"


def boolean(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 'true' ELSE 'false' END"


def quoted(expression: str) -> str:
    """A value whose text needs no escaping (an ID, a timestamp, a decimal) as a string."""
    return f"""coalesce('"' || ({expression}) || '"', 'null')"""


def nullable(expression: str) -> str:
    """JSON text that may be missing (no such row): null then."""
    return f"coalesce({expression}, 'null')"


def type_name(value: str) -> str:
    """A type name of the schema (or the store's currency code) as a JSON string."""
    return literal(f'"{name(value)}"')


def base64url(expression: str) -> str:
    """Python's `urlsafe_b64encode(text).rstrip("=")`: PostgreSQL's base64 breaks lines every
    76 characters and pads with `=`; both are dropped, and `+/` become `-_`."""
    return f"translate(encode(convert_to({expression}, 'UTF8'), 'base64'), E'+/=\\n', '-_')"


def global_id(type_: str, key: str) -> str:
    """`resolvers.ids.to_global_id` of a key column."""
    return base64url(f"'{name(type_)}:' || ({key})::text")


def iso_datetime(expression: str) -> str:
    """`datetime.isoformat()` of a timestamp in UTC: microseconds only when not zero (the
    only `.000000` the pattern can produce is a zero fraction)."""
    formatted = f"""to_char(timezone('UTC', {expression}), 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    return f"replace({formatted}, '.000000', '') || '+00:00'"


def decimal(minor: str, digits: int) -> str:
    """`str(Decimal(minor).scaleb(-digits))`: exactly `digits` places (19.90, 0.00)."""
    if digits == 0:
        return f"({minor})::text"
    return f"(({minor})::numeric * 0.{'0' * (digits - 1)}1)::text"


def cursor(sort_json: str, key: str) -> str:
    """`resolvers.pagination.encode_cursor`: base64url of the compact JSON `[value, id]`;
    `sort_json` is the sort value as JSON text."""
    return base64url(f"'[' || {sort_json} || ',' || ({key})::text || ']'")
