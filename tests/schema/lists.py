"""Arguments of the list fields (`products`, `orders`, `users`, `User.orders`): page sizes,
real and broken cursors, every filter field and every sort."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLField, GraphQLInputObjectType, GraphQLSchema

from tests.schema.arguments import (
    BAD_DECIMALS,
    BAD_SEARCHES,
    BAD_TIMES,
    DECIMALS,
    FIXED_TIMES,
    SEARCHES,
    STATUSES,
    Draws,
    Name,
    Var,
)

DEFAULT_PAGE = 20
MAX_PAGE = 100
SORTS = {
    "products": ("ProductSort", ("NAME", "PRICE", "CREATED_AT")),
    "orders": ("OrderSort", ("CREATED_AT", "TOTAL")),
}
MODES = (
    (25, "none"), (25, "first"), (15, "first-after"), (5, "after"), (10, "last"),
    (8, "last-before"), (3, "before"), (5, "first-last"), (3, "first-before"),
    (3, "last-after"), (3, "after-before"),
)  # fmt: skip
Arguments = list[tuple[str, Any]]


def list_arguments(
    d: Draws, schema: GraphQLSchema, field: GraphQLField, kind: str, limit: int
) -> tuple[Arguments, int]:
    """The arguments of one list field, and the page size the cost limit counts for it.

    `limit` is the largest page size the cost budget allows here.
    """
    sort_field, sort = _sort(d, schema, kind) if "sort" in field.args else ("CREATED_AT", None)
    modes = [
        (weight, mode)
        for weight, mode in MODES
        if all(part in field.args for part in mode.split("-") if part != "none")
        and (limit >= DEFAULT_PAGE or "first" in mode or "last" in mode)
    ]
    mode = d.choose(modes)
    d.feature(f"page-{mode}")
    arguments: Arguments = []
    for part in mode.split("-"):
        if part in ("first", "last"):
            size = d.page_size(limit)
            variable_ok = limit >= MAX_PAGE
            arguments.append((part, d.bind(field.args[part].type, size, 20 if variable_ok else 0)))
        elif part in ("after", "before"):
            own, others = _cursors(d, kind, sort_field)
            arguments.append((part, d.bind(field.args[part].type, d.cursor(own, others))))
    if "filter" in field.args and d.chance(55):
        arguments.append(("filter", d.bind(field.args["filter"].type, _filter(d, schema, kind))))
    if sort is not None:
        arguments.append(("sort", d.bind(field.args["sort"].type, sort)))
    if len(arguments) > 1 and d.chance(15):
        d.feature("arguments-reordered")
        arguments.reverse()
    return arguments, _counted_size(arguments)


def _counted_size(arguments: Arguments) -> int:
    """The page size `schema.limits` counts: the first `first`/`last`, clamped."""
    for name, value in arguments:
        if name in ("first", "last"):
            return MAX_PAGE if isinstance(value, Var) else max(1, min(value, MAX_PAGE))
    return DEFAULT_PAGE


def _sort(d: Draws, schema: GraphQLSchema, kind: str) -> tuple[str, Any]:
    _, fields = SORTS[kind]
    shape = d.choose([(30, "none"), (8, "empty"), (15, "field"), (10, "direction"), (37, "both")])
    field = d.pick(fields) if shape in ("field", "both") else "CREATED_AT"
    direction = d.pick(("ASC", "DESC")) if shape in ("direction", "both") else "DESC"
    d.feature(f"sort-{kind}-{field}-{direction}")
    if shape == "none":
        return field, None
    value: dict[str, Any] = {}
    if shape in ("field", "both"):
        value["field"] = Name(field)
    if shape in ("direction", "both"):
        value["direction"] = Name(direction)
    return field, value


def _cursors(d: Draws, kind: str, sort_field: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cursors of this list in this sort, and cursors of other sorts and other lists."""
    pools = d.pools
    by_sort = {
        "products": pools.product_cursors,
        "orders": pools.order_cursors,
        "users": {"CREATED_AT": pools.user_cursors},
    }
    own = by_sort[kind][sort_field]
    others = tuple(
        cursor
        for list_kind, sorts in by_sort.items()
        for name, cursors in sorts.items()
        if (list_kind, name) != (kind, sort_field)
        for cursor in cursors[:3]
    )
    return own, others


def _filter(d: Draws, schema: GraphQLSchema, kind: str) -> dict[str, Any]:
    type_name = {"products": "ProductFilter", "orders": "OrderFilter", "users": "UserFilter"}[kind]
    input_type = schema.get_type(type_name)
    assert isinstance(input_type, GraphQLInputObjectType)
    value: dict[str, Any] = {}
    for name, input_field in input_type.fields.items():
        if d.chance(35):
            d.feature(f"filter-{kind}-{name}")
            value[name] = d.bind(input_field.type, _filter_value(d, name), 15)
    if not value:
        d.feature("filter-empty")
    return value


def _filter_value(d: Draws, name: str) -> Any:
    pools = d.pools
    if name == "search":
        return d.value(SEARCHES, BAD_SEARCHES, "search")
    if name in ("minPrice", "maxPrice"):
        return d.value(DECIMALS, BAD_DECIMALS, "decimal")
    if name == "inStock":
        return d.pick((True, False, None))
    if name == "role":
        return d.pick((Name("CLIENT"), Name("ADMIN"), None))
    if name == "status":
        shape = d.choose([(30, 1), (20, 2), (10, 0), (10, -1), (10, 5), (5, -2), (5, None)])
        if shape is None:
            return None
        if shape == -1:
            return Name(d.pick(STATUSES))  # a single value stands for a list of one
        if shape == -2:
            return [Name("PAID"), Name("PAID")]
        start = STATUSES.index(d.pick(STATUSES))
        return [Name(STATUSES[(start + i) % len(STATUSES)]) for i in range(shape)]
    if name in ("createdAfter", "createdBefore"):
        return d.value(pools.timestamps + FIXED_TIMES, BAD_TIMES, "time")
    if name == "customerId":
        return d.object_id("User")
    raise AssertionError(f"no values for filter field {name}")


def cost_limit(remaining: int, multiplier: int) -> int:
    """The largest page size whose rows (a few fields each) still fit in the budget."""
    return max(0, min(MAX_PAGE + 1, remaining // max(1, 4 * multiplier)))
