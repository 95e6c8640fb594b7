"""payments with a provider, their processed provider events, and expiring reservations

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00.000000

`payments`: one per order, the provider's payment (a Stripe PaymentIntent) with its status,
amount and refunds. `payment_provider_events`: the provider events already applied, keyed
by the provider's event id, written in the transaction that applies each one (exactly-once
processing of webhook deliveries). A partial index on pending orders serves the sweeper
that cancels orders left unpaid.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values of domain.codes as of this revision (a migration keeps its own copy).
_STATUSES = "'REQUIRES_PAYMENT', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELED', 'REFUNDED'"
_PROVIDERS = "'stripe'"


def _created(name: str) -> sa.Column[Any]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_reference", sa.Text(), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refund_reference", sa.Text(), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        _created("created_at"),
        _created("updated_at"),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_payments_status")),
        sa.CheckConstraint(f"provider IN ({_PROVIDERS})", name=op.f("ck_payments_provider")),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_payments_amount_not_negative")),
        sa.CheckConstraint(
            "refunded_minor BETWEEN 0 AND amount_minor", name=op.f("ck_payments_refunded_range")
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payments_currency_code")),
        sa.CheckConstraint(
            "failure_message IS NULL OR length(failure_message) <= 1000",
            name=op.f("ck_payments_failure_message_length"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payments_order_id_orders"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payments_order_id")),
        sa.UniqueConstraint("provider_reference", name=op.f("uq_payments_provider_reference")),
    )
    op.create_table(
        "payment_provider_events",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        _created("received_at"),
        sa.CheckConstraint(
            f"provider IN ({_PROVIDERS})", name=op.f("ck_payment_provider_events_provider")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_provider_events_payment_id_payments"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_payment_provider_events")),
    )
    op.create_index(
        op.f("ix_payment_provider_events_payment_id"), "payment_provider_events", ["payment_id"]
    )
    op.create_index(
        "ix_orders_pending_created_at_id", "orders", ["created_at", "id"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_orders_pending_created_at_id", table_name="orders")
    op.drop_index(
        op.f("ix_payment_provider_events_payment_id"), table_name="payment_provider_events"
    )
    op.drop_table("payment_provider_events")
    op.drop_table("payments")
