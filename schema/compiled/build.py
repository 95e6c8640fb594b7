"""A resolved plan as one SELECT whose single value is the response's `data` as JSON text.

Lists and their filters, sorts, cursors and visibility come from the same `resolvers/`
functions the standard executor calls, so both paths select the same rows; argument
values are converted by Strawberry exactly as for a resolver. Anything that would answer
with an error (a bad argument, a missing session, a wrong role) raises `Fallback` before
any SQL runs, and the standard executor gives the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import Select, Text, and_, case, cast, false, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause
from strawberry import Schema
from strawberry.types.arguments import convert_arguments

from auth.viewer import Viewer
from db.models import Order, OrderEvent, OrderItem, Product, User
from resolvers import orders, products, users
from resolvers.errors import OrderlyError
from resolvers.ids import from_global_id, parse_global_id
from resolvers.pagination import PageRequest, keyset_page
from schema.compiled import sqljson as sj
from schema.compiled.plan import Field, Unsupported
from settings import Settings

Row = FromClause
FieldSQL = Callable[["Builder", Field, Row], ColumnElement[Any]]


class Fallback(Exception):
    """This request answers with an error or needs the standard executor; nothing ran."""


@dataclass(frozen=True, slots=True)
class ListSource:
    """Where a connection's rows come from, as the resolvers define it."""

    rows: Select[Any] | None  # None: the viewer may see nothing here
    count: Select[Any] | None
    sort: Any  # the model column the list is ordered by (then by id)
    descending: bool
    timestamp: bool
    visible: ColumnElement[bool] | None = None  # a condition on the enclosing row


