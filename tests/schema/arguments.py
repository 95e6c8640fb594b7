"""Argument values for generated documents: the seeded data's real IDs and cursors, and the
edge values around them (malformed, of another type, of another sort, out of range).

`Draws` holds what one document accumulates while it is drawn: its variables and the
features it exercises. Any argument value may become a variable, with or without a
default, sometimes omitted (the argument is then as good as absent) and, rarely, given a
value of the wrong type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    get_named_type,
)
from hypothesis import strategies as st

from resolvers.ids import to_global_id
from resolvers.pagination import encode_cursor

T = TypeVar("T")
STATUSES = ("PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")
MISSING_KEY = 999_999_999


class Name(str):
    """An enum value: bare in a document, a string in the variables."""


class Var(str):
    """A reference to a variable of the operation."""


@dataclass(frozen=True, slots=True)
class Pools:
    """Public IDs, cursors and timestamps of the seeded database."""

    products: tuple[str, ...]  # live ones
    archived: tuple[str, ...]
    orders: tuple[str, ...]
    users: tuple[str, ...]
    product_cursors: Mapping[str, tuple[str, ...]]  # by ProductSortField
    order_cursors: Mapping[str, tuple[str, ...]]  # by OrderSortField
    user_cursors: tuple[str, ...]
    timestamps: tuple[str, ...]  # when orders were created, in several spellings


def literal(value: Any) -> str:
    """`value` as a GraphQL literal (JSON string escapes are GraphQL ones too)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Var):
        return f"${value}"
    if isinstance(value, Name):
        return str.__str__(value)
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    assert isinstance(value, dict), value
    return "{" + ", ".join(f"{key}: {literal(item)}" for key, item in value.items()) + "}"


def to_json(value: Any) -> Any:
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return str.__str__(value) if isinstance(value, str) else value


def _has_variable(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_variable(item) for item in value)
    if isinstance(value, dict):
        return any(_has_variable(item) for item in value.values())
    return isinstance(value, Var)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


MALFORMED_IDS = (
    "",
    "garbage",
    _b64("Product:1") + "=",  # padded: not the canonical spelling
    _b64("Product:0"),
    _b64("Order:-1"),
    _b64("User:9223372036854775808"),  # beyond a bigint
    _b64("Widget:1"),
    _b64("Product:one"),
    "A" * 65,
)
GARBAGE_CURSORS = (
    "",
    "garbage",
    "!!!",
    _b64("[1]"),
    _b64('["x"]'),
    encode_cursor("2020-01-01T00:00:00", 1),  # a timestamp without an offset
    encode_cursor(None, 1),
    encode_cursor(2**63, 1),
    encode_cursor("a\x00b", 1),
    _b64('[1, "x"]'),  # an id that is not a number
    "x" * 2100,
)
SEARCHES = (
    "mug", "MUG", "Kettle ", "coffee", "100%", "snake_case", "_", "%", "   ", "", "zzz-nothing",
    "carol", "example.com", "Admin",
)  # fmt: skip
BAD_SEARCHES = ("ab", "a\x00b", "x" * 300)
DECIMALS: tuple[Any, ...] = (
    "0", "19.99", "-1", "0.01", "24.5", "1000", "99999999999999999999999999", 20, 19.99, None,
)  # fmt: skip
BAD_DECIMALS = ("19.999", "1e3", "abc", "", " 1")
FIXED_TIMES = (
    "2000-01-01T00:00:00Z", "2000-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00",
    "2024-06-01T12:00:00", "2024-06-01",
)  # fmt: skip
BAD_TIMES = ("0001-01-01T00:00:00+14:00", "not a date")
PAGE_SIZES = ((30, 1), (25, 2), (15, 3), (8, 0), (6, 5), (3, 101), (2, 100), (3, -1), (2, 20))


