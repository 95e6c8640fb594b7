"""Exact money: integer minor units inside, decimal strings outside."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from domain.codes import ErrorCode
from domain.errors import Problem

MAX_PRICE = Decimal("1000000")
# Decimal inputs are plain digits: no exponent, so that no amount is ever expanded into a
# huge integer, and short enough that checking the text is the whole cost.
MAX_DECIMAL_LENGTH = 40
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)


def parse_decimal(text: str) -> Decimal:
    """A decimal input such as "19.99": at most 40 characters of `-?digits(.digits)?`.

    Raises ValueError for anything else (exponents, NaN, infinity, spaces, longer text),
    checking the text before converting it.
    """
    if len(text) > MAX_DECIMAL_LENGTH or not _DECIMAL.fullmatch(text):
        raise ValueError(
            f"Expected a decimal such as 19.99: digits with an optional fraction, "
            f"no exponent, at most {MAX_DECIMAL_LENGTH} characters."
        )
    return Decimal(text)


def to_minor(amount: Decimal, digits: int) -> int:
    """`amount` in minor units; it must have at most `digits` decimal places."""
    if not amount.is_finite() or abs(amount.adjusted()) > MAX_DECIMAL_LENGTH:
        raise ValueError("amount out of range")  # checked before any digit is expanded
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError("too many decimal places")
    return int(scaled)


def from_minor(minor: int, digits: int) -> Decimal:
    """Minor units as a Decimal with exactly `digits` places (19.90, not 19.9)."""
    return Decimal(minor).scaleb(-digits)


def _fraction(digits: int) -> str:
    """A fraction with at most `digits` significant places (any trailing zeros)."""
    return r"(?:\.0+)?" if digits == 0 else rf"(?:\.[0-9]{{1,{digits}}}0*)?"


def bound_pattern(digits: int) -> str:
    """The decimals a price filter accepts in a currency of `digits` places: any sign and
    size, at most `digits` places (as `to_minor` requires)."""
    return rf"^-?[0-9]+{_fraction(digits)}$"


def price_pattern(digits: int) -> str:
    """The decimals `price_problems` accepts for a currency of `digits` places: 0 to
    1,000,000 (a zero may carry a minus sign), at most `digits` places."""
    whole = rf"0*(?:[0-9]{{1,{len(str(MAX_PRICE)) - 1}}}{_fraction(digits)}|{MAX_PRICE}(?:\.0+)?)"
    return rf"^(?:-0+(?:\.0+)?|{whole})$"


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
        return None, [Problem(ErrorCode.INVALID_INPUT, message, field)]
