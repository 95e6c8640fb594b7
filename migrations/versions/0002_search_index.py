"""trigram indexes for substring search

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, column, predicate): each matches one `column ILIKE '%term%'` of a search.
_INDEXES = (
    ("ix_products_live_name_trgm", "products", "name", "archived_at IS NULL"),
    ("ix_products_live_description_trgm", "products", "description", "archived_at IS NULL"),
    ("ix_users_name_trgm", "users", "name", None),
    ("ix_users_email_trgm", "users", "email", None),
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column, predicate in _INDEXES:
        op.create_index(
            name,
            table,
            [column],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_where=sa.text(predicate) if predicate else None,
        )


def downgrade() -> None:
    for name, table, _column, _predicate in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
