"""webhook endpoints, their deliveries (the transactional outbox), and order-change notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000

Every order change writes an `order_events` row, whoever makes it (checkout, fulfilment,
payments, expiry). One trigger on that table is therefore the single place where a change
is announced, in the transaction that makes it:

- a `webhook_deliveries` row for each active webhook that asked for the event (the outbox;
  the dispatchers deliver it after the commit, and a rolled-back change leaves none);
- `NOTIFY orderly_order_updated` with the order, its customer and the event, which
  PostgreSQL delivers to the listening workers on commit only.

Two more triggers tell the workers when a user's live subscriptions must end:
`NOTIFY orderly_session_ended` when a login session is revoked or removed (logout, password
change) and when a user's role or password changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values of domain.codes as of this revision (a migration keeps its own copy).
_EVENTS = "'order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.cancelled'"
_STATUSES = "'PENDING', 'SUCCEEDED', 'FAILED'"

_PUBLISH = """
CREATE FUNCTION orderly_publish_order_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text := CASE WHEN NEW.from_status IS NULL THEN 'order.created'
                      ELSE 'order.' || lower(NEW.to_status) END;
    customer bigint;
BEGIN
    SELECT customer_id INTO customer FROM orders WHERE id = NEW.order_id;
    INSERT INTO webhook_deliveries (webhook_id, order_event_id, event)
    SELECT w.id, NEW.id, kind FROM webhooks AS w WHERE w.active AND kind = ANY(w.events);
    PERFORM pg_notify(
        'orderly_order_updated',
        json_build_object('order', NEW.order_id, 'customer', customer, 'event', NEW.id)::text
    );
    RETURN NULL;
END
$$
"""


_SESSION_ENDED = """
CREATE FUNCTION orderly_session_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('orderly_session_ended', json_build_object('user', NEW.id)::text);
    ELSE
        PERFORM pg_notify(
            'orderly_session_ended',
            json_build_object('user', OLD.user_id, 'session', OLD.id)::text
        );
    END IF;
    RETURN NULL;
END
$$
"""

_SESSION_TRIGGERS = (
    "CREATE TRIGGER login_sessions_revoked AFTER UPDATE OF revoked_at ON login_sessions"
    " FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)"
    " EXECUTE FUNCTION orderly_session_ended()",
    "CREATE TRIGGER login_sessions_removed AFTER DELETE ON login_sessions"
    " FOR EACH ROW EXECUTE FUNCTION orderly_session_ended()",
    "CREATE TRIGGER users_access_changed AFTER UPDATE OF role, password_hash ON users"
    " FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role"
    " OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)"
    " EXECUTE FUNCTION orderly_session_ended()",
)


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(url) BETWEEN 1 AND 2000", name=op.f("ck_webhooks_url_length")),
        sa.CheckConstraint(
            f"cardinality(events) >= 1 AND events <@ ARRAY[{_EVENTS}]::text[]",
            name=op.f("ck_webhooks_events"),
        ),
        sa.CheckConstraint(
            "description IS NULL OR length(description) <= 1000",
            name=op.f("ck_webhooks_description_length"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index("ix_webhooks_created_at_id", "webhooks", ["created_at", "id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),
        sa.Column("order_event_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="PENDING", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(f"event IN ({_EVENTS})", name=op.f("ck_webhook_deliveries_event")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_webhook_deliveries_status")),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_event_id"],
            ["order_events.id"],
            name=op.f("fk_webhook_deliveries_order_event_id_order_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id",
            "order_event_id",
            name=op.f("uq_webhook_deliveries_webhook_id_order_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_order_event_id"),
        "webhook_deliveries",
        ["order_event_id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_id_created_at_id",
        "webhook_deliveries",
        ["webhook_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.execute(_PUBLISH)
    op.execute(
        "CREATE TRIGGER order_events_publish AFTER INSERT ON order_events"
        " FOR EACH ROW EXECUTE FUNCTION orderly_publish_order_event()"
    )
    op.execute(_SESSION_ENDED)
    for statement in _SESSION_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_access_changed ON users")
    op.execute("DROP TRIGGER login_sessions_removed ON login_sessions")
    op.execute("DROP TRIGGER login_sessions_revoked ON login_sessions")
    op.execute("DROP FUNCTION orderly_session_ended()")
    op.execute("DROP TRIGGER order_events_publish ON order_events")
    op.execute("DROP FUNCTION orderly_publish_order_event()")
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_index("ix_webhook_deliveries_webhook_id_created_at_id", table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_order_event_id"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_created_at_id", table_name="webhooks")
    op.drop_table("webhooks")
