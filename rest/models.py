"""Typed request and response bodies of the REST layer (camelCase, like GraphQL).

Request fields publish the resolvers' own rules (`resolvers.input_rules`, the ID patterns,
the limits) in the OpenAPI document, so that it states exactly what the server accepts. The
models check types and shapes; the rules themselves are checked once, by the resolvers that
GraphQL calls too, so a request with several problems hears of every one of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from auth.passwords import MAX_LENGTH as MAX_PASSWORD
from auth.passwords import MIN_LENGTH as MIN_PASSWORD
from resolvers.accounts import MAX_EMAIL_LENGTH
from resolvers.checkout import MAX_LINES, MAX_QUANTITY
from resolvers.ids import ID_PATTERNS, MAX_ID_LENGTH
from resolvers.input_rules import DESCRIPTION, NAME, NOTE, TextRule
from resolvers.money import DECIMAL_PATTERN, MAX_DECIMAL_LENGTH
from resolvers.products import MAX_STOCK

# The longest password a sign-in or a password change checks (a new one: MAX_PASSWORD).
MAX_PASSWORD_INPUT = 1024
# Marks an amount in the store's currency; the document replaces it with the currency's
# pattern (rest.openapi), the resolvers check the range and the places.
AMOUNT = "x-orderly-amount"


def published(default: Any = ..., description: str | None = None, **rule: Any) -> Any:
    """A field whose `rule` (JSON Schema keywords) the resolvers check: published, not
    checked a second time here."""
    return Field(default, description=description, json_schema_extra=rule)


def text(rule: TextRule, default: Any = ..., description: str | None = None) -> Any:
    """A string field held to `rule` by the resolvers."""
    return published(default, description, **rule.json_schema())


def node_id(type_name: str, default: Any = ...) -> Any:
    """A field holding the public ID of a `type_name`."""
    return published(default, maxLength=MAX_ID_LENGTH, pattern=ID_PATTERNS[type_name])


def _amount(kind: str, description: str) -> Any:
    return Field(
        max_length=MAX_DECIMAL_LENGTH,
        pattern=DECIMAL_PATTERN,
        examples=["19.99"],
        description=description,
        json_schema_extra={AMOUNT: kind},
    )


# A price: 0 to 1,000,000 with at most the currency's decimal places, no exponent.
Price = Annotated[str, _amount("price", "A price: 0 to 1,000,000, at most the currency's places.")]
# A price bound of a filter: any decimal with at most the currency's places.
PriceBound = Annotated[str, _amount("bound", "A decimal with at most the currency's places.")]
# The same text GraphQL's DateTime gives: ISO 8601 with the +00:00 offset.
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be an integer")
    return value


# A JSON integer (2 or 2.0, as JSON Schema counts them), never a boolean or a string.
Whole = Annotated[int, BeforeValidator(_json_number)]
RoleName = Literal["CLIENT", "ADMIN"]
StatusName = Literal["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]
PaymentStatusName = Literal[
    "REQUIRES_PAYMENT", "PROCESSING", "SUCCEEDED", "FAILED", "CANCELED", "REFUNDED"
]

T = TypeVar("T")


class Body(BaseModel):
    """Request bodies: camelCase names, unknown fields refused, patterns read by Python's `re`
    as the resolvers read them."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=False, extra="forbid", regex_engine="python-re"
    )


class Out(BaseModel):
    """Response bodies: camelCase names, exactly the documented fields."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# --- requests -----------------------------------------------------------------------------


_NEW_PASSWORD = {"minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD, "format": "password"}


class RegisterBody(Body):
    email: str = published(minLength=3, maxLength=MAX_EMAIL_LENGTH, format="email")
    password: str = published(
        description="Not the email or name, and not easily guessed (else 400 WEAK_PASSWORD).",
        **_NEW_PASSWORD,
    )
    name: str = text(NAME)


class LoginBody(Body):
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Field(max_length=MAX_PASSWORD_INPUT, json_schema_extra={"format": "password"})


class ChangePasswordBody(Body):
    current_password: str = Field(
        max_length=MAX_PASSWORD_INPUT, json_schema_extra={"format": "password"}
    )
    new_password: str = published(
        description="Not the current one, the email or name, and not easily guessed (else 400 "
        "WEAK_PASSWORD).",
        **_NEW_PASSWORD,
    )


class SetRoleBody(Body):
    role: RoleName


class CreateProductBody(Body):
    name: str = text(NAME)
    description: str = text(DESCRIPTION, "", "Empty when left out.")
    price: Price
    stock: Whole = published(0, "0 when left out.", minimum=0, maximum=MAX_STOCK)


class UpdateProductBody(Body):
    """Only the fields sent change."""

    name: str | None = text(NAME, None)
    description: str | None = text(DESCRIPTION, None)
    price: Price | None = None
    stock: Whole | None = published(None, minimum=0, maximum=MAX_STOCK)


class OrderLineBody(Body):
    product_id: str = node_id("Product")
    quantity: Whole = published(
        description=f"Lines of one product add up to {MAX_QUANTITY} at most.",
        minimum=1,
        maximum=MAX_QUANTITY,
    )


class PlaceOrderBody(Body):
    items: list[OrderLineBody] = published(minItems=1, maxItems=MAX_LINES)


class CancelOrderBody(Body):
    reason: str | None = text(NOTE, None)


class OrderStatusBody(Body):
    status: StatusName
    note: str | None = text(NOTE, None)


# --- responses ----------------------------------------------------------------------------


class MoneyOut(Out):
    amount: str = Field(examples=["19.99"])
    currency: str = Field(examples=["USD"])


class UserOut(Out):
    id: str
    email: str | None = Field(description="Null unless you are this user or an admin.")
    name: str
    role: RoleName
    created_at: UtcDateTime


class AuthOut(Out):
    user: UserOut


class ProductOut(Out):
    id: str
    name: str
    description: str
    price: MoneyOut
    stock: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class OrderItemOut(Out):
    product: ProductOut
    product_name: str
    unit_price: MoneyOut
    quantity: int
    subtotal: MoneyOut


class OrderEventOut(Out):
    from_status: StatusName | None
    to_status: StatusName
    actor: UserOut | None
    at: UtcDateTime
    note: str | None


class PaymentOut(Out):
    id: str
    status: PaymentStatusName
    amount: MoneyOut
    provider: str = Field(examples=["stripe"])
    provider_reference: str | None = Field(description="The Stripe PaymentIntent id.")
    client_secret: str | None = Field(
        description="For the order's customer only (to confirm the payment with Stripe.js); "
        "null for everyone else."
    )
    created_at: UtcDateTime
    updated_at: UtcDateTime


class OrderOut(Out):
    id: str
    status: StatusName
    customer: UserOut
    items: list[OrderItemOut]
    total: MoneyOut
    created_at: UtcDateTime
    updated_at: UtcDateTime
    events: list[OrderEventOut]
    payment: PaymentOut | None = Field(description="Null until a payment is started.")


class ListOut(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None


class ProblemDetail(Out):
    code: str
    field: list[str] | None = None
    message: str


class Problem(Out):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemDetail]
