"""Placing an order: all lines or none, stock taken atomically, idempotent by key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Order
from domain.codes import ErrorCode
from domain.errors import BusinessError, Problem
from telemetry.metrics import CHECKOUTS, outcome_label

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


# Claims the idempotency key by creating the order row first: a concurrent request with the
# same key waits here until this transaction ends, then replays it.
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

# After the checks, under the row locks: take the stock (conditionally, as a last guard),
# then write or complete the order, its lines and its creation event, in one round trip so
# that the hot rows stay locked as briefly as possible. Nothing is written unless every
# line's stock was taken.
_PLACE = text("""
    WITH taken AS (
        UPDATE products AS p SET stock = p.stock - v.quantity, updated_at = now()
        FROM unnest(CAST(:ids AS bigint[]), CAST(:quantities AS int[])) AS v(id, quantity)
        WHERE p.id = v.id AND p.archived_at IS NULL AND p.stock >= v.quantity
        RETURNING p.id
    ), complete AS (
        SELECT (SELECT count(*) FROM taken) = :line_count AS ok
    ), placed AS (
        INSERT INTO orders (customer_id, total_minor, currency)
        SELECT :customer_id, :total, :currency FROM complete
        WHERE ok AND CAST(:order_id AS bigint) IS NULL
        RETURNING *
    ), claimed AS (
        UPDATE orders SET total_minor = :total
        WHERE id = CAST(:order_id AS bigint) AND (SELECT ok FROM complete)
        RETURNING *
    ), target AS (
        SELECT * FROM placed UNION ALL SELECT * FROM claimed
    ), lines AS (
        INSERT INTO order_items
            (order_id, product_id, product_name, unit_price_minor, quantity, subtotal_minor)
        SELECT target.id, l.product_id, l.name, l.price, l.quantity, l.price * l.quantity
        FROM target, unnest(
            CAST(:ids AS bigint[]), CAST(:names AS text[]), CAST(:prices AS bigint[]),
            CAST(:quantities AS int[])
        ) AS l(product_id, name, price, quantity)
    ), event AS (
        INSERT INTO order_events (order_id, from_status, to_status, actor_id)
        SELECT id, NULL, 'PENDING', :customer_id FROM target
    )
    SELECT * FROM target
""")


def merge_lines(lines: Sequence[LineRequest]) -> tuple[dict[int, int], list[Problem]]:
    """Validate the lines and merge repeated products (the first line keeps the position).

    The merged quantities hold only what is valid: lines with a quantity out of range are
    left out, and so is a product whose lines add up to more than the limit.
    """
    problems: list[Problem] = []
    if not 1 <= len(lines) <= MAX_LINES:
        problems.append(
            Problem(ErrorCode.INVALID_INPUT, f"An order has 1 to {MAX_LINES} lines.", ("items",))
        )
        return {}, problems
    merged: dict[int, int] = {}
    for position, line in enumerate(lines):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(
                Problem(
                    ErrorCode.INVALID_INPUT,
                    f"Quantity must be between 1 and {MAX_QUANTITY}.",
                    ("items", str(position), "quantity"),
                )
            )
            continue
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    positions = _first_valid_lines(lines)
    for product_id, quantity in list(merged.items()):
        if quantity > MAX_QUANTITY:
            problems.append(
                Problem(
                    ErrorCode.INVALID_INPUT,
                    f"Quantity must be between 1 and {MAX_QUANTITY} per product.",
                    ("items", positions[product_id], "quantity"),
                )
            )
            del merged[product_id]
    return merged, problems


def _first_valid_lines(lines: Sequence[LineRequest]) -> dict[int, str]:
    """The position of each product's first line with a quantity in range."""
    return {
        line.product_id: str(i)
        for i, line in reversed(list(enumerate(lines)))
        if 1 <= line.quantity <= MAX_QUANTITY
    }


