"""A resolved plan as one SELECT whose single value is the response's `data` as JSON text.

Lists and their filters, sorts, cursors and visibility come from the same `resolvers/`
functions the standard executor calls, so both paths select the same rows; argument
values are converted by Strawberry exactly as for a resolver. Anything that would answer
with an error (a bad argument, a missing session, a wrong role) raises `Fallback` before
any SQL runs, and the standard executor gives the answer.

Where a field's SQL lives: `ROOTS` for the fields of `Query`, `OBJECTS` for the fields of
each object type. A field with no entry makes its documents fall back, never fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import BigInteger, ColumnElement, Select, literal_column
from strawberry import Schema
from strawberry.types.arguments import convert_arguments

from auth.viewer import Viewer
from db.models import Order, User
from domain.errors import OrderlyError
from resolvers import orders, products, users
from resolvers.ids import from_global_id, parse_global_id
from resolvers.pagination import PageRequest, counting, keyset_page
from schema.compiled import sqljson as sj
from schema.compiled.plan import Field, Unsupported
from schema.compiled.sqltext import Placeholder, Statement
from settings import Settings

FieldSQL = Callable[["Builder", Field, str], str]  # (builder, field, row alias) -> SQL


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
    # A condition on the enclosing row, for the rows (SQLAlchemy) and for the flags (SQL,
    # written only if a flag is asked for).
    visible: tuple[ColumnElement[bool], Callable[[], str]] | None = None


class Builder:
    """Writes the statement for one request: the viewer, settings and variables."""

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        viewer: Viewer | None,
        variables: VariableValues,
        literal_arguments: dict[int, dict[str, Any]],
        *,
        strict: bool = False,
    ) -> None:
        self.schema = schema
        self.strict = strict  # domain errors propagate instead of falling back
        self.literal_arguments = literal_arguments
        self.settings = settings
        self.viewer = viewer
        self.variables = variables
        self.sql = Statement()
        self._viewer_id: Placeholder | None = None
        # Whether PostgreSQL's generic plan suits the statement: not when a list is filtered by
        # a range or a pattern, whose best plan depends on the values (a narrow price range
        # wants the price index, a wide one the sort's).
        self.generic_plan = True

    def statement(self, roots: Sequence[Field]) -> tuple[str, list[Any]]:
        """The SQL text and its parameters."""
        data = sj.json_object([(root.key, self._root(root)) for root in roots])
        return f"SELECT {data}", self.sql.params

    def _root(self, root: Field) -> str:
        if root.name == "__typename":
            return sj.type_name("Query")
        resolve = ROOTS.get(root.name)
        if resolve is None:
            raise Unsupported(f"Query.{root.name}")
        try:
            return resolve(self, root)
        except OrderlyError as error:  # a bad argument, no session, a wrong role
            if self.strict:
                raise
            raise Fallback(type(error).__name__) from None

    # --- helpers -----------------------------------------------------------------------------

    def arguments(self, field: Field) -> dict[str, Any]:
        """The field's arguments as its resolver would receive them."""
        assert field.definition is not None  # noqa: S101 - not __typename
        known = self.literal_arguments.get(id(field.node))
        if known is not None:
            return known
        raw = get_argument_values(field.definition, field.node, self.variables)
        strawberry_field = field.definition.extensions["strawberry-definition"]
        converted = convert_arguments(
            raw,
            strawberry_field.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )
        if field.literal_arguments:
            self.literal_arguments[id(field.node)] = converted
        return converted

    def object(self, type_name: str, fields: Sequence[Field], row: str) -> str:
        """The JSON object of type `type_name` for the row `row` of this statement."""
        table = OBJECTS[type_name]
        pairs: list[tuple[str, str]] = []
        for field in fields:
            if field.name == "__typename":
                pairs.append((field.key, sj.type_name(type_name)))
                continue
            resolve = table.get(field.name)
            if resolve is None:
                raise Unsupported(f"{type_name}.{field.name}")
            pairs.append((field.key, resolve(self, field, row)))
        return sj.json_object(pairs)

    def one(self, type_name: str, field: Field, table: str, where: Callable[[str], str]) -> str:
        """The object in `table` whose row matches `where`, or JSON null."""
        row = self.sql.name()
        found = self.object(type_name, field.on(type_name), row)
        return sj.nullable(f"(SELECT {found} FROM {table} AS {row} WHERE {where(row)})")

    def listed(
        self, type_name: str, field: Field, table: str, where: Callable[[str], str], order: str
    ) -> str:
        """The objects in `table` whose rows match `where`, as a list in `order` (columns)."""
        row = self.sql.name()
        item = self.object(type_name, field.on(type_name), row)
        ordered = ", ".join(f"{row}.{column}" for column in order.split(","))
        return f"(SELECT {sj.json_list(item, ordered)} FROM {table} AS {row} WHERE {where(row)})"

    def viewer_id(self) -> Placeholder:
        """The placeholder of the viewer's id (one per statement)."""
        assert self.viewer is not None  # noqa: S101 - asked only with a viewer
        if self._viewer_id is None:
            self._viewer_id = self.sql.bind(self.viewer.id)
        return self._viewer_id

    def can_see_email(self, user_id: str) -> str:
        """SQL: emails are shown to the user themself and to admins only."""
        if self.viewer is None:
            return "false"
        if self.viewer.is_admin:
            return "true"
        return f"{user_id} = {self.viewer_id()}"

    # --- connections -------------------------------------------------------------------------

    def connection(
        self, field: Field, node_type: str, source: ListSource, page: PageRequest
    ) -> str:
        """A Relay connection over `source`, paged as `resolvers.pagination` pages it."""
        size = page.size()
        selections = field.on(f"{node_type}Connection")
        if source.rows is None:
            return _empty_connection(node_type, selections)
        paged, size, backward = keyset_page(
            source.rows,
            sort_column=source.sort,
            id_column=source.sort.class_.id,
            descending=source.descending,
            page=page,
            timestamp=source.timestamp,
        )
        if source.visible is not None:
            paged = paged.where(source.visible[0])
        scanned, rows = self.sql.name(), self.sql.name()
        sort = source.sort.key
        direction = " DESC" if source.descending != backward else ""
        numbered = (
            f"(SELECT {scanned}.*, row_number() OVER (ORDER BY {scanned}.{sort}{direction}, "
            f"{scanned}.id{direction}) AS rn FROM ({self.sql.embed(paged)}) AS {scanned}) AS {rows}"
        )
        limit = self.sql.bind(size)  # numbered only if the text below uses it

        def kept() -> str:
            return f"{rows}.rn <= {limit}"

        in_list_order = f"{rows}.rn DESC" if backward else f"{rows}.rn"

        def cursor_of(sort_value: str, row_id: str) -> str:
            if source.timestamp:
                sort_json = f"""'"' || {sj.iso_datetime(sort_value)} || '"'"""
            elif sort == "name":
                sort_json = f"to_json({sort_value})::text"
            else:
                sort_json = f"({sort_value})::text"
            return sj.cursor(sort_json, row_id)

        cursor = cursor_of(f"{rows}.{sort}", f"{rows}.id")

        def more() -> str:
            return sj.boolean(f"count(*) > {limit}")

        def flag(given: bool) -> str:
            if not given:
                return sj.FALSE
            return sj.boolean(source.visible[1]()) if source.visible is not None else sj.TRUE

        def scan_end(descending: bool) -> str:
            """The cursor of the first or last row of the page, written for that row only."""
            by = f"{rows}.rn DESC" if descending else f"{rows}.rn"

            def end(column: str) -> str:
                return f"(array_agg({rows}.{column} ORDER BY {by}) FILTER (WHERE {kept()}))[1]"

            return sj.quoted(cursor_of(end(sort), end("id")))

        def node(fields: Sequence[Field]) -> str:
            return self.object(node_type, fields, rows)

        pairs: list[tuple[str, str]] = []
        for part in selections:
            if part.name == "__typename":
                pairs.append((part.key, sj.type_name(f"{node_type}Connection")))
            elif part.name == "nodes":
                pairs.append(
                    (part.key, sj.json_list(node(part.on(node_type)), in_list_order, kept()))
                )
            elif part.name == "edges":
                edge_pairs: list[tuple[str, str]] = []
                for edge_part in part.on(f"{node_type}Edge"):
                    if edge_part.name == "cursor":
                        edge_pairs.append((edge_part.key, sj.quoted(cursor)))
                    elif edge_part.name == "node":
                        edge_pairs.append((edge_part.key, node(edge_part.on(node_type))))
                    else:
                        edge_pairs.append((edge_part.key, sj.type_name(f"{node_type}Edge")))
                edges = sj.json_object(edge_pairs)
                pairs.append((part.key, sj.json_list(edges, in_list_order, kept())))
            elif part.name == "pageInfo":
                info: dict[str, Callable[[], str]] = {
                    "hasNextPage": (lambda: flag(page.before is not None)) if backward else more,
                    "hasPreviousPage": more if backward else (lambda: flag(page.after is not None)),
                    "startCursor": lambda: scan_end(descending=backward),
                    "endCursor": lambda: scan_end(descending=not backward),
                    "__typename": lambda: sj.type_name("PageInfo"),
                }
                chosen = [(p.key, info[p.name]()) for p in part.on("PageInfo")]
                pairs.append((part.key, sj.json_object(chosen)))
            elif part.name == "totalCount":
                assert source.count is not None  # noqa: S101 - with rows comes a count
                counted = source.count
                if source.visible is not None:
                    counted = counted.where(source.visible[0])
                pairs.append((part.key, sj.number(f"({self.sql.embed(counted)})")))
            else:
                raise Unsupported(f"{node_type}Connection.{part.name}")
        # HAVING makes it one aggregate row even when nothing aggregates (only totalCount).
        return f"(SELECT {sj.json_object(pairs)} FROM {numbered} HAVING true)"


