"""Rows as REST objects, the same shapes GraphQL gives them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Order, OrderEvent, Payment, Product, User
from resolvers.ids import to_global_id
from resolvers.money import from_minor
from resolvers.orders import Line, events_by_order_ids, lines_by_order_ids
from resolvers.payments import client_secret_for, payments_by_order_ids
from resolvers.users import can_see_email, users_by_ids
from rest.models import (
    MoneyOut,
    OrderEventOut,
    OrderItemOut,
    OrderOut,
    PaymentOut,
    ProductOut,
    UserOut,
)
from settings import Settings


def money(minor: int, currency: str, settings: Settings) -> MoneyOut:
    return MoneyOut(amount=str(from_minor(minor, settings.currency_digits)), currency=currency)


def user_out(user: User, viewer: Viewer | None, *, show_email: bool = False) -> UserOut:
    visible = show_email or can_see_email(viewer, user.id)
    return UserOut(
        id=to_global_id("User", user.id),
        email=user.email if visible else None,
        name=user.name,
        role=user.role,  # type: ignore[arg-type]
        created_at=user.created_at,
    )


def product_out(product: Product, settings: Settings) -> ProductOut:
    return ProductOut(
        id=to_global_id("Product", product.id),
        name=product.name,
        description=product.description,
        price=money(product.price_minor, settings.currency, settings),
        stock=product.stock,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


async def orders_out(
    db: AsyncSession, orders: Sequence[Order], viewer: Viewer | None, settings: Settings
) -> list[OrderOut]:
    """Orders with their lines, events, customers and products, loaded in batches."""
    ids = [order.id for order in orders]
    lines = await lines_by_order_ids(ids, db=db)
    events = await events_by_order_ids(ids, db=db)
    payments = await payments_by_order_ids(ids, db=db)
    user_ids = sorted(
        {o.customer_id for o in orders}
        | {e.actor_id for group in events for e in group if e.actor_id is not None}
    )
    users = dict(zip(user_ids, await users_by_ids(user_ids, db=db), strict=True))
    result = []
    for order, order_lines, history, payment in zip(orders, lines, events, payments, strict=True):
        customer = users[order.customer_id]
        assert customer is not None  # noqa: S101 - RESTRICT keeps customers
        result.append(
            OrderOut(
                id=to_global_id("Order", order.id),
                status=order.status,  # type: ignore[arg-type]
                customer=user_out(customer, viewer),
                items=[_item(line, order.currency, settings) for line in order_lines],
                total=money(order.total_minor, order.currency, settings),
                created_at=order.created_at,
                updated_at=order.updated_at,
                events=[_event(event, users, viewer) for event in history],
                payment=payment_out(payment, order.customer_id, viewer, settings)
                if payment
                else None,
            )
        )
    return result


def payment_out(
    payment: Payment, customer_id: int, viewer: Viewer | None, settings: Settings
) -> PaymentOut:
    return PaymentOut(
        id=to_global_id("Payment", payment.id),
        status=payment.status,  # type: ignore[arg-type]
        amount=money(payment.amount_minor, payment.currency, settings),
        provider=payment.provider,
        provider_reference=payment.provider_reference,
        client_secret=client_secret_for(viewer, customer_id, payment),
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )


def _item(line: Line, currency: str, settings: Settings) -> OrderItemOut:
    item = line.item
    return OrderItemOut(
        product=product_out(line.product, settings),
        product_name=item.product_name,
        unit_price=money(item.unit_price_minor, currency, settings),
        quantity=item.quantity,
        subtotal=money(item.subtotal_minor, currency, settings),
    )


def _event(
    event: OrderEvent, users: dict[int, User | None], viewer: Viewer | None
) -> OrderEventOut:
    actor = users.get(event.actor_id) if event.actor_id is not None else None
    return OrderEventOut(
        from_status=event.from_status,  # type: ignore[arg-type]
        to_status=event.to_status,  # type: ignore[arg-type]
        actor=user_out(actor, viewer) if actor else None,
        at=event.at,
        note=event.note,
    )
