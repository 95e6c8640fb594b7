"""Reading orders: one order, lists, and the batches behind the order's relations.

Customers see their own orders only; admins see every order. An order the viewer may not
see is indistinguishable from one that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import Select, Text, any_, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Order, OrderEvent, OrderItem, Product
from resolvers.pagination import Page, PageRequest, counting, fetch_page
from resolvers.timestamps import to_utc


class OrderSortField(Enum):
    CREATED_AT = "CREATED_AT"
    TOTAL = "TOTAL"


SORT_COLUMNS = {
    OrderSortField.CREATED_AT: Order.created_at,
    OrderSortField.TOTAL: Order.total_minor,
}


@dataclass(frozen=True, slots=True)
class OrderQuery:
    statuses: tuple[str, ...] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    customer_id: int | None = None
    sort: OrderSortField = OrderSortField.CREATED_AT
    descending: bool = True


def visible_to(viewer: Viewer | None, order: Order) -> bool:
    return viewer is not None and (viewer.is_admin or order.customer_id == viewer.id)


async def get_order(*, db: AsyncSession, viewer: Viewer | None, order_id: int) -> Order | None:
    """The order, if the viewer may see it."""
    order = await db.get(Order, order_id)
    return order if order is not None and visible_to(viewer, order) else None


def visible_orders(viewer: Viewer | None, query: OrderQuery) -> Select[Order] | None:
    """The orders `viewer` may see that match `query`, unordered; None when none can match."""
    if viewer is None:
        return None
    statement = select(Order)
    if not viewer.is_admin:
        if query.customer_id is not None and query.customer_id != viewer.id:
            return None
        statement = statement.where(Order.customer_id == viewer.id)
    elif query.customer_id is not None:
        statement = statement.where(Order.customer_id == query.customer_id)
    if query.statuses:
        # One array parameter, however many statuses: the statement's text stays the same.
        statuses = literal(list(query.statuses), ARRAY(Text))
        statement = statement.where(Order.status == any_(statuses))
    if query.created_after is not None:
        statement = statement.where(Order.created_at >= to_utc(query.created_after, "createdAfter"))
    if query.created_before is not None:
        statement = statement.where(
            Order.created_at < to_utc(query.created_before, "createdBefore")
        )
    return statement


async def list_orders(
    *, db: AsyncSession, viewer: Viewer | None, query: OrderQuery, page: PageRequest
) -> Page[Order]:
    """The orders the viewer may see (their own; an admin's: all), filtered and sorted."""
    page.size()  # validate the page request even when the list is empty
    statement = visible_orders(viewer, query)
    if statement is None:
        return Page([], [], has_next_page=False, has_previous_page=False)
    column = SORT_COLUMNS[query.sort]
    return await fetch_page(
        statement,
        db=db,
        sort_column=column,
        id_column=Order.id,
        descending=query.descending,
        page=page,
        timestamp=query.sort is OrderSortField.CREATED_AT,
    )


async def count_orders(*, db: AsyncSession, viewer: Viewer | None, query: OrderQuery) -> int:
    """How many orders `list_orders` would list across all pages."""
    statement = visible_orders(viewer, query)
    if statement is None:
        return 0
    counted = counting(statement)
    return int(await db.scalar(counted) or 0)


@dataclass(frozen=True, slots=True)
class Line:
    """An order line with the live product it was ordered from."""

    item: OrderItem
    product: Product


async def lines_by_order_ids(ids: Sequence[int], *, db: AsyncSession) -> list[list[Line]]:
    """The lines of each order with their products (one query), in product id order."""
    rows = await db.execute(
        select(OrderItem, Product)
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id.in_(ids))
        .order_by(OrderItem.order_id, OrderItem.product_id)
    )
    grouped: dict[int, list[Line]] = defaultdict(list)
    for item, product in rows:
        grouped[item.order_id].append(Line(item, product))
    return [grouped.get(key, []) for key in ids]


async def events_by_order_ids(ids: Sequence[int], *, db: AsyncSession) -> list[list[OrderEvent]]:
    """The status history of each order, oldest first."""
    rows = await db.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id.in_(ids))
        .order_by(OrderEvent.order_id, OrderEvent.at, OrderEvent.id)
    )
    grouped: dict[int, list[OrderEvent]] = defaultdict(list)
    for row in rows:
        grouped[row.order_id].append(row)
    return [grouped.get(key, []) for key in ids]