def _empty_connection(node_type: str, selections: Sequence[Field]) -> str:
    """What a list the viewer may not see answers: nothing, on no page."""
    empty_info = {
        "hasNextPage": sj.FALSE,
        "hasPreviousPage": sj.FALSE,
        "startCursor": sj.NULL,
        "endCursor": sj.NULL,
        "__typename": sj.type_name("PageInfo"),
    }
    pairs: list[tuple[str, str]] = []
    for part in selections:
        if part.name == "__typename":
            pairs.append((part.key, sj.type_name(f"{node_type}Connection")))
        elif part.name in ("nodes", "edges"):
            pairs.append((part.key, sj.EMPTY_LIST))
        elif part.name == "pageInfo":
            info = [(p.key, empty_info[p.name]) for p in part.on("PageInfo")]
            pairs.append((part.key, sj.json_object(info)))
        else:  # totalCount
            pairs.append((part.key, "'0'"))
    return sj.json_object(pairs)


# --- Query -----------------------------------------------------------------------------------


def _me(b: Builder, field: Field) -> str:
    if b.viewer is None:
        return sj.NULL
    return b.one("User", field, "users", lambda u: f"{u}.id = {b.viewer_id()}")


def _product(b: Builder, field: Field) -> str:
    key = from_global_id(b.arguments(field)["id"], "Product")
    return _one_product(b, field, key)


