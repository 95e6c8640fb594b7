"""Exact money: integer minor units inside, decimal strings outside."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from resolvers.errors import Problem

MAX_PRICE = Decimal("1000000")


def to_minor(amount: Decimal, digits: int) -> int:
    """`amount` in minor units; it must have at most `digits` decimal places."""
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError("too many decimal places")
    return int(scaled)


def from_minor(minor: int, digits: int) -> Decimal:
    """Minor units as a Decimal with exactly `digits` places (19.90, not 19.9)."""
    return Decimal(minor).scaleb(-digits)


def price_problems(
    amount: Decimal, digits: int, field: tuple[str, ...]
) -> tuple[int | None, list[Problem]]:
    """Validate a price: finite, 0 to 1,000,000, at most `digits` decimal places."""
    try:
        if not amount.is_finite() or not Decimal(0) <= amount <= MAX_PRICE:
            raise ValueError
        return to_minor(amount, digits), []
    except (ValueError, InvalidOperation):
        message = f"Price must be between 0 and {MAX_PRICE:,} with at most {digits} decimal places."
        return None, [Problem("INVALID_INPUT", message, field)]
