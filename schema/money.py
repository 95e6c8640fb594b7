"""`Money`: an exact decimal amount and its currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from resolvers.money import from_minor
from settings import Settings


@strawberry.type(description='An exact amount: `amount` is a decimal string such as "19.99".')
class Money:
    amount: Decimal
    currency: str


def money(minor: int, currency: str, settings: Settings) -> Money:
    return Money(amount=from_minor(minor, settings.currency_digits), currency=currency)
