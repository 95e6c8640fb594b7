"""Sign-ins run on a loop of their own with their own connections (`web.sign_in_lane`)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import httpx
import pytest

from tests.helpers import PASSWORD, login, register
from web.sign_in_lane import SignInServices
from web.state import AppState

# One read connection, held by the test: every read then waits and gives up after 0.3 s.
pytestmark = pytest.mark.settings(db_pool_size=1, db_pool_timeout=0.3)

REQUEST = contextvars.ContextVar[str]("request")


async def test_sign_ins_go_on_while_every_read_connection_is_held(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, "kept@example.com")
    client.cookies.clear()
    async with state.engine.connect():  # the read pool's only connection
        read = await client.get("/api/products")
        signed_in = await login(client, "kept@example.com")
        client.cookies.clear()  # a signed-in request has its session checked on the read pool
        joined = await register(client, "joined@example.com")
    assert read.status_code == 503  # the reads' pool really was exhausted
    assert signed_in["userErrors"] == []
    assert signed_in["user"]["email"] == "kept@example.com"
    assert joined["email"] == "joined@example.com"
    me = await client.get("/api/users/me")
    assert me.status_code == 200 and me.json()["email"] == "joined@example.com"


async def test_the_work_runs_on_the_lane_thread_in_the_callers_context(state: AppState) -> None:
    seen: dict[str, object] = {}

    async def work(services: SignInServices) -> str:
        seen["thread"] = threading.current_thread().name
        seen["loop"] = asyncio.get_running_loop()
        seen["services"] = services
        return REQUEST.get()

    REQUEST.set("request-7")
    assert await state.sign_in_lane.run(work) == "request-7"
    assert seen["thread"] == "sign-in"
    assert seen["loop"] is not asyncio.get_running_loop()
    assert seen["services"] is state.sign_in_lane.services


async def test_errors_reach_the_caller(state: AppState) -> None:
    async def work(services: SignInServices) -> None:
        raise LookupError("from the lane")

    with pytest.raises(LookupError, match="from the lane"):
        await state.sign_in_lane.run(work)


async def test_cancelling_the_caller_cancels_the_work(state: AppState) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def work(services: SignInServices) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    caller = asyncio.create_task(state.sign_in_lane.run(work))
    assert await asyncio.to_thread(started.wait, 5)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await asyncio.to_thread(cancelled.wait, 5)


async def test_closing_ends_the_thread_and_its_connections(
    client: httpx.AsyncClient, state: AppState
) -> None:
    lane = state.sign_in_lane
    assert not lane.running  # started by the first sign-in, not before
    await register(client, "closing@example.com", password=PASSWORD)
    assert lane.running
    assert lane.services.engine.sync_engine.pool.checkedin() >= 1
    threads = _lane_threads()
    await lane.close()
    assert not lane.running
    assert lane.services.engine.sync_engine.pool.checkedin() == 0
    assert _lane_threads() == threads - 1


def _lane_threads() -> int:
    return sum(thread.name == "sign-in" for thread in threading.enumerate())