def _one_product(b: Builder, field: Field, key: int) -> str:
    """A product of the catalogue; archived ones only for admins."""
    placeholder = b.sql.bind(key)
    live = "" if b.viewer and b.viewer.is_admin else " AND {row}.archived_at IS NULL"
    return b.one(
        "Product",
        field,
        "products",
        lambda p: f"{p}.id = {placeholder}" + live.format(row=p),
    )


def _order(b: Builder, field: Field) -> str:
    _signed_in(b)
    key = from_global_id(b.arguments(field)["id"], "Order")
    return _one_order(b, field, key)


def _one_order(b: Builder, field: Field, key: int) -> str:
    """The order, if the viewer may see it (their own; an admin's: any)."""
    placeholder = b.sql.bind(key)
    viewer = b.viewer
    assert viewer is not None  # noqa: S101 - checked by the callers
    own = "" if viewer.is_admin else f" AND {{row}}.customer_id = {b.viewer_id()}"
    return b.one("Order", field, "orders", lambda o: f"{o}.id = {placeholder}" + own.format(row=o))


def _node(b: Builder, field: Field) -> str:
    type_name, key = parse_global_id(b.arguments(field)["id"])
    viewer = b.viewer
    if type_name == "Product":
        return _one_product(b, field, key)
    if type_name not in ("User", "Order"):
        raise Unsupported(f"node of a {type_name}")  # webhooks: the standard executor
    if viewer is None or (type_name == "User" and not (viewer.is_admin or viewer.id == key)):
        return sj.NULL
    if type_name == "Order":
        return _one_order(b, field, key)
    placeholder = b.sql.bind(key)
    return b.one("User", field, "users", lambda u: f"{u}.id = {placeholder}")


