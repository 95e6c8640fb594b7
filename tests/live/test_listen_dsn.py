"""Where the LISTEN connection goes."""

from __future__ import annotations

from db.notifications import listen_dsn
from settings import Settings


def test_the_listen_connection_goes_to_the_direct_url_when_there_is_one() -> None:
    behind_pgbouncer = Settings(
        database_url="postgresql://orderly:pw@pgbouncer:6432/orderly",
        database_direct_url="postgresql+asyncpg://orderly:pw@db:5432/orderly",
    )
    dsn = listen_dsn(behind_pgbouncer, "postgresql://orderly:pw@pgbouncer:6432/orderly")
    assert dsn == "postgresql://orderly:pw@db:5432/orderly"


def test_otherwise_it_goes_to_the_database_the_app_uses() -> None:
    embedded = Settings()
    dsn = listen_dsn(embedded, "postgresql+asyncpg://postgres:@/orderly?host=%2Ftmp%2Fpg")
    assert dsn == "postgresql://postgres:@/orderly?host=%2Ftmp%2Fpg"
