"""Placing an order: all lines or none, stock taken atomically, idempotent by key."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Order, OrderEvent, OrderItem
from resolvers.errors import BusinessError, Problem

MAX_LINES = 100
MAX_QUANTITY = 1000
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class LineRequest:
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    created: bool  # False when an idempotent replay returned the earlier order


# Claims the idempotency key (or not, without one) by creating the order row first: a
# concurrent request with the same key waits here until this transaction ends.
_CLAIM = text("""
    INSERT INTO orders (customer_id, total_minor, currency, idempotency_key, request_hash)
    VALUES (:customer_id, 0, :currency, :key, :request_hash)
    ON CONFLICT (customer_id, idempotency_key) DO NOTHING
    RETURNING id
""")

# Row locks in ascending id order: concurrent orders never wait on each other in a cycle.
_LOCK = text("""
    SELECT id, name, price_minor, stock, archived_at IS NOT NULL AS archived
    FROM products WHERE id = ANY(:ids) ORDER BY id FOR UPDATE
""")

_TAKE = text("""
    UPDATE products AS p SET stock = p.stock - v.quantity, updated_at = now()
    FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS v(id, quantity)
    WHERE p.id = v.id AND p.archived_at IS NULL AND p.stock >= v.quantity
""")


def merge_lines(lines: Sequence[LineRequest]) -> tuple[dict[int, int], list[Problem]]:
    """Validate the lines and merge repeated products (the first line keeps the position)."""
    problems: list[Problem] = []
    if not 1 <= len(lines) <= MAX_LINES:
        problems.append(
            Problem("INVALID_INPUT", f"An order has 1 to {MAX_LINES} lines.", ("items",))
        )
        return {}, problems
    merged: dict[int, int] = {}
    for position, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(
                Problem(
                    "INVALID_INPUT",
                    f"Quantity must be between 1 and {MAX_QUANTITY}.",
                    ("items", str(position), "quantity"),
                )
            )
            continue
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    positions = {line.product_id: str(i) for i, line in reversed(list(enumerate(lines)))}
    for product_id, quantity in merged.items():
        if quantity > MAX_QUANTITY:
            problems.append(
                Problem(
                    "INVALID_INPUT",
                    f"Quantity must be between 1 and {MAX_QUANTITY} per product.",
                    ("items", positions[product_id], "quantity"),
                )
            )
    return merged, problems


def request_hash(merged: dict[int, int]) -> bytes:
    """A fingerprint of what was ordered, independent of line order and repetition."""
    return hashlib.sha256(orjson.dumps(sorted(merged.items()))).digest()


async def place_order(
    db: AsyncSession,
    *,
    customer: Viewer,
    items: Sequence[LineRequest],
    idempotency_key: str | None,
    currency: str,
) -> PlacedOrder:
    """Place an order for `customer` inside the caller's transaction.

    Raises `BusinessError` with one problem per bad line; the caller's transaction must
    then be rolled back (nothing it did is kept). With an `idempotency_key`, repeating the
    same items returns the earlier order (`created=False`) and changes nothing.
    """
    merged, problems = merge_lines(items)
    if idempotency_key is not None and (
        not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH or "\x00" in idempotency_key
    ):
        problems.append(
            Problem(
                "INVALID_INPUT",
                f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters, none of them NUL.",
                ("idempotencyKey",),
            )
        )
    if problems:
        raise BusinessError(problems)
    fingerprint = request_hash(merged)
    order_id = await db.scalar(
        _CLAIM,
        {
            "customer_id": customer.id,
            "currency": currency,
            "key": idempotency_key,
            "request_hash": fingerprint if idempotency_key is not None else None,
        },
    )
    if order_id is None:
        return await _replay(db, customer, idempotency_key, fingerprint)

    positions = {line.product_id: str(i) for i, line in reversed(list(enumerate(items)))}
    ids = sorted(merged)
    products = {row.id: row for row in await db.execute(_LOCK, {"ids": ids})}
    for product_id in ids:
        field = ("items", positions[product_id], "productId")
        row = products.get(product_id)
        wanted = merged[product_id]
        if row is None:
            problems.append(Problem("NOT_FOUND", "No such product.", field))
        elif row.archived:
            problems.append(Problem("PRODUCT_UNAVAILABLE", f"{row.name} is no longer sold.", field))
        elif row.stock < wanted:
            problems.append(
                Problem(
                    "INSUFFICIENT_STOCK",
                    f"{row.name}: {wanted} requested, {row.stock} available.",
                    ("items", positions[product_id], "quantity"),
                )
            )
    if problems:
        raise BusinessError(problems)

    taken = await db.execute(_TAKE, {"ids": ids, "quantities": [merged[i] for i in ids]})
    if taken.rowcount != len(ids):  # type: ignore[attr-defined]
        raise RuntimeError("stock changed under a row lock")
    lines = [
        {
            "order_id": order_id,
            "product_id": product_id,
            "product_name": products[product_id].name,
            "unit_price_minor": products[product_id].price_minor,
            "quantity": merged[product_id],
            "subtotal_minor": products[product_id].price_minor * merged[product_id],
        }
        for product_id in ids
    ]
    await db.execute(insert(OrderItem), lines)
    total = sum(int(line["subtotal_minor"]) for line in lines)
    await db.execute(
        insert(OrderEvent).values(
            order_id=order_id, from_status=None, to_status="PENDING", actor_id=customer.id
        )
    )
    order = await db.scalar(
        update(Order).where(Order.id == order_id).values(total_minor=total).returning(Order)
    )
    assert order is not None  # noqa: S101 - inserted above
    return PlacedOrder(order=order, created=True)


async def _replay(
    db: AsyncSession, customer: Viewer, key: str | None, fingerprint: bytes
) -> PlacedOrder:
    existing = await db.scalar(
        select(Order).where(Order.customer_id == customer.id, Order.idempotency_key == key)
    )
    if existing is None:  # the conflicting request was rolled back between the two statements
        raise RuntimeError("idempotency key conflict without an order")
    if existing.request_hash != fingerprint:
        raise BusinessError.one(
            "IDEMPOTENCY_KEY_REUSED",
            "This idempotency key was already used for a different order.",
            ["idempotencyKey"],
        )
    return PlacedOrder(order=existing, created=False)
