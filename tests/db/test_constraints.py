"""Every CHECK constraint refuses the row it exists to refuse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    LoginSession,
    LoginThrottle,
    Order,
    OrderEvent,
    OrderItem,
    Payment,
    PaymentProviderEvent,
    Product,
    RefreshToken,
    User,
    Webhook,
    WebhookDelivery,
)
from resolvers.accounts import email_key

FUTURE = datetime.now(UTC) + timedelta(days=1)


async def _user(session: AsyncSession) -> int:
    result = await session.execute(
        insert(User)
        .values(email="c@example.com", email_key="c@example.com", name="C", password_hash="x")
        .returning(User.id)
    )
    return int(result.scalar_one())


async def _product(session: AsyncSession) -> int:
    result = await session.execute(
        insert(Product).values(name="P", price_minor=100, stock=5).returning(Product.id)
    )
    return int(result.scalar_one())


async def _order(session: AsyncSession) -> int:
    customer = await _user(session)
    result = await session.execute(
        insert(Order)
        .values(customer_id=customer, total_minor=0, currency="USD")
        .returning(Order.id)
    )
    return int(result.scalar_one())


async def _session_id(session: AsyncSession) -> Any:
    user = await _user(session)
    result = await session.execute(
        insert(LoginSession).values(user_id=user, expires_at=FUTURE).returning(LoginSession.id)
    )
    return result.scalar_one()


Builder = Callable[[AsyncSession], Any]


async def _bad_user_role(s: AsyncSession) -> None:
    await s.execute(
        insert(User).values(
            email="a@b.co", email_key="a@b.co", name="A", password_hash="x", role="ROOT"
        )
    )


async def _bad_user_email(s: AsyncSession) -> None:
    await s.execute(insert(User).values(email="a", email_key="a", name="A", password_hash="x"))


async def _bad_user_name(s: AsyncSession) -> None:
    await s.execute(
        insert(User).values(email="a@b.co", email_key="a@b.co", name="", password_hash="x")
    )


async def _bad_token_hash(s: AsyncSession) -> None:
    sid = await _session_id(s)
    await s.execute(
        insert(RefreshToken).values(session_id=sid, token_hash=b"short", expires_at=FUTURE)
    )


async def _bad_price(s: AsyncSession) -> None:
    await s.execute(insert(Product).values(name="P", price_minor=-1, stock=0))


async def _bad_stock(s: AsyncSession) -> None:
    await s.execute(insert(Product).values(name="P", price_minor=1, stock=-1))


async def _bad_product_name(s: AsyncSession) -> None:
    await s.execute(insert(Product).values(name="", price_minor=1, stock=0))


async def _bad_description(s: AsyncSession) -> None:
    await s.execute(insert(Product).values(name="P", description="x" * 5001, price_minor=1))


async def _bad_status(s: AsyncSession) -> None:
    customer = await _user(s)
    await s.execute(
        insert(Order).values(customer_id=customer, total_minor=0, currency="USD", status="LOST")
    )


async def _bad_total(s: AsyncSession) -> None:
    customer = await _user(s)
    await s.execute(insert(Order).values(customer_id=customer, total_minor=-5, currency="USD"))


async def _bad_currency(s: AsyncSession) -> None:
    customer = await _user(s)
    await s.execute(insert(Order).values(customer_id=customer, total_minor=0, currency="usd"))


async def _bad_key_length(s: AsyncSession) -> None:
    customer = await _user(s)
    await s.execute(
        insert(Order).values(
            customer_id=customer, total_minor=0, currency="USD",
            idempotency_key="k" * 256, request_hash=b"h",
        )
    )  # fmt: skip


async def _key_without_hash(s: AsyncSession) -> None:
    customer = await _user(s)
    await s.execute(
        insert(Order).values(
            customer_id=customer, total_minor=0, currency="USD", idempotency_key="k"
        )
    )


def _item(**overrides: int) -> Builder:
    async def build(s: AsyncSession) -> None:
        order = await _order(s)
        product = await _product(s)
        values: dict[str, Any] = {
            "order_id": order, "product_id": product, "product_name": "P",
            "unit_price_minor": 100, "quantity": 2, "subtotal_minor": 200,
        }  # fmt: skip
        values.update(overrides)
        await s.execute(insert(OrderItem).values(**values))

    return build


def _event(**overrides: Any) -> Builder:
    async def build(s: AsyncSession) -> None:
        order = await _order(s)
        values: dict[str, Any] = {"order_id": order, "from_status": None, "to_status": "PENDING"}
        values.update(overrides)
        await s.execute(insert(OrderEvent).values(**values))

    return build


def _payment(**overrides: Any) -> Builder:
    async def build(s: AsyncSession) -> None:
        order = await _order(s)
        values: dict[str, Any] = {
            "order_id": order, "provider": "stripe", "provider_reference": "pi_1",
            "client_secret": "pi_1_secret", "status": "REQUIRES_PAYMENT", "amount_minor": 100,
            "currency": "USD", **overrides,
        }  # fmt: skip
        await s.execute(insert(Payment).values(**values))

    return build


async def _bad_provider_event(s: AsyncSession) -> None:
    await s.execute(
        insert(PaymentProviderEvent).values(
            provider="paypal", event_id="evt_1", type="x", outcome="x"
        )
    )


def _webhook(**overrides: Any) -> Builder:
    async def build(s: AsyncSession) -> None:
        values: dict[str, Any] = {
            "url": "https://hooks.example.com/orderly", "events": ["order.paid"],
            "secret": "whsec_x", **overrides,
        }  # fmt: skip
        await s.execute(insert(Webhook).values(**values))

    return build


def _delivery(**overrides: Any) -> Builder:
    async def build(s: AsyncSession) -> None:
        webhook = await s.scalar(
            insert(Webhook)
            .values(url="https://hooks.example.com/o", events=["order.created"], secret="s")
            .returning(Webhook.id)
        )
        order = await _order(s)
        event = await s.scalar(
            insert(OrderEvent)
            .values(order_id=order, from_status=None, to_status="PENDING")
            .returning(OrderEvent.id)
        )
        values: dict[str, Any] = {
            "webhook_id": webhook, "order_event_id": event, "event": "order.created",
            **overrides,
        }  # fmt: skip
        await s.execute(insert(WebhookDelivery).values(**values))

    return build


async def _bad_failures(s: AsyncSession) -> None:
    await s.execute(insert(LoginThrottle).values(bucket="ip:1", window_start=FUTURE, failures=-1))


CHECK_CONSTRAINTS = """
    SELECT conname FROM pg_constraint
    WHERE contype = 'c' AND connamespace = 'public'::regnamespace
