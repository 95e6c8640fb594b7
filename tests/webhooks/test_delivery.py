"""Delivering the outbox to a real HTTP receiver: committed changes only, signed, retried,
once per attempt however many dispatchers race, the same webhook-id on a redelivery."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from db.engine import create_engine, create_session_factory
from resolvers.webhook_dispatch import dispatch_due, retry_delay, sign
from settings import Settings
from tests.helpers import (
    REPLAY,
    Actor,
    an_order,
    count,
    data,
    drain,
    listed_webhooks,
    move_ok,
    order_key,
    sql_execute,
    sql_rows,
    verified,
    webhook_ok,
)
from tests.webhooks.receiver import receiving
from web.state import AppState


async def test_a_committed_change_is_delivered_signed(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving() as receiver:
        created = await webhook_ok(admin, receiver.url, ["ORDER_CREATED", "ORDER_SHIPPED"])
        order = await an_order(state, customer)
        await move_ok(admin, order["id"], "PAID", "SHIPPED")
        await drain(state, settings)
        assert len(receiver.received) == 2  # PAID was not asked for
        created_event, shipped = receiver.received
        body = verified(created["secret"], created_event.headers, created_event.body)
        assert body["type"] == "order.created"
        sent = body["data"]["order"]  # type: ignore[index]
        assert sent["id"] == order["id"]
        assert sent["status"] == "PENDING"
        assert sent["customerId"] == customer.id
        assert sent["total"] == {"amount": "39.98", "currency": "USD"}
        assert [(i["productName"], i["quantity"]) for i in sent["items"]] == [("Widget", 2)]
        assert sent["event"]["fromStatus"] is None
        later = verified(created["secret"], shipped.headers, shipped.body)
        assert later["type"] == "order.shipped"
        assert later["data"]["order"]["status"] == "SHIPPED"  # type: ignore[index]
        assert later["data"]["order"]["event"]["fromStatus"] == "PAID"  # type: ignore[index]
        assert shipped.headers["content-type"] == "application/json"
        assert created_event.webhook_id != shipped.webhook_id
        # A tampered body or another secret fails verification.
        with pytest.raises(Exception, match="signature"):
            verified(created["secret"], shipped.headers, shipped.body.replace(b"SHIPPED", b"X"))
    [node] = await listed_webhooks(admin)
    deliveries = node["deliveries"]["nodes"]
    outcomes = [(d["event"], d["status"], d["attempts"], d["lastResponseCode"]) for d in deliveries]
    assert outcomes == [
        ("ORDER_SHIPPED", "SUCCEEDED", 1, 200),
        ("ORDER_CREATED", "SUCCEEDED", 1, 200),
    ]
    assert deliveries[0]["id"] == shipped.webhook_id
    assert deliveries[0]["nextAttemptAt"] is None


async def test_a_rolled_back_change_is_never_announced(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving() as receiver:
        await webhook_ok(admin, receiver.url)
        order = await an_order(state, customer)
        await drain(state, settings)
        assert len(receiver.received) == 1
        with pytest.raises(RuntimeError, match="changed my mind"):
            async with state.sessions.begin() as db:
                await db.execute(
                    text("INSERT INTO order_events (order_id, from_status, to_status) "
                         "VALUES (:id, 'PENDING', 'PAID')"),
                    {"id": order_key(order["id"])},
                )  # fmt: skip
                written = await db.scalar(text("SELECT count(*) FROM webhook_deliveries"))
                assert written == 2  # in the transaction, beside the change
                raise RuntimeError("changed my mind")
        assert await count(state, "webhook_deliveries") == 1
        await drain(state, settings)
        assert len(receiver.received) == 1


async def test_an_inactive_or_uninterested_endpoint_gets_nothing(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving() as receiver:
        await webhook_ok(admin, receiver.url, ["ORDER_DELIVERED"])
        await an_order(state, customer)
        await drain(state, settings)
        assert receiver.received == []
        assert await count(state, "webhook_deliveries") == 0


async def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving([500, 503, 404]) as receiver:
        created = await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        await an_order(state, customer)
        await drain(state, settings)
        assert receiver.answered == [500, 503, 404, 200]
        assert len({r.webhook_id for r in receiver.received}) == 1  # the same message
        for request in receiver.received:
            verified(created["secret"], request.headers, request.body)
    [node] = await listed_webhooks(admin)
    [delivery] = node["deliveries"]["nodes"]
    assert (delivery["status"], delivery["attempts"], delivery["lastResponseCode"]) == (
        "SUCCEEDED", 4, 200,
    )  # fmt: skip


async def test_a_delivery_older_than_a_day_that_fails_is_failed(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving([500]) as receiver:
        await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        await an_order(state, customer)
        await sql_execute(
            state, "UPDATE webhook_deliveries SET created_at = now() - interval '25 hours'"
        )
        await drain(state, settings)
        assert receiver.answered == [500]
    [row] = await sql_rows(
        state, "SELECT status, attempts, last_response_code, last_error FROM webhook_deliveries"
    )
    assert tuple(row) == ("FAILED", 1, 500, "Answered 500.")


async def test_an_unreachable_receiver_is_retried_later(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving() as receiver:
        url = receiver.url
    await webhook_ok(admin, url, ["ORDER_CREATED"])  # nobody listens there any more
    await an_order(state, customer)
    slow = replace(settings, webhook_retry_base=3600)
    assert await dispatch_due(state.sessions, slow) == 1
    [row] = await sql_rows(
        state, "SELECT status, attempts, last_response_code, last_error, "
        "next_attempt_at > now() + interval '20 minutes' AS later FROM webhook_deliveries",
    )  # fmt: skip
    assert (row.status, row.attempts, row.last_response_code, row.later) == (
        "PENDING", 1, None, True,
    )  # fmt: skip
    assert "failed" in row.last_error
    assert await dispatch_due(state.sessions, slow) == 0  # not due yet


def test_the_backoff_doubles_with_jitter_up_to_a_ceiling() -> None:
    for attempt in range(1, 8):
        delay = retry_delay(attempt, 10)
        assert 10 * 2 ** (attempt - 1) / 2 <= delay <= 10 * 2 ** (attempt - 1)
    assert 7200 <= retry_delay(30, 10) <= 4 * 3600
    assert len({retry_delay(3, 10) for _ in range(20)}) > 1


async def test_a_private_address_is_refused_again_at_delivery_time(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    """The guard runs at each attempt: an endpoint whose name now leads somewhere private
    (DNS rebinding) is not called."""
    async with receiving() as receiver:
        await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        await an_order(state, customer)
        guarded = replace(settings, webhook_allow_private=False)
        assert await dispatch_due(state.sessions, guarded) == 1
        assert receiver.received == []
    [row] = await sql_rows(state, "SELECT status, last_error FROM webhook_deliveries")
    assert row.status == "PENDING"
    assert row.last_error == "A webhook URL must be https."


async def test_four_dispatchers_racing_never_send_one_attempt_twice(
    admin: Actor, customer: Actor, state: AppState, settings: Settings, database_url: str
) -> None:
    async with receiving() as receiver:
        await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        for _ in range(15):
            await an_order(state, customer)
        engines = [create_engine(settings, database_url) for _ in range(4)]
        try:
            factories = [create_session_factory(engine) for engine in engines]

            async def dispatcher(sessions: object) -> None:
                for _ in range(30):
                    await dispatch_due(sessions, settings, limit=3)  # type: ignore[arg-type]

            await asyncio.gather(*(dispatcher(f) for f in factories))
        finally:
            for engine in engines:
                await engine.dispose()
        ids = [r.webhook_id for r in receiver.received]
        assert len(ids) == 30
        assert len(set(ids)) == 30
    assert await count(state, "webhook_deliveries", "status = 'SUCCEEDED' AND attempts = 1") == 30


async def test_a_replay_is_sent_again_with_the_same_webhook_id(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving() as receiver:
        created = await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        await an_order(state, customer)
        await drain(state, settings)
        [first] = receiver.received
        replayed = (await data(admin.http, REPLAY, {"id": first.webhook_id}))[
            "replayWebhookDelivery"
        ]
        assert replayed["userErrors"] == []
        assert replayed["webhook"]["id"] == created["webhook"]["id"]
        assert replayed["secret"] is None
        await drain(state, settings)
        assert len(receiver.received) == 2
        again = receiver.received[1]
        assert again.webhook_id == first.webhook_id
        assert json.loads(again.body) == json.loads(first.body)
        assert int(again.headers["webhook-timestamp"]) <= datetime.now(UTC).timestamp() + 1
        verified(created["secret"], again.headers, again.body)
    [node] = await listed_webhooks(admin)
    [delivery] = node["deliveries"]["nodes"]
    assert (delivery["status"], delivery["attempts"]) == ("SUCCEEDED", 2)


async def test_deleting_an_endpoint_drops_its_pending_deliveries(
    admin: Actor, customer: Actor, state: AppState, settings: Settings
) -> None:
    async with receiving() as receiver:
        created = await webhook_ok(admin, receiver.url, ["ORDER_CREATED"])
        await an_order(state, customer)
        assert await count(state, "webhook_deliveries") == 1
        await data(admin.http, "mutation($id: ID!) { deleteWebhook(id: $id) { deletedId } }",
                   {"id": created["webhook"]["id"]})  # fmt: skip
        assert await count(state, "webhook_deliveries") == 0
        await drain(state, settings)
        assert receiver.received == []


def test_signatures_match_the_specifications_vector() -> None:
    """The example of the Standard Webhooks specification, signed by `sign`."""
    at = datetime.fromtimestamp(1614265330, UTC)
    headers = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", at,
        b'{"test": 2432232314}',
    )  # fmt: skip
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
