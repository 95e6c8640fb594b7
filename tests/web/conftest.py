"""Fixtures of the web suite: a PostgreSQL of the test's own, for outages and faults."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.disposable_database import DisposableDatabase, disposable_database


@pytest.fixture
def database() -> Iterator[DisposableDatabase]:
    """A migrated PostgreSQL that the test may stop, freeze and restart.

    Its data lives outside pytest's temporary folders: PostgreSQL runs as another user, and
    pytest makes its own folder private again whenever another pytest run starts, which
    would keep a restart from reaching the data."""
    with (
        tempfile.TemporaryDirectory(prefix="orderly-test-db-") as folder,
        disposable_database(Path(folder) / "db") as database,
    ):
        yield database
