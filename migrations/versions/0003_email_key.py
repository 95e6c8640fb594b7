"""emails compared in one normalised form (NFKC, case-folded)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

`users.email_key` holds the address in the form every comparison uses, with the unique
index that `lower(email)` had: PostgreSQL's lower() folds a KELVIN SIGN to `k` but leaves
fullwidth letters and the like alone, so look-alikes could take or shadow an address.
The user search matches this column too, so its trigram index moves to it.

Existing rows get their key here. Two accounts whose addresses only now compare equal are
look-alikes of each other: the older keeps the address; each newer one gets a key no address
can have (`#<id>:...`), so it can no longer sign in by email, and is reported in the log.
"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def _key(email: str) -> str:
    """resolvers.accounts.email_key as of this revision (a migration keeps its own copy)."""
    stored = unicodedata.normalize("NFKC", email.strip())
    return unicodedata.normalize("NFKC", stored.casefold())


def _backfill() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, email FROM users ORDER BY id")).all()
    owners: dict[str, int] = {}
    keys = []
    for user_id, email in rows:
        key = _key(email)
        if key in owners:
            log.warning(
                "user %d's email equals user %d's once normalised; it can no longer sign in "
                "by email until its address is changed",
                user_id,
                owners[key],
            )
            key = f"#{user_id}:{key}"
        else:
            owners[key] = user_id
        keys.append({"id": user_id, "key": key})
    if keys:
        connection.execute(sa.text("UPDATE users SET email_key = :key WHERE id = :id"), keys)


def upgrade() -> None:
    op.add_column("users", sa.Column("email_key", sa.Text(), nullable=True))
    _backfill()
    op.alter_column("users", "email_key", nullable=False)
    op.drop_index("uq_users_lower_email", table_name="users")
    op.create_index("uq_users_email_key", "users", ["email_key"], unique=True)
    op.drop_index("ix_users_email_trgm", table_name="users")
    op.create_index(
        "ix_users_email_key_trgm",
        "users",
        ["email_key"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"email_key": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_users_email_key_trgm", table_name="users")
    op.create_index(
        "ix_users_email_trgm",
        "users",
        ["email"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"email": "gin_trgm_ops"},
    )
    op.drop_index("uq_users_email_key", table_name="users")
    op.create_index(
        "uq_users_lower_email", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.drop_column("users", "email_key")
