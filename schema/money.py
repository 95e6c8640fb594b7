"""`Money`: an exact decimal amount and its currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from resolvers.money import MAX_DECIMAL_LENGTH, from_minor, parse_decimal
from settings import Settings


def _parse_decimal(value: object) -> Decimal:
    # Numbers are taken as their JSON text; the text is checked before anything else.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise StrawberryInputCoercionError('Decimal values are strings such as "19.99".')
    text = value if isinstance(value, str) else str(value)
    try:
        return parse_decimal(text)
    except ValueError as error:
        raise StrawberryInputCoercionError(str(error)) from None


# The lexical form of XML Schema's decimal, of which this scalar takes a subset (no "+", and
# digits on both sides of the point).
DECIMAL_SPEC = "https://www.w3.org/TR/xmlschema11-2/#decimal"

DECIMAL: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    specified_by_url=DECIMAL_SPEC,
    description=(
        'An exact decimal number as a string such as "19.99": an optional minus sign, digits '
        f"and an optional fraction, no exponent, at most {MAX_DECIMAL_LENGTH} characters."
    ),
    serialize=str,
    parse_value=_parse_decimal,
)


@strawberry.type(description='An exact amount: `amount` is a decimal string such as "19.99".')
class Money:
    amount: Decimal
    currency: str


def money(minor: int, currency: str, settings: Settings) -> Money:
    return Money(amount=from_minor(minor, settings.currency_digits), currency=currency)
