"""Each field's SQL, stated once, next to its Strawberry type.

A field's SQL is a `FieldSQL`: given the statement's builder, the field as the document
selects it and the alias of its object's row, the SQL text of the field's JSON value (see
`sqljson`). An object type the compiled read path writes names its table with
`@compiled_from(model)` on its Strawberry type. Then each field of the type either

- is a plain column, and needs nothing more: its Python name is the column of the table, and
  its annotation picks the writer (`str`, and an enum whose names are its values, as text;
  `int` as a number; `datetime` as a `DateTime`; the `id` as the type's global ID); or
- declares its SQL as its metadata, `strawberry.field(metadata=sql(...))`, with the
  writers below (`money_from`, `one`, `listed`, ...).

A field with neither (a resolver without metadata, a type no convention covers, a name that
is not a column) has no SQL: documents selecting it run on the standard executor.
`object_types` reads all this from the built schema, once per schema (when the first
statement for it is written), and remembers it.

The types' `from_row` methods are the standard executor's own reading of the same rows, kept
apart on purpose: the differential tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

import strawberry
from graphql import GraphQLObjectType
from sqlalchemy import BigInteger, ColumnElement, Table, literal_column
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from db.models import Base
from db.models import Order as OrderRow
from resolvers.pagination import PageRequest
from schema.compiled import sqljson as sj
from schema.compiled.plan import Field, Unsupported

if TYPE_CHECKING:
    from schema.compiled.build import Builder

FieldSQL = Callable[["Builder", Field, str], str]  # (builder, field, row alias) -> SQL
Currency = Callable[["Builder", str], str]  # (builder, row alias) -> SQL of a JSON string
_SQL = "orderly.compiled.sql"  # the key of a field's SQL in its metadata
_TABLES: dict[type, Table] = {}  # each compiled type's table, by its Strawberry class
_Type = TypeVar("_Type", bound=type)


def compiled_from(model: type[Base]) -> Callable[[_Type], _Type]:
    """Class decorator: the compiled read path writes this Strawberry type from the rows of
    `model`'s table, each plain field from the column of its Python name."""
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - a declarative model's table

    def register(cls: _Type) -> _Type:
        _TABLES[cls] = table
        return cls

    return register


def sql(writer: FieldSQL) -> dict[str, FieldSQL]:
    """A field's metadata: how the compiled read path writes it."""
    return {_SQL: writer}


@dataclass(frozen=True, slots=True)
class ObjectSQL:
    """An object type as the compiled read path writes it: its table and its fields' SQL,
    by GraphQL name."""

    table: str
    fields: Mapping[str, FieldSQL]


_READ: WeakKeyDictionary[strawberry.Schema, Mapping[str, ObjectSQL]] = WeakKeyDictionary()


def object_types(schema: strawberry.Schema) -> Mapping[str, ObjectSQL]:
    """Every object type of the schema declared `compiled_from` a table, by GraphQL name
    (read once per schema)."""
    types = _READ.get(schema)
    if types is None:
        types = _READ[schema] = _object_types(schema)
    return types


def _object_types(schema: strawberry.Schema) -> dict[str, ObjectSQL]:
    types: dict[str, ObjectSQL] = {}
    for name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = graphql_type.extensions.get("strawberry-definition")
        table = _TABLES.get(definition.origin) if definition is not None else None
        if table is None:
            continue
        fields: dict[str, FieldSQL] = {}
        for field_name, field in graphql_type.fields.items():
            writer = _field_sql(name, field.extensions["strawberry-definition"], table)
            if writer is not None:
                fields[field_name] = writer
        types[name] = ObjectSQL(table.name, fields)
    return types


def _field_sql(type_name: str, field: StrawberryField, table: Table) -> FieldSQL | None:
    """The field's declared SQL, or its plain column's by convention, or None."""
    declared: FieldSQL | None = field.metadata.get(_SQL)
    if declared is not None:
        return declared
    column = field.python_name
    if field.base_resolver is not None or column not in table.columns:
        return None
    kind: Any = field.type
    if isinstance(kind, StrawberryOptional):
        kind = kind.of_type
    if column == "id" and kind is strawberry.ID:
        return global_id(type_name)
    if kind is str:
        return text(column)
    if isinstance(kind, StrawberryEnumDefinition) and all(
        value.name == value.value for value in kind.values
    ):
        return text(column)  # the column holds the value, which is the name GraphQL shows
    if kind is int:
        return number(column)
    if kind is datetime:
        return date_time(column)
    return None


# --- plain columns ---------------------------------------------------------------------------


