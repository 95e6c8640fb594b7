"""Model-based test: random sequences of catalogue and order operations through the real API.

After every step the database must agree with a small in-memory model (stock per product,
status per order), and for every product: stock + units in live (not cancelled) orders ==
initial stock + restocked amounts.

With payments through (a local fake) Stripe, the machine also starts payments, delivers
their successes (sometimes twice) and lets orders expire: a success pays a PENDING order and
refunds a cancelled one, an expired order is cancelled and restocked once, and every
payment's status and every refund at Stripe agree with the model.

A Hypothesis state machine drives a synchronous test: every rule runs its HTTP call on one
event loop of our own (`asyncio.Runner`) against an app built for this test, whose product
and order tables are emptied at the start of every example (the signed-in users survive).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from auth.passwords import Passwords
from db.models import Base
from resolvers.payments import expire_unpaid_orders
from server import create_app
from settings import Settings
from tests.helpers import (
    BASE_URL,
    CANCEL_ORDER,
    CREATE_PRODUCT,
    PLACE_ORDER,
    START_PAYMENT,
    UPDATE_PRODUCT,
    UPDATE_STATUS,
    data,
    deliver_stripe_event,
    login,
    order_input,
    order_key,
    password_hash,
    product_key,
    stripe_event,
    with_settings,
)
from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, running
from web.state import AppState

FORWARD_FROM = {"PAID": "PENDING", "SHIPPED": "PAID", "DELIVERED": "SHIPPED"}
NEXT = "NEXT"  # whatever status follows the order's current one (PAID after a final one)
FOLLOWING = {"PENDING": "PAID", "PAID": "SHIPPED", "SHIPPED": "DELIVERED"}
CANCELLABLE_FROM = {"admin": {"PENDING", "PAID"}, "owner": {"PENDING"}, "other": set()}


@dataclass(frozen=True, slots=True)
class Create:
    stock: int
    price_minor: int


@dataclass(frozen=True, slots=True)
class Place:
    customer: int
    lines: tuple[tuple[int, int], ...]  # (product reference, quantity)


@dataclass(frozen=True, slots=True)
class Move:
    order: int
    status: str  # PAID, SHIPPED, DELIVERED or NEXT


@dataclass(frozen=True, slots=True)
class Cancel:
    order: int
    by: str  # "admin" (cancelOrder), "admin-status" (updateOrderStatus), "owner", "other"


@dataclass(frozen=True, slots=True)
class Restock:
    product: int
    stock: int


@dataclass(frozen=True, slots=True)
class StartPayment:
    order: int


@dataclass(frozen=True, slots=True)
class PaymentSucceeds:
    order: int
    deliveries: int  # how often Stripe delivers the event


@dataclass(frozen=True, slots=True)
class Expire:
    order: int  # this order falls due (with any other due before), then a sweep runs


Operation = Create | Place | Move | Cancel | Restock | StartPayment | PaymentSucceeds | Expire

REFERENCE = st.integers(min_value=0, max_value=50)
RECENT = st.integers(min_value=0, max_value=3)  # counted from the newest order
CREATE = st.builds(Create, stock=st.integers(0, 20), price_minor=st.integers(0, 99_999))
PLACE = st.builds(
    Place,
    customer=st.integers(0, 1),
    lines=st.lists(st.tuples(REFERENCE, st.integers(1, 3)), min_size=1, max_size=2).map(tuple),
)
MOVE = st.builds(Move, order=RECENT, status=st.sampled_from([*FORWARD_FROM, NEXT]))
CANCEL = st.builds(
    Cancel, order=RECENT, by=st.sampled_from(["admin", "admin-status", "owner", "other"])
)
RESTOCK = st.builds(Restock, product=REFERENCE, stock=st.integers(0, 30))
START = st.builds(StartPayment, order=RECENT)
SUCCEED = st.builds(PaymentSucceeds, order=RECENT, deliveries=st.integers(1, 2))
EXPIRE = st.builds(Expire, order=RECENT)


@dataclass(slots=True)
class ModelOrder:
    id: str
    key: int
    customer: int
    lines: dict[int, int]  # product index → units
    status: str = "PENDING"
    intent: str | None = None  # the PaymentIntent, once a payment is started
    payment: str | None = None  # its status: REQUIRES_PAYMENT, SUCCEEDED, REFUNDED...
    due: bool = False  # older than the payment timeout


@dataclass(slots=True)
class Model:
    product_ids: list[str] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)
    product_keys: list[int] = field(default_factory=list)
    stock: list[int] = field(default_factory=list)
    initial: list[int] = field(default_factory=list)
    restocked: list[int] = field(default_factory=list)
    orders: list[ModelOrder] = field(default_factory=list)
    refunds: int = 0


@dataclass(slots=True)
class Harness:
    state: AppState
    admin: httpx.AsyncClient
    customers: list[httpx.AsyncClient]
    stack: contextlib.AsyncExitStack
    stripe: FakeStripe | None = None  # payments through (the fake) Stripe

    @classmethod
    async def start(cls, app: Any, state: AppState, stripe: FakeStripe | None = None) -> Harness:
        await truncate(state, [table.name for table in Base.metadata.sorted_tables])
        stack = contextlib.AsyncExitStack()
        clients: list[httpx.AsyncClient] = []
        for n, role in enumerate(("ADMIN", "CLIENT", "CLIENT")):
            email = f"model{n}@example.com"
            async with state.sessions.begin() as db:
                await db.execute(
                    text(
                        "INSERT INTO users (email, email_key, name, role, password_hash) "
                        "VALUES (:email, lower(:email), 'Model user', :role, :hash)"
                    ),
                    {"email": email, "role": role, "hash": password_hash(state.passwords)},
                )
            transport = httpx.ASGITransport(app=app, client=(f"10.9.9.{n}", 4711))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=BASE_URL)
            )
            assert (await login(http, email))["userErrors"] == []
            clients.append(http)
        return cls(state=state, admin=clients[0], customers=clients[1:], stack=stack, stripe=stripe)

    async def close(self) -> None:
        await self.stack.aclose()
        await truncate(self.state, [table.name for table in Base.metadata.sorted_tables])

    async def reset(self, model: Model, initial: list[int]) -> None:
        async with self.state.sessions.begin() as db:  # DELETE: far cheaper than TRUNCATE here
            for table in ("order_events", "order_items", "orders", "products"):
                await db.execute(text(f"DELETE FROM {table}"))  # fixed names
        if self.stripe is not None:
            self.stripe.reset()
        for stock in initial:
            await self.create(model, Create(stock=stock, price_minor=1999))

    async def apply(self, model: Model, operation: Operation) -> None:
        if isinstance(operation, Create):
            await self.create(model, operation)
        elif isinstance(operation, Place):
            await self.place(model, operation)
        elif isinstance(operation, Restock):
            await self.restock(model, operation)
        elif isinstance(operation, StartPayment):
            await self.start_payment(model, operation)
        elif isinstance(operation, PaymentSucceeds):
            await self.payment_succeeds(model, operation)
        elif isinstance(operation, Expire):
            await self.expire(model, operation)
        else:
            await self.move(model, operation)

    async def create(self, model: Model, operation: Create) -> None:
        price = f"{operation.price_minor // 100}.{operation.price_minor % 100:02d}"
        variables = {"input": {"name": "Thing", "price": price, "stock": operation.stock}}
        payload = (await data(self.admin, CREATE_PRODUCT, variables))["createProduct"]
        assert payload["userErrors"] == [], payload
        model.product_ids.append(payload["product"]["id"])
        model.product_keys.append(product_key(payload["product"]["id"]))
        model.stock.append(operation.stock)
        model.initial.append(operation.stock)
        model.prices.append(operation.price_minor)
        model.restocked.append(0)

    async def place(self, model: Model, operation: Place) -> None:
        wanted: Counter[int] = Counter()
        for reference, quantity in operation.lines:
            wanted[reference % len(model.product_ids)] += quantity
        lines = [(model.product_ids[r % len(model.product_ids)], q) for r, q in operation.lines]
        http = self.customers[operation.customer]
        payload = (await data(http, PLACE_ORDER, order_input(lines)))["placeOrder"]
        short = [index for index, units in wanted.items() if units > model.stock[index]]
        if short:
            assert payload["order"] is None, payload
            assert [e["code"] for e in payload["userErrors"]] == ["INSUFFICIENT_STOCK"] * len(
                short
            ), payload
            return
        assert payload["userErrors"] == [], payload
        for index, units in wanted.items():
            model.stock[index] -= units
        order_id = payload["order"]["id"]
        model.orders.append(ModelOrder(order_id, order_key(order_id), operation.customer, wanted))

    async def restock(self, model: Model, operation: Restock) -> None:
        index = operation.product % len(model.product_ids)
        variables = {"id": model.product_ids[index], "input": {"stock": operation.stock}}
        payload = (await data(self.admin, UPDATE_PRODUCT, variables))["updateProduct"]
        assert payload["userErrors"] == [], payload
        model.restocked[index] += operation.stock - model.stock[index]
        model.stock[index] = operation.stock

    async def move(self, model: Model, operation: Move | Cancel) -> None:
        order = model.orders[-1 - operation.order % len(model.orders)]
        if isinstance(operation, Move):
            to_status = operation.status
            if to_status == NEXT:
                to_status = FOLLOWING.get(order.status, "PAID")
            allowed = FORWARD_FROM[to_status] == order.status
            variables = {"id": order.id, "status": to_status}
            payload = (await data(self.admin, UPDATE_STATUS, variables))["updateOrderStatus"]
            refusal = "INVALID_TRANSITION"
        else:
            role = "admin" if operation.by.startswith("admin") else operation.by
            allowed = order.status in CANCELLABLE_FROM[role]
            to_status = "CANCELLED"
            refusal = "NOT_FOUND" if role == "other" else "INVALID_TRANSITION"
            if operation.by == "admin-status":
                variables = {"id": order.id, "status": "CANCELLED"}
                payload = (await data(self.admin, UPDATE_STATUS, variables))["updateOrderStatus"]
            else:
                http = {
                    "admin": self.admin,
                    "owner": self.customers[order.customer],
                    "other": self.customers[1 - order.customer],
                }[operation.by]
                payload = (await data(http, CANCEL_ORDER, {"id": order.id}))["cancelOrder"]
        if not allowed:
            assert payload["order"] is None, (operation, order.status, payload)
            assert [e["code"] for e in payload["userErrors"]] == [refusal], payload
            return
        assert payload["userErrors"] == [], (operation, order.status, payload)
        assert payload["order"]["status"] == to_status
        if to_status == "CANCELLED":
            self.cancelled(model, order)
            if order.payment == "SUCCEEDED":
                order.payment = "REFUNDED"
                model.refunds += 1
            elif order.payment == "REQUIRES_PAYMENT":
                order.payment = "CANCELED"  # the intent is cancelled at Stripe
        order.status = to_status

    def cancelled(self, model: Model, order: ModelOrder) -> None:
        for index, units in order.lines.items():
            model.stock[index] += units

    async def start_payment(self, model: Model, operation: StartPayment) -> None:
        order = model.orders[-1 - operation.order % len(model.orders)]
        http = self.customers[order.customer]
        payload = (await data(http, START_PAYMENT, {"orderId": order.id}))["startPayment"]
        if order.status != "PENDING":
            assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"], payload
            return
        if sum(model.prices[i] * units for i, units in order.lines.items()) == 0:
            # Nothing to charge: the provider refuses an amount of 0.
            assert [e["code"] for e in payload["userErrors"]] == ["PAYMENT_PROVIDER_ERROR"]
            return
        assert payload["userErrors"] == [], payload
        payment = payload["payment"]
        if order.intent is not None:
            assert payment["providerReference"] == order.intent, payload
        order.intent = payment["providerReference"]
        order.payment = payment["status"]
        assert order.payment == "REQUIRES_PAYMENT", payload

    async def payment_succeeds(self, model: Model, operation: PaymentSucceeds) -> None:
        """The customer pays at Stripe (even after the order was cancelled: a race)."""
        assert self.stripe is not None
        started = [o for o in model.orders if o.intent is not None and o.payment != "SUCCEEDED"]
        started = [o for o in started if o.payment != "REFUNDED"]
        if not started:
            return
        order = started[operation.order % len(started)]
        assert order.intent is not None
        intent = self.stripe.set_status(order.intent, "succeeded")
        body = stripe_event("payment_intent.succeeded", intent)
        for _ in range(operation.deliveries):
            answer = await deliver_stripe_event(self.admin, body)
            assert answer.status_code == 200, answer.text
        if order.status == "PENDING":
            order.status, order.payment = "PAID", "SUCCEEDED"
        elif order.status == "CANCELLED":
            order.payment = "REFUNDED"
            model.refunds += 1
        else:  # marked paid by hand meanwhile
            order.payment = "SUCCEEDED"

    async def expire(self, model: Model, operation: Expire) -> None:
        order = model.orders[-1 - operation.order % len(model.orders)]
        order.due = True
        async with self.state.sessions.begin() as db:
            await db.execute(
                text("UPDATE orders SET created_at = now() - interval '31 minutes' WHERE id = :id"),
                {"id": order.key},
            )
        await expire_unpaid_orders(self.state.sessions, self.state.payments, timeout_minutes=30)
        for due in model.orders:
            if due.due and due.status == "PENDING":
                due.status = "CANCELLED"
                self.cancelled(model, due)
                if due.payment == "REQUIRES_PAYMENT":
                    due.payment = "CANCELED"

    async def check(self, model: Model, where: str) -> None:
        async with self.state.sessions() as db:
            rows = list(
                await db.execute(
                    text("""
                        SELECT 'stock' AS kind, id, stock AS value, NULL AS status FROM products
                        UNION ALL
                        SELECT 'order', id, NULL, status FROM orders
                        UNION ALL
                        SELECT 'live', i.product_id, sum(i.quantity), NULL
                        FROM order_items i JOIN orders o ON o.id = i.order_id
                        WHERE o.status <> 'CANCELLED' GROUP BY i.product_id
                    """)
                )
            )
        stock = {row.id: row.value for row in rows if row.kind == "stock"}
        statuses = {row.id: row.status for row in rows if row.kind == "order"}
        live = {row.id: row.value for row in rows if row.kind == "live"}
        assert stock == dict(zip(model.product_keys, model.stock, strict=True)), where
        assert statuses == {o.key: o.status for o in model.orders}, where
        for index, key in enumerate(model.product_keys):
            accounted = stock[key] + live.get(key, 0)
            assert accounted == model.initial[index] + model.restocked[index], (where, index)
        if self.stripe is None:
            return
        async with self.state.sessions() as db:
            found = await db.execute(text("SELECT order_id, status FROM payments"))
            payments: dict[int, str] = {row.order_id: row.status for row in found}
            paid_twice = await db.scalar(
                text("""
                    SELECT count(*) FROM (SELECT order_id FROM order_events
                    WHERE to_status = 'PAID' GROUP BY order_id HAVING count(*) > 1) AS twice
                """)
            )
        expected = {o.key: o.payment for o in model.orders if o.payment is not None}
        assert payments == expected, where
        assert paid_twice == 0, where
        assert len(self.stripe.refunds) == model.refunds, where


async def truncate(state: AppState, tables: list[str]) -> None:
    async with state.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def test_random_operation_sequences_keep_stock_and_orders_consistent(
    settings: Settings, database_url: str
) -> None:
    _run_machine(settings, database_url, None, max_examples=20)


def test_with_stripe_payments_and_expiry_too(settings: Settings, database_url: str) -> None:
    with running() as stripe:
        stripe_settings = with_settings(
            settings, payments="stripe", stripe_secret_key=SECRET_KEY,
            stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=stripe.url, payment_timeout=30,
        )  # fmt: skip
        _run_machine(stripe_settings, database_url, stripe, max_examples=15)


def _run_machine(
    settings: Settings, database_url: str, stripe: FakeStripe | None, *, max_examples: int
) -> None:
    # A hasher of our own: its semaphore must not be tied to pytest-asyncio's event loop.
    passwords = Passwords(memory_kib=64, time_cost=1)
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        app = create_app(settings, database_url=database_url, passwords=passwords)
        state: AppState = app.state.orderly
        harness = runner.run(Harness.start(app, state, stripe))
        try:
            run_state_machine_as_test(
                machine(runner, harness),
                settings=hypothesis_settings(
                    max_examples=max_examples,
                    stateful_step_count=25,
                    deadline=None,
                    database=None,
                    # Shrinking replays whole runs through the API for minutes; the failure
                    # message already names the step and the operation that went wrong.
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                ),
            )
        finally:
            runner.run(harness.close())
            runner.run(state.close())


def machine(runner: asyncio.Runner, harness: Harness) -> type[RuleBasedStateMachine]:
    """A state machine class whose rules play operations through `harness` on `runner`."""

    class Shop(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = Model()
            self.steps = 0
            self.last = "setup"

        def play(self, operation: Operation) -> None:
            self.steps += 1
            self.last = f"step {self.steps}: {operation}"
            runner.run(harness.apply(self.model, operation))

        def has_products(self) -> bool:
            return bool(self.model.product_ids)

        def has_orders(self) -> bool:
            return bool(self.model.orders)

        @initialize(initial=st.lists(st.integers(0, 30), min_size=1, max_size=3))
        def open_shop(self, initial: list[int]) -> None:
            runner.run(harness.reset(self.model, initial))

        @precondition(lambda self: len(self.model.product_ids) < 5)
        @rule(operation=CREATE)
        def create(self, operation: Create) -> None:
            self.play(operation)

        @precondition(has_products)
        @rule(operation=PLACE)
        def place(self, operation: Place) -> None:
            self.play(operation)

        @precondition(has_orders)
        @rule(operation=MOVE)
        def move(self, operation: Move) -> None:
            self.play(operation)

        @precondition(has_orders)
        @rule(order=RECENT)
        def advance(self, order: int) -> None:  # the most common move: to the next status
            self.play(Move(order=order, status=NEXT))

        @precondition(has_orders)
        @rule(operation=CANCEL)
        def cancel(self, operation: Cancel) -> None:
            self.play(operation)

        @precondition(has_products)
        @rule(operation=RESTOCK)
        def restock(self, operation: Restock) -> None:
            self.play(operation)

        def pays(self) -> bool:
            return harness.stripe is not None and bool(self.model.orders)

        @precondition(pays)
        @rule(operation=START)
        def start_payment(self, operation: StartPayment) -> None:
            self.play(operation)

        @precondition(pays)
        @rule(operation=SUCCEED)
        def payment_succeeds(self, operation: PaymentSucceeds) -> None:
            self.play(operation)

        @precondition(pays)
        @rule(order=RECENT)
        def pay_now(self, order: int) -> None:  # the common path: start, then pay at once
            self.play(StartPayment(order=order))
            self.play(PaymentSucceeds(order=0, deliveries=1))

        @precondition(pays)
        @rule(operation=EXPIRE)
        def expire(self, operation: Expire) -> None:
            self.play(operation)

        @invariant()
        def matches_the_model(self) -> None:
            runner.run(harness.check(self.model, self.last))

    return Shop
