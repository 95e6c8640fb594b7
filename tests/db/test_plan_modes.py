"""Compiled reads run on PostgreSQL's generic plan, searches on a plan made for their
pattern, whatever the pooled connection ran before."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.driver import fetch_value
from tests import pgbouncer
from web.state import AppState

MODE = "SELECT current_setting('plan_cache_mode') || $1::text"
# Behind PgBouncer the mode is never changed: tests/db/test_pgbouncer.py proves that.
# One pooled connection: every statement below runs on the same session.
pytestmark = [
    pytest.mark.skipif(pgbouncer.ENABLED, reason="plan modes are off behind PgBouncer"),
    pytest.mark.settings(db_pool_size=1),
]


async def test_each_statement_runs_in_the_plan_mode_it_asks_for(state: AppState) -> None:
    for generic in (True, True, False, True, False, False):
        mode = await fetch_value(state.engine, MODE, [""], generic_plan=generic)
        assert mode == ("force_generic_plan" if generic else "auto")


async def test_a_search_through_sqlalchemy_plans_per_execution_after_a_generic_read(
    state: AppState,
) -> None:
    assert await fetch_value(state.engine, MODE, [""], generic_plan=True) == "force_generic_plan"
    search = text("SELECT current_setting('plan_cache_mode') WHERE 'Lamp' ILIKE :pattern")
    async with state.reads() as db:
        assert await db.scalar(search, {"pattern": "%lamp%"}) == "auto"
    # The driver no longer knows the session's mode, so it sets the one it needs again.
    assert await fetch_value(state.engine, MODE, [""], generic_plan=True) == "force_generic_plan"
    async with state.sessions.begin() as db:
        assert await db.scalar(search, {"pattern": "%lamp%"}) == "auto"
        await db.rollback()  # undoes the setting made inside the transaction
    assert await fetch_value(state.engine, MODE, [""], generic_plan=False) == "auto"
    assert await fetch_value(state.engine, MODE, [""], generic_plan=True) == "force_generic_plan"
