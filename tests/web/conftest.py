"""Fixtures of the web suite: a PostgreSQL of the test's own, for outages and faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.disposable_database import DisposableDatabase, disposable_database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[DisposableDatabase]:
    """A migrated PostgreSQL that the test may stop, freeze and restart."""
    with disposable_database(tmp_path / "db") as database:
        yield database
