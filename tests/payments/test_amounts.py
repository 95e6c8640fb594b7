"""Amounts reach Stripe in its own minor units, exactly, from the order's minor units."""

from __future__ import annotations

import pytest

from resolvers.payment_provider import from_provider_amount, provider_amount
from settings import load_settings


@pytest.mark.parametrize(
    ("currency", "minor", "expected"),
    [("USD", 6002, 6002), ("EUR", 1, 1), ("JPY", 1500, 1500), ("KRW", 7, 7),
     ("KWD", 12340, 12340), ("ISK", 990, 99000), ("UGX", 5000, 5000), ("USD", 0, 0)],
)  # fmt: skip
def test_the_order_total_in_stripe_units(currency: str, minor: int, expected: int) -> None:
    digits = load_settings({"CURRENCY": currency}, secret_key="s" * 40).currency_digits
    assert provider_amount(minor, currency, digits) == expected
    assert from_provider_amount(expected, currency, digits) == minor


def test_a_three_decimal_amount_stripe_cannot_take_is_refused() -> None:
    with pytest.raises(ValueError, match="multiples of 0.010"):
        provider_amount(12345, "KWD", 3)
