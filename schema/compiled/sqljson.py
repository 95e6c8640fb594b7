"""SQL expressions that render values exactly as the standard executor serialises them.

Every helper returns a SQLAlchemy Core expression of compact JSON text (what orjson writes:
no spaces), so that the database's result is the response body. User values only ever
enter as bound parameters; keys of JSON objects are GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`,
checked by the parser and again here) and type names, so they are written as literals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Numeric, Text, case, cast, func, literal_column
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def _sql_text(value: str) -> ColumnElement[Any]:
    """A constant of the schema (never user input) as a SQL string literal."""
    if "'" in value or "\\" in value:
        raise ValueError(value)
    return literal_column(f"'{value}'", Text)


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"not a GraphQL name: {value!r}")
    return value


def json_object(pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """Compact JSON text of an object whose values are JSON texts, keys in the given order."""
    if not pairs:
        return _sql_text("{}")
    result: ColumnElement[Any] | None = None
    for index, (key, value) in enumerate(pairs):
        opening = _sql_text(("{" if index == 0 else ",") + f'"{_name(key)}":')
        result = opening + value if result is None else result + opening + value
    assert result is not None  # noqa: S101
    return result + _sql_text("}")


def json_list(
    element: ColumnElement[Any],
    *order: ColumnElement[Any],
    where: ColumnElement[bool] | None = None,
) -> ColumnElement[Any]:
    """An aggregate: the JSON texts of the rows as a compact JSON list, in `order`."""
    joined = func.string_agg(element, aggregate_order_by(_sql_text(","), *order))
    aggregated: ColumnElement[Any] = joined if where is None else joined.filter(where)
    return _sql_text("[") + func.coalesce(aggregated, _sql_text("")) + _sql_text("]")


def string(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Any text (or enum) value, escaped as orjson escapes strings; null stays null."""
    return func.coalesce(cast(func.to_json(value), Text), NULL)


def number(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(cast(value, Text), NULL)


def boolean(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((value, _sql_text("true")), else_=_sql_text("false"))


def quoted(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A string that needs no escaping (an ID, a timestamp, a decimal) as JSON."""
    return func.coalesce(_sql_text('"') + value + _sql_text('"'), NULL)


def nullable(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON text that may be missing (no row), as `null` then."""
    return func.coalesce(value, NULL)


def text_constant(value: str) -> ColumnElement[Any]:
    """A type name of the schema as a JSON string."""
    return _sql_text(f'"{_name(value)}"')


def bool_constant(value: bool) -> ColumnElement[Any]:
    return _sql_text("true" if value else "false")


def int_constant(value: int) -> ColumnElement[Any]:
    return _sql_text(str(int(value)))


NULL = literal_column("'null'", Text)
EMPTY_LIST = literal_column("'[]'", Text)


def base64url(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """Python's `urlsafe_b64encode(text).rstrip("=")`: PostgreSQL's base64 breaks lines every
    76 characters and pads with `=`; both are dropped, `+/` become `-_`."""
    encoded = func.encode(
        func.convert_to(text, literal_column("'UTF8'")), literal_column("'base64'")
    )
    return func.translate(encoded, literal_column("E'+/=\\n'"), literal_column("'-_'"))


def global_id(type_name: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
    """`resolvers.ids.to_global_id(type_name, key)` in SQL."""
    if not _NAME.fullmatch(type_name):
        raise ValueError(type_name)
    return base64url(literal_column(f"'{type_name}:'", Text) + cast(key, Text))


def iso_datetime(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """`datetime.isoformat()` of a UTC timestamp: microseconds only when not zero."""
    utc = func.timezone(literal_column("'UTC'"), value)
    seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    micro = func.to_char(utc, literal_column("'US'"))
    fraction = case(
        (micro == literal_column("'000000'"), literal_column("''")),
        else_=literal_column("'.'", Text) + micro,
    )
    return seconds.concat(fraction).concat(literal_column("'+00:00'"))


def decimal_text(minor: ColumnElement[Any], digits: int) -> ColumnElement[Any]:
    """`str(Decimal(minor).scaleb(-digits))`: exactly `digits` places (19.90, 0.00)."""
    if digits == 0:
        return cast(minor, Text)
    unit = literal_column(f"0.{'0' * (digits - 1)}1::numeric", Numeric)
    return cast(cast(minor, Numeric) * unit, Text)


def cursor(sort_value: ColumnElement[Any], row_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """`resolvers.pagination.encode_cursor`: base64url of the compact JSON `[value, id]`.

    `sort_value` must already be JSON text (a number, or a string made with `to_json`).
    """
    body = literal_column("'['", Text) + sort_value + literal_column("','", Text)
    return base64url(body + cast(row_id, Text) + literal_column("']'", Text))


def json_text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A non-null value as JSON text, escaped the way orjson escapes strings."""
    return cast(func.to_json(value), Text)