def product_problems(
    items: Sequence[LineRequest], merged: dict[int, int], products: Mapping[int, Any]
) -> list[Problem]:
    """One problem per product that cannot be sold as asked: missing or archived (at its
    first line's `productId`), or short of stock for the merged quantity of its valid lines
    (at the first of them's `quantity`)."""
    positions = {line.product_id: str(i) for i, line in reversed(list(enumerate(items)))}
    counted = _first_valid_lines(items)
    problems: list[Problem] = []
    for product_id in sorted(positions, key=lambda key: int(positions[key])):
        field = ("items", positions[product_id], "productId")
        row = products.get(product_id)
        wanted = merged.get(product_id, 0)
        if row is None:
            problems.append(Problem(ErrorCode.NOT_FOUND, "No such product.", field))
        elif row.archived:
            problems.append(
                Problem(ErrorCode.PRODUCT_UNAVAILABLE, f"{row.name} is no longer sold.", field)
            )
        elif row.stock < wanted:
            problems.append(
                Problem(
                    ErrorCode.INSUFFICIENT_STOCK,
                    f"{row.name}: {wanted} requested, {row.stock} available.",
                    ("items", counted[product_id], "quantity"),
                )
            )
    return problems


def request_hash(merged: dict[int, int]) -> bytes:
    """A fingerprint of what was ordered, independent of line order and repetition."""
    return hashlib.sha256(orjson.dumps(sorted(merged.items()))).digest()


async def place_order(
    *,
    db: AsyncSession,
    customer: Viewer,
    items: Sequence[LineRequest],
    idempotency_key: str | None,
    currency: str,
) -> PlacedOrder:
    """Place an order for `customer` inside the caller's transaction.

    Raises `BusinessError` with one problem per bad line; the caller's transaction must
    then be rolled back (nothing it did is kept). With an `idempotency_key`, repeating the
    same items returns the earlier order (`created=False`) and changes nothing. Each
    attempt is counted by outcome (placed, replayed, or the first problem's code).
    """
    try:
        placed = await _place_order(
            db=db,
            customer=customer,
            items=items,
            idempotency_key=idempotency_key,
            currency=currency,
        )
    except Exception as error:
        CHECKOUTS.labels(outcome_label(error)).inc()
        raise
    CHECKOUTS.labels("placed" if placed.created else "replayed").inc()
    return placed


async def _place_order(
    *,
    db: AsyncSession,
    customer: Viewer,
    items: Sequence[LineRequest],
    idempotency_key: str | None,
    currency: str,
) -> PlacedOrder:
    merged, problems = merge_lines(items)
    if idempotency_key is not None and (
        not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH or "\x00" in idempotency_key
    ):
        problems.append(
            Problem(
                ErrorCode.INVALID_INPUT,
                f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters, none of them NUL.",
                ("idempotencyKey",),
            )
        )
    if not 1 <= len(items) <= MAX_LINES:
        raise BusinessError(problems)
    fingerprint = request_hash(merged)
    order_id: int | None = None
    if idempotency_key is not None and not problems:
        order_id = await db.scalar(
            _CLAIM,
            {"customer_id": customer.id, "currency": currency, "key": idempotency_key,
             "request_hash": fingerprint},
        )  # fmt: skip
        if order_id is None:
            return await _replay(customer, idempotency_key, fingerprint, db=db)

    # Every line's product is checked, whatever else is wrong with the order, so that each
    # problem gets its own error; only lines with a valid quantity count against the stock.
    ids = sorted(merged)
    wanted_ids = sorted({line.product_id for line in items})
    products = {row.id: row for row in await db.execute(_LOCK, {"ids": wanted_ids})}
    problems += product_problems(items, merged, products)
    if problems:
        raise BusinessError(problems)

    prices = [products[i].price_minor for i in ids]
    quantities = [merged[i] for i in ids]
    order = await db.scalar(
        select(Order).from_statement(_PLACE),
        {
            "order_id": order_id,
            "customer_id": customer.id,
            "currency": currency,
            "total": sum(p * q for p, q in zip(prices, quantities, strict=True)),
            "line_count": len(ids),
            "ids": ids,
            "names": [products[i].name for i in ids],
            "prices": prices,
            "quantities": quantities,
        },
    )
    if order is None:
        raise RuntimeError("stock changed under a row lock")
    return PlacedOrder(order=order, created=True)


async def _replay(
    customer: Viewer, key: str | None, fingerprint: bytes, *, db: AsyncSession
) -> PlacedOrder:
    existing = await db.scalar(
        select(Order).where(Order.customer_id == customer.id, Order.idempotency_key == key)
    )
    if existing is None:  # the conflicting request was rolled back between the two statements
        raise RuntimeError("idempotency key conflict without an order")
    if existing.request_hash != fingerprint:
        raise BusinessError.one(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was already used for a different order.",
            ["idempotencyKey"],
        )
    return PlacedOrder(order=existing, created=False)