"""

CASES: dict[str, Builder] = {
    "ck_users_role": _bad_user_role,
    "ck_users_email_length": _bad_user_email,
    "ck_users_name_length": _bad_user_name,
    "ck_refresh_tokens_token_hash_length": _bad_token_hash,
    "ck_products_price_not_negative": _bad_price,
    "ck_products_stock_not_negative": _bad_stock,
    "ck_products_name_length": _bad_product_name,
    "ck_products_description_length": _bad_description,
    "ck_orders_status": _bad_status,
    "ck_orders_total_not_negative": _bad_total,
    "ck_orders_currency_code": _bad_currency,
    "ck_orders_idempotency_key_length": _bad_key_length,
    "ck_orders_idempotency_pair": _key_without_hash,
    "ck_order_items_quantity_range": _item(quantity=1001, subtotal_minor=100_100),
    "ck_order_items_unit_price_not_negative": _item(unit_price_minor=-1, subtotal_minor=-2),
    "ck_order_items_subtotal_product": _item(subtotal_minor=199),
    "ck_order_events_from_status": _event(from_status="LOST"),
    "ck_order_events_to_status": _event(to_status="LOST"),
    "ck_order_events_moves": _event(from_status="PAID", to_status="PAID"),
    "ck_order_events_note_length": _event(note="n" * 1001),
    "ck_login_throttle_failures_not_negative": _bad_failures,
    "ck_payments_status": _payment(status="PAID"),
    "ck_payments_provider": _payment(provider="paypal"),
    "ck_payments_amount_not_negative": _payment(amount_minor=-1),
    "ck_payments_refunded_range": _payment(refunded_minor=101),
    "ck_payments_currency_code": _payment(currency="usd"),
    "ck_payments_failure_message_length": _payment(failure_message="m" * 1001),
    "ck_payment_provider_events_provider": _bad_provider_event,
    "ck_webhooks_url_length": _webhook(url=""),
    "ck_webhooks_events": _webhook(events=["order.lost"]),
    "ck_webhooks_description_length": _webhook(description="d" * 1001),
    "ck_webhook_deliveries_event": _delivery(event="order.lost"),
    "ck_webhook_deliveries_status": _delivery(status="LOST"),
    "ck_webhook_deliveries_attempts_not_negative": _delivery(attempts=-1),
}


@pytest.mark.parametrize("constraint", sorted(CASES))
async def test_check_constraint_refuses_bad_row(db_session: AsyncSession, constraint: str) -> None:
    savepoint = await db_session.begin_nested()
    with pytest.raises(IntegrityError) as refused:
        await CASES[constraint](db_session)
    await savepoint.rollback()
    assert constraint in str(refused.value)


async def test_quantity_zero_is_refused_too(db_session: AsyncSession) -> None:
    with pytest.raises(IntegrityError, match="ck_order_items_quantity_range"):
        await _item(quantity=0, subtotal_minor=0)(db_session)


async def test_every_check_constraint_has_a_case(db_session: AsyncSession) -> None:
    rows = await db_session.execute(text(CHECK_CONSTRAINTS))
    assert {row[0] for row in rows} == set(CASES)


@pytest.mark.parametrize(
    ("first", "second"),
    [("Ann@Example.com", "ann@example.COM"), ("ann@example.com", "\uff41nn@example.com"),
     ("karl@example.com", "\u212aarl@example.com")],
    ids=["case", "fullwidth", "kelvin-sign"],
)  # fmt: skip
async def test_email_is_unique_in_its_normalised_form(
    db_session: AsyncSession, first: str, second: str
) -> None:
    await db_session.execute(
        insert(User).values(email=first, email_key=email_key(first), name="A", password_hash="x")
    )
    with pytest.raises(IntegrityError, match="uq_users_email_key"):
        await db_session.execute(
            insert(User).values(
                email=second, email_key=email_key(second), name="B", password_hash="x"
            )
        )


async def test_idempotency_key_is_unique_per_customer(db_session: AsyncSession) -> None:
    customer = await _user(db_session)
    values = {"customer_id": customer, "total_minor": 0, "currency": "USD",
              "idempotency_key": "k", "request_hash": b"h"}  # fmt: skip
    await db_session.execute(insert(Order).values(**values))
    with pytest.raises(IntegrityError, match="uq_orders_customer_id_idempotency_key"):
        await db_session.execute(insert(Order).values(**values))
