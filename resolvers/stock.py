"""Putting back the stock of cancelled orders."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Product rows are locked in ascending id order, as placing an order does, before restocking.
_RESTOCK = text("""
    WITH lines AS (
        SELECT product_id, sum(quantity) AS quantity FROM order_items
        WHERE order_id = ANY(CAST(:ids AS bigint[])) GROUP BY product_id
    ), locked AS (
        SELECT p.id FROM products AS p WHERE p.id IN (SELECT product_id FROM lines)
        ORDER BY p.id FOR UPDATE
    )
    UPDATE products AS p SET stock = p.stock + l.quantity, updated_at = now()
    FROM lines AS l WHERE p.id = l.product_id AND p.id IN (SELECT id FROM locked)
""")


async def restock_orders(order_ids: Sequence[int], *, db: AsyncSession) -> None:
    """Give the units of these orders back to their products, in one statement."""
    await db.execute(_RESTOCK, {"ids": list(order_ids)})
