"""Typed request and response bodies of the REST layer (camelCase, like GraphQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

from resolvers.accounts import MAX_EMAIL_LENGTH
from resolvers.money import DECIMAL_PATTERN, MAX_DECIMAL_LENGTH

DecimalString = Annotated[
    str,
    Field(
        max_length=MAX_DECIMAL_LENGTH,
        pattern=DECIMAL_PATTERN,
        examples=["19.99"],
        description="A decimal amount: digits with an optional fraction, no exponent.",
    ),
]
# The same text GraphQL's DateTime gives: ISO 8601 with the +00:00 offset.
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
RoleName = Literal["CLIENT", "ADMIN"]
StatusName = Literal["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]

T = TypeVar("T")


class Body(BaseModel):
    """Request bodies: camelCase names, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")


class Out(BaseModel):
    """Response bodies: camelCase names, exactly the documented fields."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# --- requests -----------------------------------------------------------------------------


class RegisterBody(Body):
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Field(max_length=1024)
    name: str = Field(max_length=1024)


class LoginBody(Body):
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Field(max_length=1024)


class ChangePasswordBody(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class SetRoleBody(Body):
    role: RoleName


class CreateProductBody(Body):
    name: str
    description: str = ""
    price: DecimalString
    stock: int = 0


class UpdateProductBody(Body):
    name: str | None = None
    description: str | None = None
    price: DecimalString | None = None
    stock: int | None = None


class OrderLineBody(Body):
    product_id: str
    quantity: int


class PlaceOrderBody(Body):
    items: list[OrderLineBody]


class CancelOrderBody(Body):
    reason: str | None = None


class OrderStatusBody(Body):
    status: StatusName
    note: str | None = None


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


class OrderOut(Out):
    id: str
    status: StatusName
    customer: UserOut
    items: list[OrderItemOut]
    total: MoneyOut
    created_at: UtcDateTime
    updated_at: UtcDateTime
    events: list[OrderEventOut]


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
