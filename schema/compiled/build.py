"""A resolved plan as one SELECT whose single value is the response's `data` as JSON text.

Lists and their filters, sorts, cursors and visibility come from the same `resolvers/`
functions the standard executor calls, so both paths select the same rows; argument
values are converted by Strawberry exactly as for a resolver. Anything that would answer
with an error (a bad argument, a missing session, a wrong role) raises `Fallback` before
any SQL runs, and the standard executor gives the answer.

Where a field's SQL lives: `ROOTS` below for the fields of `Query`; for the fields of each
object type, next to the Strawberry type (`schema/<area>.py`): a plain column by convention,
anything else as the field's metadata, read from the schema once per schema
(`schema.compiled.fields`). A field with no SQL makes its documents fall back, never fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import ColumnElement, Select
from strawberry import Schema
from strawberry.types.arguments import convert_arguments

from auth.viewer import Viewer
from db.models import User
from domain.errors import OrderlyError
from resolvers import orders, products, users
from resolvers.ids import from_global_id, parse_global_id
from resolvers.pagination import PageRequest, counting, keyset_page
from schema.compiled import sqljson as sj
from schema.compiled.fields import ObjectSQL, object_types
from schema.compiled.plan import Field, Unsupported
from schema.compiled.sqltext import Placeholder, Statement
from settings import Settings


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
        self.types = object_types(schema)  # read from the schema once, then remembered
        self.strict = strict  # domain errors propagate instead of falling back
        self.literal_arguments = literal_arguments
        self.settings = settings
        self.viewer = viewer
        self.variables = variables
        self.sql = Statement()
        # The alias of the row each related row was read for (`one`, `listed`).
        self.enclosing: dict[str, str] = {}
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

    def _type(self, type_name: str) -> ObjectSQL:
        written = self.types.get(type_name)
        if written is None:
            raise Unsupported(type_name)
        return written

    def object(self, type_name: str, fields: Sequence[Field], row: str) -> str:
        """The JSON object of type `type_name` for the row `row` of this statement."""
        table = self._type(type_name).fields
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

    def one(
        self,
        type_name: str,
        field: Field,
        where: Callable[[str], str],
        *,
        enclosing: str | None = None,
    ) -> str:
        """The `type_name` object whose row matches `where`, or JSON null; `enclosing` is the
        row it is read for, if any."""
        table, row = self._type(type_name).table, self.sql.name()
        if enclosing is not None:
            self.enclosing[row] = enclosing
        found = self.object(type_name, field.on(type_name), row)
        return sj.nullable(f"(SELECT {found} FROM {table} AS {row} WHERE {where(row)})")

    def listed(
        self,
        type_name: str,
        field: Field,
        where: Callable[[str], str],
        order: Sequence[str],
        *,
        enclosing: str,
    ) -> str:
        """The `type_name` objects whose rows match `where`, as a list ordered by the columns
        `order`, read for the row `enclosing`."""
        table, row = self._type(type_name).table, self.sql.name()
        self.enclosing[row] = enclosing
        item = self.object(type_name, field.on(type_name), row)
        ordered = ", ".join(f"{row}.{column}" for column in order)
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

    def order_source(self, query: orders.OrderQuery) -> ListSource:
        """The orders of `query` the viewer may see."""
        if query.statuses or query.created_after is not None or query.created_before is not None:
            self.generic_plan = False
        rows = orders.visible_orders(self.viewer, query)
        return ListSource(
            rows=rows,
            count=counting(rows) if rows is not None else None,
            sort=orders.SORT_COLUMNS[query.sort],
            descending=query.descending,
            timestamp=query.sort is orders.OrderSortField.CREATED_AT,
        )

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
    return b.one("User", field, lambda u: f"{u}.id = {b.viewer_id()}")


def _product(b: Builder, field: Field) -> str:
    key = from_global_id(b.arguments(field)["id"], "Product")
    return _one_product(b, field, key)


def _one_product(b: Builder, field: Field, key: int) -> str:
    """A product of the catalogue; archived ones only for admins."""
    placeholder = b.sql.bind(key)
    live = "" if b.viewer and b.viewer.is_admin else " AND {row}.archived_at IS NULL"
    return b.one("Product", field, lambda p: f"{p}.id = {placeholder}" + live.format(row=p))


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
    return b.one("Order", field, lambda o: f"{o}.id = {placeholder}" + own.format(row=o))


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
    return b.one("User", field, lambda u: f"{u}.id = {placeholder}")


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

    _signed_in(b)
    args = b.arguments(field)
    page = PageRequest(args.get("first"), args.get("after"), args.get("last"), args.get("before"))
    query = order_query(args.get("filter"), args.get("sort"))
    return b.connection(field, "Order", b.order_source(query), page)


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