def _products(b: Builder, field: Field) -> str:
    from schema.products import product_query

    args = b.arguments(field)
    query = product_query(args.get("filter"), args.get("sort"))
    page = PageRequest(args.get("first"), args.get("after"), args.get("last"), args.get("before"))
    if query.search is not None or query.min_price is not None or query.max_price is not None:
        b.generic_plan = False
    rows = products.filtered_products(query, b.settings.currency_digits)
    source = ListSource(
        rows=rows,
        count=counting(rows),
        sort=products.SORT_COLUMNS[query.sort],
        descending=query.descending,
        timestamp=query.sort is products.ProductSortField.CREATED_AT,
    )
    return b.connection(field, "Product", source, page)


def _orders(b: Builder, field: Field) -> str:
    from schema.orders import order_query

    viewer = _signed_in(b)
    args = b.arguments(field)
    page = PageRequest(args.get("first"), args.get("after"), args.get("last"), args.get("before"))
    query = order_query(args.get("filter"), args.get("sort"))
    return b.connection(field, "Order", _order_source(b, viewer, query), page)


def _order_source(b: Builder, viewer: Viewer | None, query: orders.OrderQuery) -> ListSource:
    if query.statuses or query.created_after is not None or query.created_before is not None:
        b.generic_plan = False
    rows = orders.visible_orders(viewer, query)
    return ListSource(
        rows=rows,
        count=counting(rows) if rows is not None else None,
        sort=orders.SORT_COLUMNS[query.sort],
        descending=query.descending,
        timestamp=query.sort is orders.OrderSortField.CREATED_AT,
    )


def _users(b: Builder, field: Field) -> str:
    from schema.users import _filter_args

    users.require_admin(b.viewer)
    args = b.arguments(field)
    page = PageRequest(first=args.get("first"), after=args.get("after"))
    filters = _filter_args(args.get("filter"))
    if any(value is not None for value in filters.values()):
        b.generic_plan = False
    rows = users.filtered_users(**filters)
    source = ListSource(
        rows=rows,
        count=counting(rows),
        sort=User.created_at,
        descending=True,
        timestamp=True,
    )
    return b.connection(field, "User", source, page)


def _signed_in(b: Builder) -> Viewer:
    if b.viewer is None:
        raise Fallback("not signed in")
    return b.viewer


ROOTS: dict[str, Callable[[Builder, Field], str]] = {
    "me": _me,
    "product": _product,
    "products": _products,
    "order": _order,
    "orders": _orders,
    "users": _users,
    "node": _node,
}


# --- object types ----------------------------------------------------------------------------


def _text(column: str) -> FieldSQL:
    return lambda b, field, row: sj.string(f"{row}.{column}")


def _int(column: str) -> FieldSQL:
    return lambda b, field, row: sj.number(f"{row}.{column}")


def _id(type_name: str) -> FieldSQL:
    return lambda b, field, row: sj.quoted(sj.global_id(type_name, f"{row}.id"))


def _datetime(column: str) -> FieldSQL:
    return lambda b, field, row: sj.quoted(sj.iso_datetime(f"{row}.{column}"))


def _money(minor: str, currency: Callable[[Builder, str], str]) -> FieldSQL:
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


def _visible_email(b: Builder, field: Field, row: str) -> str:
    """Null unless the viewer is this user or an admin."""
    return sj.string(f"CASE WHEN {b.can_see_email(f'{row}.id')} THEN {row}.email END")


