"""Moving orders through their lifecycle, each move a compare-and-set with its event.

PENDING → PAID → SHIPPED → DELIVERED;  PENDING → CANCELLED;  PAID → CANCELLED
"""

from __future__ import annotations

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Order, OrderEvent
from domain.codes import ErrorCode
from domain.errors import BusinessError, Problem
from resolvers.input_rules import NOTE
from resolvers.payment_provider import PaymentProvider
from resolvers.payments import settle_cancelled_order
from resolvers.stock import restock_orders
from resolvers.users import require_admin

# The one status each forward move starts from.
FORWARD_FROM = {"PAID": "PENDING", "SHIPPED": "PAID", "DELIVERED": "SHIPPED"}
CANCELLABLE_BY_ADMIN = ("PENDING", "PAID")
CANCELLABLE_BY_CUSTOMER = ("PENDING",)
MAX_NOTE = NOTE.max_length

_MOVE = text("""
    UPDATE orders AS o SET status = :to_status, updated_at = now()
    FROM (SELECT id, status FROM orders WHERE id = :id FOR UPDATE) AS old
    WHERE o.id = old.id AND old.status = ANY(CAST(:allowed AS text[]))
      AND (CAST(:customer_id AS bigint) IS NULL OR o.customer_id = :customer_id)
    RETURNING old.status AS from_status
""")


def _note(note: str | None, field: str) -> str | None:
    """A note or reason as stored: trimmed, None when blank (`input_rules.NOTE`)."""
    if note is None:
        return None
    if not NOTE.accepts(note):
        raise BusinessError.one(
            ErrorCode.INVALID_INPUT, f"At most {MAX_NOTE} characters, none of them NUL.", [field]
        )
    return note.strip() or None


async def _move(
    *,
    db: AsyncSession,
    order_id: int,
    to_status: str,
    allowed: tuple[str, ...],
    actor: Viewer,
    customer_id: int | None,
    note: str | None,
) -> Order:
    moved = await db.scalar(
        _MOVE,
        {
            "id": order_id,
            "to_status": to_status,
            "allowed": list(allowed),
            "customer_id": customer_id,
        },
    )
    if moved is None:
        current = await db.scalar(select(Order.status).where(Order.id == order_id))
        if current is None or (
            customer_id is not None and not await _owns(order_id, customer_id, db=db)
        ):
            raise BusinessError.one(ErrorCode.NOT_FOUND, "No such order.", ["id"])
        raise BusinessError(
            [
                Problem(
                    ErrorCode.INVALID_TRANSITION,
                    f"An order cannot move from {current} to {to_status}.",
                    ("status",),
                )
            ]
        )
    if to_status == "CANCELLED":
        await restock_orders([order_id], db=db)
    await db.execute(
        insert(OrderEvent).values(
            order_id=order_id, from_status=moved, to_status=to_status, actor_id=actor.id, note=note
        )
    )
    order = await db.get(Order, order_id, populate_existing=True)
    assert order is not None  # noqa: S101 - just updated
    return order


async def _owns(order_id: int, customer_id: int, *, db: AsyncSession) -> bool:
    owner = await db.scalar(select(Order.customer_id).where(Order.id == order_id))
    return owner == customer_id


async def cancel_order(
    *,
    db: AsyncSession,
    viewer: Viewer,
    order_id: int,
    reason: str | None,
    provider: PaymentProvider | None = None,
) -> Order:
    """Cancel and restock: a customer their own PENDING order, an admin PENDING or PAID ones.

    Another customer's order is NOT_FOUND, never a sign that it exists. A payment that
    succeeded through the provider is refunded in the same transaction (a failed refund is
    PAYMENT_PROVIDER_ERROR and, rolled back, changes nothing); an open one is cancelled.
    """
    note = _note(reason, "reason")
    if viewer.is_admin:
        order = await _move(
            db=db, order_id=order_id, to_status="CANCELLED", allowed=CANCELLABLE_BY_ADMIN,
            actor=viewer, customer_id=None, note=note,
        )  # fmt: skip
    else:
        order = await _move(
            db=db, order_id=order_id, to_status="CANCELLED", allowed=CANCELLABLE_BY_CUSTOMER,
            actor=viewer, customer_id=viewer.id, note=note,
        )  # fmt: skip
    await settle_cancelled_order(provider, db=db, order_id=order_id)
    return order


async def update_order_status(
    *,
    db: AsyncSession,
    viewer: Viewer | None,
    order_id: int,
    status: str,
    note: str | None,
    provider: PaymentProvider | None = None,
) -> Order:
    """Admin only: move an order forward, or cancel it (the same as `cancel_order`)."""
    admin = require_admin(viewer)
    if status == "CANCELLED":
        return await cancel_order(
            db=db, viewer=admin, order_id=order_id, reason=note, provider=provider
        )
    allowed = (FORWARD_FROM[status],) if status in FORWARD_FROM else ()
    return await _move(
        db=db, order_id=order_id, to_status=status, allowed=allowed, actor=admin,
        customer_id=None, note=_note(note, "note"),
    )  # fmt: skip