def text(column: str) -> FieldSQL:
    return lambda b, field, row: sj.string(f"{row}.{column}")


def number(column: str) -> FieldSQL:
    return lambda b, field, row: sj.number(f"{row}.{column}")


def date_time(column: str) -> FieldSQL:
    return lambda b, field, row: sj.quoted(sj.iso_datetime(f"{row}.{column}"))


def global_id(type_name: str) -> FieldSQL:
    """The row's `id` as the global ID of a `type_name`."""
    return lambda b, field, row: sj.quoted(sj.global_id(type_name, f"{row}.id"))


# --- money -----------------------------------------------------------------------------------


def money_from(minor: str, currency: Currency) -> FieldSQL:
    """A `Money` object of an amount column, in minor units, and a currency."""

    def build(b: Builder, field: Field, row: str) -> str:
        digits = b.settings.currency_digits
        parts: dict[str, Callable[[], str]] = {
            "amount": lambda: sj.quoted(sj.decimal(f"{row}.{minor}", digits)),
            "currency": lambda: currency(b, row),
            "__typename": lambda: sj.type_name("Money"),
        }
        return sj.json_object([(p.key, parts[p.name]()) for p in field.on("Money")])

    return build


def store_currency(b: Builder, row: str) -> str:
    """The store's currency, from the settings."""
    return sj.type_name(b.settings.currency)


def row_currency(b: Builder, row: str) -> str:
    """The row's own `currency` column."""
    return sj.string(f"{row}.currency")


def enclosing_currency(b: Builder, row: str) -> str:
    """The `currency` of the row this one was read for (an order line's: its order's)."""
    enclosing = b.enclosing.get(row)
    if enclosing is None:
        raise Unsupported("an amount read without its enclosing row")
    return sj.string(f"{enclosing}.currency")


# --- relations -------------------------------------------------------------------------------


def one(type_name: str, match: tuple[str, str]) -> FieldSQL:
    """The `type_name` object whose column `match[0]` equals this row's `match[1]`, or null."""
    theirs, ours = match
    return lambda b, field, row: b.one(
        type_name, field, lambda related: f"{related}.{theirs} = {row}.{ours}", enclosing=row
    )


def listed(type_name: str, match: tuple[str, str], order: Sequence[str]) -> FieldSQL:
    """The `type_name` objects whose column `match[0]` equals this row's `match[1]`, as a
    list ordered by the columns `order`."""
    theirs, ours = match
    return lambda b, field, row: b.listed(
        type_name, field, lambda related: f"{related}.{theirs} = {row}.{ours}", order,
        enclosing=row,
    )  # fmt: skip


# --- fields of one type ----------------------------------------------------------------------


def visible_email(b: Builder, field: Field, row: str) -> str:
    """`User.email`: null unless the viewer is this user or an admin."""
    return sj.string(f"CASE WHEN {b.can_see_email(f'{row}.id')} THEN {row}.email END")


def user_orders(b: Builder, field: Field, row: str) -> str:
    """`User.orders`: empty unless the viewer is this user or an admin."""
    from schema.orders import order_query  # schema.orders imports the types that use this

    args = b.arguments(field)
    page = PageRequest(first=args.get("first"), after=args.get("after"))
    # As for the standard resolver: the user's id, never the filter's customerId, chooses
    # whose orders (here the enclosing row's id, so the query itself names no customer).
    query = replace(
        order_query(args.get("filter"), args.get("sort"), customer_id=0), customer_id=None
    )
    viewer = b.viewer
    source = b.order_source(query)
    if source.rows is None or source.count is None or viewer is None:
        return b.connection(field, "Order", source, page)
    # The user's row is in the enclosing query: named, so that it is not joined again.
    user_id: ColumnElement[Any] = literal_column(f"{row}.id", BigInteger)
    mine = OrderRow.customer_id == user_id
    visible = None
    if not viewer.is_admin:
        visible = (user_id == viewer.id, lambda: f"{row}.id = {b.viewer_id()}")
    own = replace(
        source, rows=source.rows.where(mine), count=source.count.where(mine), visible=visible
    )
    return b.connection(field, "Order", own, page)


def secret_for_customer(b: Builder, field: Field, row: str) -> str:
    """`Payment.clientSecret`: for the order's customer only, as
    `resolvers.payments.client_secret_for` decides."""
    if b.viewer is None:
        return sj.NULL
    o = b.sql.name()
    customer = f"(SELECT {o}.customer_id FROM orders AS {o} WHERE {o}.id = {row}.order_id)"
    return sj.string(f"CASE WHEN {customer} = {b.viewer_id()} THEN {row}.client_secret END")
