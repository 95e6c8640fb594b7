"""The relational model. Alembic migrations are the only way it reaches a database."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.codes import DeliveryStatus, OrderStatus, PaymentStatus, Role, WebhookEvent

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = tuple(role.value for role in Role)
ORDER_STATUSES = tuple(status.value for status in OrderStatus)
PAYMENT_STATUSES = tuple(status.value for status in PaymentStatus)
PAYMENT_PROVIDERS = ("stripe",)
WEBHOOK_EVENTS = tuple(event.value for event in WebhookEvent)
DELIVERY_STATUSES = tuple(status.value for status in DeliveryStatus)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _trigram_index(name: str, column: str, *, where: str | None = None) -> Index:
    """A GIN trigram index: serves `column ILIKE '%term%'` for terms of 3+ characters."""
    return Index(
        name,
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_where=text(where) if where else None,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        CheckConstraint("length(email) BETWEEN 3 AND 320", name="email_length"),
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        # emails are compared in one form, NFKC then case-folded (resolvers.accounts.email_key)
        Index("uq_users_email_key", "email_key", unique=True),
        Index("ix_users_created_at_id", "created_at", "id"),
        _trigram_index("ix_users_name_trgm", "name"),
        _trigram_index("ix_users_email_key_trgm", "email_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    email_key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, server_default="CLIENT")
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class LoginSession(Base):
    """One sign-in: the family that every rotated refresh token descends from."""

    __tablename__ = "login_sessions"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(Text)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (CheckConstraint("length(token_hash) = 32", name="token_hash_length"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("refresh_tokens.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("length(description) <= 5000", name="description_length"),
        Index("ix_products_live_created_at_id", "created_at", "id",
              postgresql_where=text("archived_at IS NULL")),
        Index("ix_products_live_name_id", "name", "id",
              postgresql_where=text("archived_at IS NULL")),
        Index("ix_products_live_price_minor_id", "price_minor", "id",
              postgresql_where=text("archived_at IS NULL")),
        _trigram_index("ix_products_live_name_trgm", "name", where="archived_at IS NULL"),
        _trigram_index("ix_products_live_description_trgm", "description",
                       where="archived_at IS NULL"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, server_default="0")
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("status", ORDER_STATUSES), name="status"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        CheckConstraint(
            "idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 255",
            name="idempotency_key_length",
        ),
        CheckConstraint(
            "(idempotency_key IS NULL) = (request_hash IS NULL)", name="idempotency_pair"
        ),
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_total_minor_id", "total_minor", "id"),
        Index("ix_orders_customer_id_created_at_id", "customer_id", "created_at", "id"),
        Index("ix_orders_customer_id_total_minor_id", "customer_id", "total_minor", "id"),
        # the expiry sweeper's claim: the oldest unpaid orders first
        Index("ix_orders_pending_created_at_id", "created_at", "id",
              postgresql_where=text("status = 'PENDING'")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(Text, server_default="PENDING")
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_range"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        CheckConstraint("subtotal_minor = unit_price_minor * quantity", name="subtotal_product"),
        UniqueConstraint("order_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    product_name: Mapped[str] = mapped_column(Text)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)


class OrderEvent(Base):
    __tablename__ = "order_events"
    __table_args__ = (
        CheckConstraint(
            f"from_status IS NULL OR {_one_of('from_status', ORDER_STATUSES)}", name="from_status"
        ),
        CheckConstraint(_one_of("to_status", ORDER_STATUSES), name="to_status"),
        CheckConstraint("from_status IS DISTINCT FROM to_status", name="moves"),
        CheckConstraint("note IS NULL OR length(note) <= 1000", name="note_length"),
        Index("ix_order_events_order_id_at_id", "order_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = _created()


class Payment(Base):
    """An order's payment with the provider: one per order (a Stripe PaymentIntent, which
    a customer may retry after a failure). Amounts are in the order's minor units."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(_one_of("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint(_one_of("provider", PAYMENT_PROVIDERS), name="provider"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("refunded_minor BETWEEN 0 AND amount_minor", name="refunded_range"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        CheckConstraint(
            "failure_message IS NULL OR length(failure_message) <= 1000",
            name="failure_message_length",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(Text)
    provider_reference: Mapped[str] = mapped_column(Text, unique=True)
    client_secret: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refund_reference: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class PaymentProviderEvent(Base):
    """A provider event (a Stripe event id) already processed: its row is written in the
    transaction that applies it, so each event changes things once however often and
    however concurrently it is delivered."""

    __tablename__ = "payment_provider_events"
    __table_args__ = (CheckConstraint(_one_of("provider", PAYMENT_PROVIDERS), name="provider"),)

    provider: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = _created()


class LoginThrottle(Base):
    """Failed-login counters per bucket (an email or a client address) and fixed window."""

    __tablename__ = "login_throttle"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")


class Webhook(Base):
    """An endpoint an admin registered: told of the `events` it chose, signed with `secret`."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("length(url) BETWEEN 1 AND 2000", name="url_length"),
        CheckConstraint(
            "cardinality(events) >= 1 AND events <@ ARRAY["
            + ", ".join(repr(e) for e in WEBHOOK_EVENTS)
            + "]::text[]",
            name="events",
        ),
        CheckConstraint(
            "description IS NULL OR length(description) <= 1000", name="description_length"
        ),
        Index("ix_webhooks_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class WebhookDelivery(Base):
    """The outbox: one row per event and endpoint, written in the transaction of the change
    (by the trigger on order_events, migration 0005), delivered at least once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("event", WEBHOOK_EVENTS), name="event"),
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        UniqueConstraint("webhook_id", "order_event_id"),
        Index("ix_webhook_deliveries_webhook_id_created_at_id", "webhook_id", "created_at", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    order_event_id: Mapped[int] = mapped_column(
        ForeignKey("order_events.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="PENDING")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