class Builder:
    """Builds the statement for one request: the viewer, settings and variables."""

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        viewer: Viewer | None,
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.viewer = viewer
        self.variables = variables
        self._aliases = 0

    # --- the statement ---------------------------------------------------------------------

    def statement(self, roots: Sequence[Field]) -> Select[Any]:
        return select(sj.json_object([(root.key, self._root(root)) for root in roots]))

    def _root(self, root: Field) -> ColumnElement[Any]:
        if root.name == "__typename":
            return sj.text_constant("Query")
        resolve = ROOTS.get(root.name)
        if resolve is None:
            raise Unsupported(f"Query.{root.name}")
        try:
            return resolve(self, root)
        except OrderlyError as error:  # a bad argument, no session, a wrong role
            raise Fallback(type(error).__name__) from None

    # --- helpers -----------------------------------------------------------------------------

    def alias(self, model: Any) -> Row:
        self._aliases += 1
        result: Row = model.__table__.alias(f"t{self._aliases}")
        return result

    def arguments(self, field: Field) -> dict[str, Any]:
        """The field's arguments as its resolver would receive them."""
        assert field.definition is not None  # noqa: S101 - not __typename
        raw = get_argument_values(field.definition, field.node, self.variables)
        strawberry_field = field.definition.extensions["strawberry-definition"]
        return convert_arguments(
            raw,
            strawberry_field.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )

    def object(self, type_name: str, fields: Sequence[Field], row: Row) -> ColumnElement[Any]:
        table = OBJECTS[type_name]
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for field in fields:
            if field.name == "__typename":
                pairs.append((field.key, sj.text_constant(type_name)))
                continue
            resolve = table.get(field.name)
            if resolve is None:
                raise Unsupported(f"{type_name}.{field.name}")
            pairs.append((field.key, resolve(self, field, row)))
        return sj.json_object(pairs)

    def one(
        self, type_name: str, field: Field, model: Any, *conditions: Callable[[Row], Any]
    ) -> ColumnElement[Any]:
        """The object of `model` matching `conditions`, or JSON null."""
        row = self.alias(model)
        found = select(self.object(type_name, field.on(type_name), row))
        return sj.nullable(
            found.where(*(condition(row) for condition in conditions)).scalar_subquery()
        )

    def can_see_email(self, user_id: ColumnElement[Any]) -> ColumnElement[bool]:
        viewer = self.viewer
        if viewer is None:
            return false()
        if viewer.is_admin:
            return true()
        return user_id == viewer.id

    # --- connections -------------------------------------------------------------------------

    def connection(
        self, field: Field, node_type: str, source: ListSource, page: PageRequest
    ) -> ColumnElement[Any]:
        """A Relay connection over `source`, paged as `resolvers.pagination` pages it."""
        size = page.size()
        selections = field.on(f"{node_type}Connection")
        if source.rows is None:
            return self._empty_connection(node_type, selections)
        paged, size, backward = keyset_page(
            source.rows,
            sort_column=source.sort,
            id_column=source.sort.class_.id,
            descending=source.descending,
            page=page,
            timestamp=source.timestamp,
        )
        if source.visible is not None:
            paged = paged.where(source.visible)
        scanned = paged.subquery(self._next_name())
        sort_key = source.sort.key
        scan_descending = source.descending != backward
        order = (scanned.c[sort_key], scanned.c.id)
        numbered = select(
            scanned,
            func.row_number()
            .over(order_by=[c.desc() for c in order] if scan_descending else list(order))
            .label("rn"),
        ).subquery(self._next_name())
        rank = numbered.c.rn
        kept = rank <= size
        in_list_order = rank.desc() if backward else rank
        sort_value = numbered.c[sort_key]
        cursor = sj.cursor(
            sj.json_text(sj.iso_datetime(sort_value))
            if source.timestamp
            else (sj.json_text(sort_value) if sort_key == "name" else cast(sort_value, Text)),
            numbered.c.id,
        )

        def node(fields: Sequence[Field]) -> ColumnElement[Any]:
            return self.object(node_type, fields, numbered)

        def listed(item: ColumnElement[Any]) -> ColumnElement[Any]:
            return sj.json_list(item, in_list_order, where=kept)

        def scan_end(descending: bool) -> ColumnElement[Any]:
            by = rank.desc() if descending else rank
            return sj.quoted(func.array_agg(aggregate_order_by(cursor, by)).filter(kept)[1])

        more = sj.boolean(func.count() > size)
        visible = source.visible if source.visible is not None else true()
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for part in selections:
            if part.name == "__typename":
                pairs.append((part.key, sj.text_constant(f"{node_type}Connection")))
            elif part.name == "nodes":
                pairs.append((part.key, listed(node(part.on(node_type)))))
            elif part.name == "edges":
                edge_pairs: list[tuple[str, ColumnElement[Any]]] = []
                for edge_part in part.on(f"{node_type}Edge"):
                    if edge_part.name == "cursor":
                        edge_pairs.append((edge_part.key, sj.quoted(cursor)))
                    elif edge_part.name == "node":
                        edge_pairs.append((edge_part.key, node(edge_part.on(node_type))))
                    else:
                        edge_pairs.append((edge_part.key, sj.text_constant(f"{node_type}Edge")))
                pairs.append((part.key, listed(sj.json_object(edge_pairs))))
            elif part.name == "pageInfo":
                given_before = sj.boolean(and_(_truth(page.before is not None), visible))
                given_after = sj.boolean(and_(_truth(page.after is not None), visible))
                info = {
                    "hasNextPage": given_before if backward else more,
                    "hasPreviousPage": more if backward else given_after,
                    "startCursor": scan_end(descending=backward),
                    "endCursor": scan_end(descending=not backward),
                    "__typename": sj.text_constant("PageInfo"),
                }
                pairs.append(
                    (part.key, sj.json_object([(p.key, info[p.name]) for p in part.on("PageInfo")]))
                )
            elif part.name == "totalCount":
                assert source.count is not None  # noqa: S101 - with rows comes a count
                counted = source.count
                if source.visible is not None:
                    counted = counted.where(source.visible)
                pairs.append((part.key, sj.number(counted.scalar_subquery())))
            else:
                raise Unsupported(f"{node_type}Connection.{part.name}")
        # HAVING makes it one aggregate row even when nothing aggregates (only totalCount).
        aggregate = select(sj.json_object(pairs)).select_from(numbered).having(true())
        return aggregate.scalar_subquery()

    def _empty_connection(self, node_type: str, selections: Sequence[Field]) -> ColumnElement[Any]:
        empty_info = {
            "hasNextPage": sj.bool_constant(False),
            "hasPreviousPage": sj.bool_constant(False),
            "startCursor": sj.NULL,
            "endCursor": sj.NULL,
            "__typename": sj.text_constant("PageInfo"),
        }
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for part in selections:
            if part.name == "__typename":
                pairs.append((part.key, sj.text_constant(f"{node_type}Connection")))
            elif part.name in ("nodes", "edges"):
                pairs.append((part.key, sj.EMPTY_LIST))
            elif part.name == "pageInfo":
                info = [(p.key, empty_info[p.name]) for p in part.on("PageInfo")]
                pairs.append((part.key, sj.json_object(info)))
            else:  # totalCount
                pairs.append((part.key, sj.int_constant(0)))
        return sj.json_object(pairs)

    def _next_name(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"


# --- Query -----------------------------------------------------------------------------------


def _me(b: Builder, field: Field) -> ColumnElement[Any]:
    viewer = b.viewer
    if viewer is None:
        return sj.NULL
    return b.one("User", field, User, lambda u: u.c.id == viewer.id)


def _product(b: Builder, field: Field) -> ColumnElement[Any]:
    key = from_global_id(b.arguments(field)["id"], "Product")
    return b.one("Product", field, Product, *_product_visible(b, key))


def _product_visible(b: Builder, key: int) -> list[Callable[[Row], Any]]:
    conditions: list[Callable[[Row], Any]] = [lambda p: p.c.id == key]
    if not (b.viewer and b.viewer.is_admin):
        conditions.append(lambda p: p.c.archived_at.is_(None))
    return conditions


def _order(b: Builder, field: Field) -> ColumnElement[Any]:
    viewer = _signed_in(b)
    key = from_global_id(b.arguments(field)["id"], "Order")
    return b.one("Order", field, Order, *_order_visible(viewer, key))


def _order_visible(viewer: Viewer, key: int) -> list[Callable[[Row], Any]]:
    conditions: list[Callable[[Row], Any]] = [lambda o: o.c.id == key]
    if not viewer.is_admin:
        conditions.append(lambda o: o.c.customer_id == viewer.id)
    return conditions


def _node(b: Builder, field: Field) -> ColumnElement[Any]:
    type_name, key = parse_global_id(b.arguments(field)["id"])
    viewer = b.viewer
    if type_name == "Product":
        return b.one("Product", field, Product, *_product_visible(b, key))
    if viewer is None or (type_name == "User" and not (viewer.is_admin or viewer.id == key)):
        return sj.NULL
    if type_name == "Order":
        return b.one("Order", field, Order, *_order_visible(viewer, key))
    return b.one("User", field, User, lambda u: u.c.id == key)


def _products(b: Builder, field: Field) -> ColumnElement[Any]:
    from schema.products import product_query

    args = b.arguments(field)
    query = product_query(args.get("filter"), args.get("sort"))
    digits = b.settings.currency_digits
    page = PageRequest(args.get("first"), args.get("after"), args.get("last"), args.get("before"))
    page.size()
    rows = products.filtered_products(query, digits)
    source = ListSource(
        rows=rows,
        count=rows.with_only_columns(func.count()),
        sort=products.SORT_COLUMNS[query.sort],
        descending=query.descending,
        timestamp=query.sort is products.ProductSortField.CREATED_AT,
    )
    return b.connection(field, "Product", source, page)


def _orders(b: Builder, field: Field) -> ColumnElement[Any]:
    from schema.orders import order_query

    viewer = _signed_in(b)
    args = b.arguments(field)
    page = PageRequest(args.get("first"), args.get("after"), args.get("last"), args.get("before"))
    query = order_query(args.get("filter"), args.get("sort"))
    return b.connection(field, "Order", _order_source(viewer, query), page)


def _order_source(
    viewer: Viewer | None, query: orders.OrderQuery, visible: ColumnElement[bool] | None = None
) -> ListSource:
    rows = orders.visible_orders(viewer, query)
    return ListSource(
        rows=rows,
        count=rows.with_only_columns(func.count(), maintain_column_froms=True)
        if rows is not None
        else None,
        sort=orders.SORT_COLUMNS[query.sort],
        descending=query.descending,
        timestamp=query.sort is orders.OrderSortField.CREATED_AT,
        visible=visible,
    )


def _users(b: Builder, field: Field) -> ColumnElement[Any]:
    from schema.users import _filter_args

    users.require_admin(b.viewer)
    args = b.arguments(field)
    page = PageRequest(first=args.get("first"), after=args.get("after"))
    page.size()
    rows = users.filtered_users(**_filter_args(args.get("filter")))
    source = ListSource(
        rows=rows,
        count=rows.with_only_columns(func.count(), maintain_column_froms=True),
        sort=User.created_at,
        descending=True,
        timestamp=True,
    )
    return b.connection(field, "User", source, page)


def _signed_in(b: Builder) -> Viewer:
    if b.viewer is None:
        raise Fallback("not signed in")
    return b.viewer


ROOTS: dict[str, Callable[[Builder, Field], ColumnElement[Any]]] = {
    "me": _me,
    "product": _product,
    "products": _products,
    "order": _order,
    "orders": _orders,
    "users": _users,
    "node": _node,
}


# --- object types ----------------------------------------------------------------------------


def _text(name: str) -> FieldSQL:
    return lambda b, field, row: sj.string(row.c[name])


def _int(name: str) -> FieldSQL:
    return lambda b, field, row: sj.number(row.c[name])


def _id(type_name: str) -> FieldSQL:
    return lambda b, field, row: sj.quoted(sj.global_id(type_name, row.c.id))


def _datetime(name: str) -> FieldSQL:
    return lambda b, field, row: sj.quoted(sj.iso_datetime(row.c[name]))


def _truth(value: bool) -> ColumnElement[bool]:
    return true() if value else false()


def _money(
    minor: Callable[[Row], ColumnElement[Any]],
    currency: Callable[[Builder, Row], ColumnElement[Any]],
) -> FieldSQL:
    def build(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
        parts = {
            "amount": lambda: sj.quoted(sj.decimal_text(minor(row), b.settings.currency_digits)),
            "currency": lambda: currency(b, row),
            "__typename": lambda: sj.text_constant("Money"),
        }
        return sj.json_object([(p.key, parts[p.name]()) for p in field.on("Money")])

    return build


def _store_currency(b: Builder, row: Row) -> ColumnElement[Any]:
    return sj.text_constant(b.settings.currency)


def _visible_email(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
    """Null unless the viewer is this user or an admin."""
    return sj.string(case((b.can_see_email(row.c.id), row.c.email), else_=None))


def _user_orders(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
    """A user's orders: empty unless the viewer is this user or an admin."""
    from schema.orders import order_query

    args = b.arguments(field)
    page = PageRequest(first=args.get("first"), after=args.get("after"))
    page.size()
    query = order_query(args.get("filter"), args.get("sort"), customer_id=None)
    viewer = b.viewer
    source = _order_source(viewer, query)
    if source.rows is None or source.count is None or viewer is None:
        return b.connection(field, "Order", source, page)
    # The user's row is in the enclosing query: named, so that it is not joined again.
    user_id: ColumnElement[Any] = literal_column(f"{row.name}.id")  # type: ignore[attr-defined]
    mine = Order.customer_id == user_id
    visible = None if viewer.is_admin else user_id == viewer.id
    own = ListSource(
        source.rows.where(mine), source.count.where(mine), source.sort, source.descending,
        source.timestamp, visible,
    )  # fmt: skip
    return b.connection(field, "Order", own, page)


def _order_customer(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
    return b.one("User", field, User, lambda u: u.c.id == row.c.customer_id)


def _order_items(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
    item = b.alias(OrderItem)
    currency = row.c.currency
    fields = field.on("OrderItem")
    built = _item_object(b, fields, item, currency)
    listed = select(sj.json_list(built, item.c.product_id)).where(item.c.order_id == row.c.id)
    return listed.scalar_subquery()


def _item_object(
    b: Builder, fields: Sequence[Field], item: Row, currency: ColumnElement[Any]
) -> ColumnElement[Any]:
    def money(column: str) -> FieldSQL:
        return _money(lambda r: r.c[column], lambda _b, _r: sj.string(currency))

    table: dict[str, FieldSQL] = {
        "productName": _text("product_name"),
        "quantity": _int("quantity"),
        "unitPrice": money("unit_price_minor"),
        "subtotal": money("subtotal_minor"),
        "product": lambda b, f, r: b.one("Product", f, Product, lambda p: p.c.id == r.c.product_id),
    }
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for field in fields:
        if field.name == "__typename":
            pairs.append((field.key, sj.text_constant("OrderItem")))
        elif field.name in table:
            pairs.append((field.key, table[field.name](b, field, item)))
        else:
            raise Unsupported(f"OrderItem.{field.name}")
    return sj.json_object(pairs)


def _order_events(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
    event = b.alias(OrderEvent)
    built = b.object("OrderEvent", field.on("OrderEvent"), event)
    listed = select(sj.json_list(built, event.c.at, event.c.id))
    return listed.where(event.c.order_id == row.c.id).scalar_subquery()


def _event_actor(b: Builder, field: Field, row: Row) -> ColumnElement[Any]:
    return b.one("User", field, User, lambda u: u.c.id == row.c.actor_id)


OBJECTS: dict[str, dict[str, FieldSQL]] = {
    "Product": {
        "id": _id("Product"),
        "name": _text("name"),
        "description": _text("description"),
        "price": _money(lambda r: r.c.price_minor, _store_currency),
        "stock": _int("stock"),
        "createdAt": _datetime("created_at"),
        "updatedAt": _datetime("updated_at"),
    },
    "User": {
        "id": _id("User"),
        "email": _visible_email,
        "name": _text("name"),
        "role": _text("role"),
        "createdAt": _datetime("created_at"),
        "orders": _user_orders,
    },
    "Order": {
        "id": _id("Order"),
        "status": _text("status"),
        "total": _money(lambda r: r.c.total_minor, lambda b, r: sj.string(r.c.currency)),
        "createdAt": _datetime("created_at"),
        "updatedAt": _datetime("updated_at"),
        "customer": _order_customer,
        "items": _order_items,
        "events": _order_events,
    },
    "OrderEvent": {
        "fromStatus": _text("from_status"),
        "toStatus": _text("to_status"),
        "at": _datetime("at"),
        "note": _text("note"),
        "actor": _event_actor,
    },
}
