"""Orders: the types, the queries, and placing and moving orders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from auth.viewer import Role
from db.models import Order as OrderRow
from db.models import OrderEvent as OrderEventRow
from db.models import OrderItem as OrderItemRow
from db.models import Product as ProductRow
from db.models import User as UserRow
from domain.codes import OrderStatus
from resolvers import checkout, fulfilment, orders
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import PageRequest
from resolvers.users import users_by_ids
from schema.compiled.fields import (
    compiled_from,
    enclosing_currency,
    listed,
    money_from,
    one,
    row_currency,
    sql,
)
from schema.connection import Connection, counter, to_connection
from schema.context import Context
from schema.errors import UserError, in_transaction
from schema.money import Money, money
from schema.node import Node
from schema.payments import Payment
from schema.permissions import authenticated, requires_role
from schema.products import Product
from schema.selection import deferred, selected_names
from schema.sorting import SortDirection
from schema.users import User

OrderSortField = strawberry.enum(orders.OrderSortField, name="OrderSortField")


strawberry.enum(OrderStatus, name="OrderStatus")  # the domain's enum, as a GraphQL type


@dataclass(frozen=True, slots=True)
class Preloaded:
    """Relations of a page of orders, loaded in batches before the fields resolve.

    None means "not loaded": the field then falls back to its dataloader.
    """

    users: dict[int, UserRow] | None = None
    lines: dict[int, list[orders.Line]] | None = None
    events: dict[int, list[OrderEventRow]] | None = None

    def user(self, key: int) -> UserRow | None:
        return self.users.get(key) if self.users is not None else None


NOTHING_PRELOADED = Preloaded()


async def preload(db: AsyncSession, rows: Sequence[OrderRow], wanted: set[str]) -> Preloaded:
    """One query per relation the selection names, for all `rows` at once."""
    ids = [row.id for row in rows]
    if not ids:
        return NOTHING_PRELOADED
    events = lines = None
    if "events" in wanted:
        events = dict(zip(ids, await orders.events_by_order_ids(ids, db=db), strict=True))
    if "items" in wanted:
        lines = dict(zip(ids, await orders.lines_by_order_ids(ids, db=db), strict=True))
    user_ids = {row.customer_id for row in rows} if "customer" in wanted else set()
    if events is not None and "actor" in wanted:
        user_ids |= {e.actor_id for group in events.values() for e in group if e.actor_id}
    users = None
    if user_ids:
        found = await users_by_ids(sorted(user_ids), db=db)
        users = {user.id: user for user in found if user is not None}
    return Preloaded(users=users, lines=lines, events=events)


async def _user(info: Info[Context, None], key: int) -> User:
    row = await info.context.loaders.user_by_id.load(key)
    assert row is not None  # noqa: S101 - users are never deleted (RESTRICT / SET NULL)
    return User.from_row(row)


@compiled_from(OrderItemRow)
@strawberry.type
class OrderItem:
    product_row: strawberry.Private[ProductRow]
    product_name: str
    # A line's amounts are in its order's currency (the row its list is read for).
    unit_price: Money = strawberry.field(
        metadata=sql(money_from("unit_price_minor", enclosing_currency))
    )
    quantity: int
    subtotal: Money = strawberry.field(
        metadata=sql(money_from("subtotal_minor", enclosing_currency))
    )

    @strawberry.field(
        description="The live product (it may have been archived since).",
        metadata=sql(one("Product", match=("id", "product_id"))),
    )
    def product(self, info: Info[Context, None]) -> Product:
        return Product.from_row(self.product_row, info.context)

    @classmethod
    def from_line(cls, line: orders.Line, currency: str, ctx: Context) -> OrderItem:
        settings, item = ctx.app.settings, line.item
        return cls(
            product_row=line.product,
            product_name=item.product_name,
            unit_price=money(item.unit_price_minor, currency, settings),
            quantity=item.quantity,
            subtotal=money(item.subtotal_minor, currency, settings),
        )


@compiled_from(OrderEventRow)
@strawberry.type
class OrderEvent:
    actor_key: strawberry.Private[int | None]
    preloaded: strawberry.Private[Preloaded]
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    note: str | None

    @strawberry.field(
        description="Who caused it.", metadata=sql(one("User", match=("id", "actor_id")))
    )
    def actor(self, info: Info[Context, None]) -> User | None:
        if self.actor_key is None:
            return None
        row = self.preloaded.user(self.actor_key)
        return User.from_row(row) if row else deferred(_user(info, self.actor_key))

    @classmethod
    def from_row(cls, row: OrderEventRow, preloaded: Preloaded) -> OrderEvent:
        return cls(
            actor_key=row.actor_id,
            preloaded=preloaded,
            from_status=OrderStatus(row.from_status) if row.from_status else None,
            to_status=OrderStatus(row.to_status),
            at=row.at,
            note=row.note,
        )


@compiled_from(OrderRow)
@strawberry.type
class Order(Node):
    key: strawberry.Private[int]
    customer_key: strawberry.Private[int]
    currency: strawberry.Private[str]
    preloaded: strawberry.Private[Preloaded]
    status: OrderStatus
    total: Money = strawberry.field(metadata=sql(money_from("total_minor", row_currency)))
    created_at: datetime
    updated_at: datetime

    @strawberry.field(metadata=sql(one("User", match=("id", "customer_id"))))
    def customer(self, info: Info[Context, None]) -> User:
        row = self.preloaded.user(self.customer_key)
        return User.from_row(row) if row else deferred(_user(info, self.customer_key))

    @strawberry.field(
        metadata=sql(listed("OrderItem", match=("order_id", "id"), order=("product_id",)))
    )
    def items(self, info: Info[Context, None]) -> list[OrderItem]:
        lines = self.preloaded.lines
        if lines is None:
            return deferred(self._load_items(info))
        return [OrderItem.from_line(line, self.currency, info.context) for line in lines[self.key]]

    async def _load_items(self, info: Info[Context, None]) -> list[OrderItem]:
        lines = await info.context.loaders.lines_by_order_id.load(self.key)
        return [OrderItem.from_line(line, self.currency, info.context) for line in lines]

    @strawberry.field(
        description="The status history, oldest first, starting with creation.",
        metadata=sql(listed("OrderEvent", match=("order_id", "id"), order=("at", "id"))),
    )
    def events(self, info: Info[Context, None]) -> list[OrderEvent]:
        events = self.preloaded.events
        if events is None:
            return deferred(self._load_events(info))
        return [OrderEvent.from_row(row, self.preloaded) for row in events[self.key]]

    async def _load_events(self, info: Info[Context, None]) -> list[OrderEvent]:
        rows = await info.context.loaders.events_by_order_id.load(self.key)
        return [OrderEvent.from_row(row, NOTHING_PRELOADED) for row in rows]

    @strawberry.field(
        description="The payment through the provider; null until one is started.",
        metadata=sql(one("Payment", match=("order_id", "id"))),
    )
    async def payment(self, info: Info[Context, None]) -> Payment | None:
        row = await info.context.loaders.payment_by_order_id.load(self.key)
        return Payment.from_row(row, info.context, self.customer_key) if row else None

    @classmethod
    def from_row(
        cls, row: OrderRow, ctx: Context, preloaded: Preloaded = NOTHING_PRELOADED
    ) -> Order:
        return cls(
            id=strawberry.ID(to_global_id("Order", row.id)),
            key=row.id,
            customer_key=row.customer_id,
            currency=row.currency,
            preloaded=preloaded,
            status=OrderStatus(row.status),
            total=money(row.total_minor, row.currency, ctx.app.settings),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.input
class OrderFilter:
    status: list[OrderStatus] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    customer_id: strawberry.ID | None = None


@strawberry.input
class OrderSort:
    field: OrderSortField = orders.OrderSortField.CREATED_AT  # type: ignore[valid-type]
    direction: SortDirection = SortDirection.DESC


@strawberry.input
class OrderItemInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class PlaceOrderInput:
    items: list[OrderItemInput]
    idempotency_key: str | None = None


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]


def order_query(
    filter: OrderFilter | None, sort: OrderSort | None, *, customer_id: int | None = None
) -> orders.OrderQuery:
    f = filter or OrderFilter()
    s = sort or OrderSort()
    if customer_id is None and f.customer_id is not None:
        customer_id = from_global_id(f.customer_id, "User")
    return orders.OrderQuery(
        statuses=tuple(status.value for status in f.status) if f.status else None,
        created_after=f.created_after, created_before=f.created_before,
        customer_id=customer_id, sort=s.field, descending=s.direction is SortDirection.DESC,
    )  # fmt: skip


async def order_connection(
    info: Info[Context, None], query: orders.OrderQuery, page: PageRequest
) -> Connection[Order]:
    """A page of orders with the relations the query selects loaded up front."""
    ctx = info.context
    async with ctx.app.reads() as db:
        result = await orders.list_orders(db=db, viewer=ctx.viewer, query=query, page=page)
        preloaded = await preload(db, result.rows, selected_names(info))
    count = counter(
        ctx.app.reads, lambda db: orders.count_orders(db=db, viewer=ctx.viewer, query=query)
    )
    return to_connection(result, lambda row: Order.from_row(row, ctx, preloaded), count)


@strawberry.type
class OrderQueries:
    @strawberry.field(extensions=authenticated(), description="Your order (admins: any order).")
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        ctx = info.context
        async with ctx.app.reads() as db:
            row = await orders.get_order(
                db=db, viewer=ctx.viewer, order_id=from_global_id(id, "Order")
            )
        return Order.from_row(row, ctx) if row else None

    @strawberry.field(extensions=authenticated(), description="Your orders (admins: all).")
    async def orders(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: OrderFilter | None = None,
        sort: OrderSort | None = None,
    ) -> Connection[Order]:
        page = PageRequest(first, after, last, before)
        return await order_connection(info, order_query(filter, sort), page)


async def _order_payload(
    info: Info[Context, None], change: Callable[[AsyncSession], Awaitable[OrderRow]]
) -> OrderPayload:
    """Run `change` in one transaction and build the payload from what that transaction
    read: once it commits, no later read can turn the answer into a failure."""
    ctx = info.context
    wanted = selected_names(info)

    async def change_and_preload(db: AsyncSession) -> tuple[OrderRow, Preloaded]:
        row = await change(db)
        return row, await preload(db, [row], wanted)

    result, errors = await in_transaction(ctx.app.sessions, change_and_preload)
    if result is None:
        return OrderPayload(order=None, user_errors=errors)
    row, preloaded = result
    return OrderPayload(order=Order.from_row(row, ctx, preloaded), user_errors=errors)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(extensions=authenticated())
    async def place_order(self, info: Info[Context, None], input: PlaceOrderInput) -> OrderPayload:
        ctx = info.context
        viewer = ctx.viewer
        assert viewer is not None  # noqa: S101 - @authenticated
        lines = [
            checkout.LineRequest(from_global_id(item.product_id, "Product"), item.quantity)
            for item in input.items
        ]

        async def place(db: AsyncSession) -> OrderRow:
            placed = await checkout.place_order(
                db=db, customer=viewer, items=lines, idempotency_key=input.idempotency_key,
                currency=ctx.app.settings.currency,
            )  # fmt: skip
            return placed.order

        return await _order_payload(info, place)

    @strawberry.mutation(extensions=authenticated())
    async def cancel_order(
        self, info: Info[Context, None], id: strawberry.ID, reason: str | None = None
    ) -> OrderPayload:
        ctx = info.context
        viewer = ctx.viewer
        assert viewer is not None  # noqa: S101 - @authenticated
        order_id = from_global_id(id, "Order")
        return await _order_payload(
            info,
            lambda db: fulfilment.cancel_order(
                db=db, viewer=viewer, order_id=order_id, reason=reason, provider=ctx.app.payments
            ),
        )

    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def update_order_status(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        status: OrderStatus,
        note: str | None = None,
    ) -> OrderPayload:
        ctx = info.context
        order_id = from_global_id(id, "Order")
        return await _order_payload(
            info,
            lambda db: fulfilment.update_order_status(
                db=db,
                viewer=ctx.viewer,
                order_id=order_id,
                status=status.value,
                note=note,
                provider=ctx.app.payments,
            ),
        )
