"""Fixtures of the catalog suite: a catalogue of products, and the statements a test sends."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from sqlalchemy import event

from tests.helpers import (
    DELETE_PRODUCT,
    Actor,
    Captured,
    NewProduct,
    data,
    insert_products,
    product_id,
)
from web.state import AppState


@pytest.fixture
async def catalogue(request: pytest.FixtureRequest, admin: Actor, state: AppState) -> None:
    """The requesting module's CATALOGUE, inserted."""
    await insert_products(state, request.module.CATALOGUE)
    # An archived product matching every filter above must never show up.
    [archived] = await insert_products(
        state, [NewProduct("teapot_mug 100%", 1000, stock=1, description="ceramic")]
    )
    await data(admin.http, DELETE_PRODUCT, {"id": product_id(archived)})


@pytest.fixture
def captured(state: AppState) -> Iterator[Captured]:
    """Every statement (with its parameters) the application sends while the test runs:
    through SQLAlchemy, and the compiled reads that go to the driver directly (read from
    their DEBUG log, which also says how each is planned)."""
    statements: Captured = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    class Compiled(logging.Handler):
        def emit(self, entry: logging.LogRecord) -> None:
            if entry.getMessage().startswith("compiled "):
                sql, parameters, plan = cast(tuple[str, list[Any], str], entry.args)
                assert plan == "custom", "a search must plan with its pattern"
                statements.append((sql, tuple(parameters)))

    compiled_log = logging.getLogger("orderly.compiled")
    handler, level = Compiled(), compiled_log.level
    compiled_log.addHandler(handler)
    compiled_log.setLevel(logging.DEBUG)
    event.listen(state.engine.sync_engine, "before_cursor_execute", record)
    yield statements
    event.remove(state.engine.sync_engine, "before_cursor_execute", record)
    compiled_log.removeHandler(handler)
    compiled_log.setLevel(level)