@dataclass(slots=True)
class Draws:
    """Drawing helpers, and the variables and features of the document being drawn."""

    draw: st.DrawFn
    pools: Pools
    definitions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    booleans: list[str] = field(default_factory=list)  # Boolean! variables, for reuse

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    def pick(self, options: Sequence[T]) -> T:
        return options[self.draw(st.integers(0, len(options) - 1))]

    def choose(self, weighted: Sequence[tuple[int, T]]) -> T:
        """One option, with probability in proportion to its weight (the first shrinks best)."""
        roll = self.draw(st.integers(0, sum(weight for weight, _ in weighted) - 1))
        for weight, option in weighted:
            if roll < weight:
                return option
            roll -= weight
        raise AssertionError("unreachable")

    def feature(self, name: str) -> None:
        self.features.add(name)

    def value(self, good: Sequence[T], bad: Sequence[T], name: str) -> T:
        """Mostly one of the `good` values, sometimes one of the `bad` ones."""
        if self.chance(85):
            return self.pick(good)
        self.feature(f"bad-{name}")
        return self.pick(bad)

    def variable(self, type_text: str, default: Any = None, *, value: Any = None) -> Var:
        """A new variable of the operation (given `value` unless that is None)."""
        name = f"v{len(self.definitions) + 1}"
        suffix = "" if default is None else f" = {literal(default)}"
        self.definitions.append(f"${name}: {type_text}{suffix}")
        if value is not None:
            self.values[name] = to_json(value)
        return Var(name)

    def bind(self, type_: GraphQLInputType, value: Any, percent: int = 20) -> Any:
        """`value` itself, or (with `percent` chance) a variable standing for it."""
        if _has_variable(value) or not self.chance(percent):
            return value
        self.feature("variable")
        nullable = not isinstance(type_, GraphQLNonNull)
        mode = self.choose(
            [(50, "given"), (20, "default"), (10, "default-given"), (10, "omitted"), (4, "wrong")]
        )
        if mode == "omitted" and not nullable:
            mode = "given"
        if mode in ("default", "default-given") and value is None:
            mode = "given"
        self.feature(f"variable-{mode}")
        text = str(type_)
        if mode == "given":
            if nullable and value is not None and self.chance(30):
                text += "!"
            return self._given(text, value)
        if mode == "default":
            return self.variable(text, value)
        if mode == "default-given":
            var = self.variable(text, value)
            self.values[var] = to_json(value)
            return var
        if mode == "omitted":
            return self.variable(text)
        var = self.variable(text)
        self.values[var] = _wrong(type_)
        return var

    def _given(self, text: str, value: Any) -> Var:
        return self.variable(text, value=value) if value is not None else self._null(text)

    def _null(self, text: str) -> Var:
        var = self.variable(text)
        self.values[var] = None
        return var

    def condition(self) -> Any:
        """The `if:` of `@include`/`@skip`: a literal or a Boolean variable."""
        kind = self.choose([(50, "literal"), (30, "new"), (10, "default"), (10, "reuse")])
        if kind == "reuse" and not self.booleans:
            kind = "new"
        if kind == "literal":
            return self.draw(st.booleans())
        self.feature("directive-variable")
        if kind == "reuse":
            self.feature("variable-reused")
            return Var(self.pick(self.booleans))
        if kind == "default":
            return self.variable("Boolean", self.draw(st.booleans()))
        var = self.variable("Boolean!", value=self.draw(st.booleans()))
        self.booleans.append(var)
        return var

    # --- IDs and cursors --------------------------------------------------------------

    def object_id(self, kind: str | None) -> Any:
        """An ID of a `kind` object (any kind when None), mostly a real one."""
        pools = self.pools
        own = {
            "Product": pools.products + pools.archived,
            "Order": pools.orders,
            "User": pools.users,
        }
        real = own.get(kind or "", pools.products + pools.archived + pools.orders + pools.users)
        other = pools.users + (pools.orders if kind == "Product" else pools.products)
        choice = self.choose(
            [(70, "real"), (8, "other-type"), (8, "missing"), (10, "malformed"), (4, "int")]
        )
        self.feature(f"id-{choice}")
        if choice == "real":
            return self.pick(real)
        if choice == "other-type":
            return self.pick(other)
        if choice == "missing":
            return to_global_id(self.pick([kind or "Product", "Order", "User"]), MISSING_KEY)
        if choice == "int":
            return self.draw(st.integers(0, 3))
        return self.pick(MALFORMED_IDS)

    def cursor(self, own: Sequence[str], others: Sequence[str]) -> str:
        choice = self.choose([(75, "real"), (12, "other-sort"), (13, "garbage")])
        if choice == "other-sort" and not others:
            choice = "real"
        self.feature(f"cursor-{choice}")
        if choice == "real":
            return self.pick(own)
        return self.pick(others) if choice == "other-sort" else self.pick(GARBAGE_CURSORS)

    def page_size(self, limit: int) -> int:
        """A page size; `limit` bounds the sizes the cost budget allows."""
        options = [(weight, size) for weight, size in PAGE_SIZES if max(size, 1) <= limit]
        size = self.choose(options or [(1, 1)])
        self.feature(f"size-{size}")
        return size


def _wrong(type_: GraphQLInputType) -> Any:
    """A variable value of the wrong type for `type_`."""
    if isinstance(type_, GraphQLNonNull):
        return None
    if isinstance(type_, GraphQLList):
        return {"not": "a list"}
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        return "not an object"
    if isinstance(named, GraphQLEnumType):
        return "NOT_A_VALUE"
    assert isinstance(named, GraphQLScalarType)
    wrong: dict[str, Any] = {"Int": "one", "Boolean": "yes", "ID": True, "Decimal": "1e5"}
    return wrong.get(named.name, 12.5)


def plain_value(type_: GraphQLInputType, pools: Pools) -> Any:
    """An ordinary value of `type_`, for the required arguments of any other field."""
    if isinstance(type_, GraphQLNonNull):
        return plain_value(type_.of_type, pools)
    if isinstance(type_, GraphQLList):
        return [plain_value(type_.of_type, pools)]
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: plain_value(field.type, pools)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    if isinstance(type_, GraphQLEnumType):
        return Name(next(iter(type_.values)))
    plain: dict[str, Any] = {
        "Int": 1, "Float": 1.5, "Boolean": True, "ID": pools.products[0],
        "DateTime": pools.timestamps[0], "Decimal": "1.00",
    }  # fmt: skip
    return plain.get(type_.name, "text")
