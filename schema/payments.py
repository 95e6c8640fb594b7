"""Payments: the `Payment` of an order and `startPayment`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from db.models import Payment as PaymentRow
from domain.codes import PaymentStatus
from domain.errors import BusinessError
from resolvers import payments
from resolvers.ids import from_global_id, to_global_id
from schema.compiled.fields import (
    compiled_from,
    money_from,
    row_currency,
    secret_for_customer,
    sql,
)
from schema.context import Context
from schema.errors import UserError, user_errors
from schema.money import Money, money
from schema.permissions import authenticated

strawberry.enum(PaymentStatus, name="PaymentStatus")  # the domain's enum, as a GraphQL type


@compiled_from(PaymentRow)
@strawberry.type(description="An order's payment through the payment provider.")
class Payment:
    id: strawberry.ID
    status: PaymentStatus
    amount: Money = strawberry.field(metadata=sql(money_from("amount_minor", row_currency)))
    provider: str = strawberry.field(description='The payment provider: "stripe".')
    provider_reference: str | None = strawberry.field(
        description="The provider's id of the payment (a Stripe PaymentIntent id)."
    )
    client_secret: str | None = strawberry.field(
        description="What the customer's browser confirms the payment with (Stripe.js): "
        "for the order's customer only, null for everyone else.",
        metadata=sql(secret_for_customer),
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: PaymentRow, ctx: Context, customer_id: int) -> Payment:
        return cls(
            id=strawberry.ID(to_global_id("Payment", row.id)),
            status=PaymentStatus(row.status),
            amount=money(row.amount_minor, row.currency, ctx.app.settings),
            provider=row.provider,
            provider_reference=row.provider_reference,
            client_secret=payments.client_secret_for(ctx.viewer, customer_id, row),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class PaymentPayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        extensions=authenticated(),
        description="Start paying your PENDING order (or get the payment already started).",
    )
    async def start_payment(
        self, info: Info[Context, None], order_id: strawberry.ID
    ) -> PaymentPayload:
        ctx = info.context
        viewer = ctx.viewer
        assert viewer is not None  # noqa: S101 - @authenticated
        key = from_global_id(order_id, "Order")
        try:
            started = await payments.start_payment(
                ctx.app.sessions, ctx.app.payments, viewer=viewer, order_id=key,
                digits=ctx.app.settings.currency_digits,
            )  # fmt: skip
        except BusinessError as error:
            return PaymentPayload(payment=None, user_errors=user_errors(error))
        return PaymentPayload(
            payment=Payment.from_row(started.payment, ctx, viewer.id), user_errors=[]
        )