def _user_orders(b: Builder, field: Field, row: str) -> str:
    """A user's orders: empty unless the viewer is this user or an admin."""
    from schema.orders import order_query

    args = b.arguments(field)
    page = PageRequest(first=args.get("first"), after=args.get("after"))
    # As for the standard resolver: the user's id, never the filter's customerId, chooses
    # whose orders (here the enclosing row's id, so the query itself names no customer).
    query = replace(
        order_query(args.get("filter"), args.get("sort"), customer_id=0), customer_id=None
    )
    viewer = b.viewer
    source = _order_source(b, viewer, query)
    if source.rows is None or source.count is None or viewer is None:
        return b.connection(field, "Order", source, page)
    # The user's row is in the enclosing query: named, so that it is not joined again.
    user_id: ColumnElement[Any] = literal_column(f"{row}.id", BigInteger)
    mine = Order.customer_id == user_id
    visible = None
    if not viewer.is_admin:
        visible = (user_id == viewer.id, lambda: f"{row}.id = {b.viewer_id()}")
    own = ListSource(
        source.rows.where(mine), source.count.where(mine), source.sort, source.descending,
        source.timestamp, visible,
    )  # fmt: skip
    return b.connection(field, "Order", own, page)


def _order_items(b: Builder, field: Field, row: str) -> str:
    currency = sj.string(f"{row}.currency")  # the lines' amounts are in the order's currency

    def money(column: str) -> FieldSQL:
        return _money(column, lambda _b, _r: currency)

    def line(b: Builder, fields: Sequence[Field], item: str) -> str:
        table: dict[str, FieldSQL] = {
            "productName": _text("product_name"),
            "quantity": _int("quantity"),
            "unitPrice": money("unit_price_minor"),
            "subtotal": money("subtotal_minor"),
            "product": lambda b, f, i: b.one(
                "Product", f, "products", lambda p: f"{p}.id = {i}.product_id"
            ),
        }
        pairs: list[tuple[str, str]] = []
        for part in fields:
            if part.name == "__typename":
                pairs.append((part.key, sj.type_name("OrderItem")))
            elif part.name in table:
                pairs.append((part.key, table[part.name](b, part, item)))
            else:
                raise Unsupported(f"OrderItem.{part.name}")
        return sj.json_object(pairs)

    item = b.sql.name()
    built = line(b, field.on("OrderItem"), item)
    listed = sj.json_list(built, f"{item}.product_id")
    return f"(SELECT {listed} FROM order_items AS {item} WHERE {item}.order_id = {row}.id)"


def _client_secret(b: Builder, field: Field, row: str) -> str:
    """For the order's customer only (`resolvers.payments.client_secret_for`)."""
    if b.viewer is None:
        return sj.NULL
    o = b.sql.name()
    customer = f"(SELECT {o}.customer_id FROM orders AS {o} WHERE {o}.id = {row}.order_id)"
    return sj.string(f"CASE WHEN {customer} = {b.viewer_id()} THEN {row}.client_secret END")


OBJECTS: dict[str, dict[str, FieldSQL]] = {
    "Product": {
        "id": _id("Product"),
        "name": _text("name"),
        "description": _text("description"),
        "price": _money("price_minor", lambda b, row: sj.type_name(b.settings.currency)),
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
        "total": _money("total_minor", lambda b, row: sj.string(f"{row}.currency")),
        "createdAt": _datetime("created_at"),
        "updatedAt": _datetime("updated_at"),
        "customer": lambda b, f, row: b.one(
            "User", f, "users", lambda u: f"{u}.id = {row}.customer_id"
        ),
        "items": _order_items,
        "events": lambda b, f, row: b.listed(
            "OrderEvent", f, "order_events", lambda e: f"{e}.order_id = {row}.id", "at,id"
        ),
        "payment": lambda b, f, row: b.one(
            "Payment", f, "payments", lambda p: f"{p}.order_id = {row}.id"
        ),
    },
    "Payment": {
        "id": _id("Payment"),
        "status": _text("status"),
        "amount": _money("amount_minor", lambda b, row: sj.string(f"{row}.currency")),
        "provider": _text("provider"),
        "providerReference": _text("provider_reference"),
        "clientSecret": _client_secret,
        "createdAt": _datetime("created_at"),
        "updatedAt": _datetime("updated_at"),
    },
    "OrderEvent": {
        "fromStatus": _text("from_status"),
        "toStatus": _text("to_status"),
        "at": _datetime("at"),
        "note": _text("note"),
        "actor": lambda b, f, row: b.one("User", f, "users", lambda u: f"{u}.id = {row}.actor_id"),
    },
}
