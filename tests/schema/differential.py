"""Two apps over one seeded database: compiled reads on, and the standard executor only.

The data is written once through the API (and a little SQL for what the API cannot make:
rows sharing a timestamp, an event whose actor is gone): customers, admins, products
(archived ones, sold-out ones, equal prices and names with LIKE wildcards), and orders in
every status, moved and cancelled by customers and admins, with notes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta, timezone
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from starlette.applications import Starlette

from auth.passwords import Passwords
from resolvers.ids import to_global_id
from resolvers.pagination import encode_cursor
from server import create_app
from settings import Settings
from tests.helpers import (
    BASE_URL,
    CANCEL_ORDER,
    CREATE_PRODUCT,
    DELETE_PRODUCT,
    PLACE_ORDER,
    TEST_SECRET,
    UPDATE_STATUS,
    NewProduct,
    insert_products,
    login,
    order_input,
    register,
)
from tests.schema.arguments import Pools
from tests.schema.documents import Document
from web.state import AppState

VIEWERS = ("anonymous", "client", "admin")
PEOPLE = (
    ("ada@example.com", "Ada Admin"),
    ("carol@example.com", "Carol Client"),
    ("dave@example.com", "Dave Doe"),
    ("erin@example.com", "Erin 100% Real"),
    ("rex@example.com", "Rex Root"),
    ("fay@example.com", "Fay_No_Orders"),
)
ADMINS = ("ada@example.com", "rex@example.com")
SAME_INSTANT = (
    NewProduct("Ceramic mug", 1999, 12, "A mug for coffee, 300 ml."),
    NewProduct("Travel mug", 1999, 0, "Insulated; sold out."),
    NewProduct("100% cotton apron", 2450, 5, "Apron, 100% cotton."),
    NewProduct("snake_case sticker", 1, 500, "A sticker with an under_score."),
    NewProduct("Free sample", 0, 3, "Coffee sample, free of charge."),
    NewProduct("Old kettle", 5900, 2, "Discontinued stove-top kettle."),
)
ONE_BY_ONE = (
    ("Pour-over kettle", "59.00", 7, "Gooseneck kettle."),
    ("Burr grinder", "129.00", 0, "Conical burrs, 40 settings."),
    ("Espresso beans", "24.50", 40, "Dark roast coffee, 1 kg."),
    ("Gift card", "1000.00", 100, ""),
    ("Paper filters", "6.50", 200, "Unbleached, for size 02."),
)
ARCHIVED = ("Old kettle", "Paper filters")
Lines = tuple[tuple[str, int], ...]  # (product name, quantity)
Moves = tuple[tuple[str, str, str | None], ...]  # (who, status, note)
ORDERS: tuple[tuple[str, Lines, Moves], ...] = (
    ("carol", (("Ceramic mug", 2),), ()),
    ("carol", (("Espresso beans", 1), ("Old kettle", 1)), (("ada", "PAID", "card"),)),
    ("carol", (("Free sample", 1),), (("ada", "PAID", None), ("rex", "SHIPPED", "DHL"))),
    ("carol", (("Paper filters", 3), ("Gift card", 1)),
     (("ada", "PAID", None), ("ada", "SHIPPED", None), ("rex", "DELIVERED", "signed"))),
    ("carol", (("Ceramic mug", 1),), (("carol", "CANCELLED", "changed my mind"),)),
    ("carol", (("Pour-over kettle", 1),), (("ada", "PAID", None), ("ada", "CANCELLED", "refund"))),
    ("dave", (("Ceramic mug", 2),), ()),
    ("dave", (("Old kettle", 1), ("snake_case sticker", 10)),
     (("rex", "PAID", None), ("rex", "SHIPPED", None), ("rex", "DELIVERED", None))),
    ("erin", (("100% cotton apron", 1),), (("ada", "PAID", "bank transfer"),)),
    ("erin", (("Espresso beans", 2),), (("erin", "CANCELLED", None),)),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer, its JSON with key order kept (see `ordered`)."""

    status: int
    content_type: str
    body: Any
    text: str = field(compare=False)


def loose(answer: Answer) -> Any:
    """The answer with the list indices in error paths blanked and the errors sorted.

    The standard executor resolves sibling fields concurrently: when several of them fail
    and the null propagates to a common parent, which error is reported (at which index)
    depends on timing. Only then is this form compared.
    """
    body = orjson.loads(answer.text)
    errors = body.get("errors")
    if isinstance(errors, list):
        for error in errors:
            error["path"] = [p if isinstance(p, str) else -1 for p in error.get("path", [])]
        body["errors"] = sorted(errors, key=lambda error: orjson.dumps(error))
    return (answer.status, answer.content_type, ordered(body))


def ordered(value: Any) -> Any:
    """`value` in a form whose equality also compares key order and JSON types."""
    if isinstance(value, dict):
        return ("object", tuple((key, ordered(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", tuple(ordered(item) for item in value))
    return (type(value).__name__, value)


@dataclass(slots=True)
class Harness:
    pools: Pools
    states: list[AppState]
    compiled: dict[str, httpx.AsyncClient]
    reference: dict[str, httpx.AsyncClient]
    stack: contextlib.AsyncExitStack

    async def answers(self, document: Document) -> list[tuple[str, Answer, Answer]]:
        """The document as every viewer, on the compiled app and on the reference app.

        All six requests run at once: the database is only read, and a request's answer
        does not depend on what runs beside it."""
        answers = await asyncio.gather(
            *(_post(side[viewer], document) for viewer in VIEWERS
              for side in (self.compiled, self.reference))
        )  # fmt: skip
        return [(viewer, answers[2 * i], answers[2 * i + 1]) for i, viewer in enumerate(VIEWERS)]

    async def again(self, viewer: str, document: Document, times: int) -> list[Answer]:
        """The reference answer, asked again `times` times at once."""
        http = self.reference[viewer]
        return list(await asyncio.gather(*(_post(http, document) for _ in range(times))))

    async def close(self) -> None:
        await self.stack.aclose()
        for state in self.states:
            await state.close()


async def _post(http: httpx.AsyncClient, document: Document) -> Answer:
    response = await http.post("/graphql", json=document.body())
    return Answer(
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        body=ordered(orjson.loads(response.content)),
        text=response.text,
    )


def settings_for(database_url: str) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=TEST_SECRET,
        allowed_origins=(BASE_URL,),
        cookie_secure=False,
    )


async def start(database_url: str, passwords: Passwords) -> Harness:
    """Seed the (migrated, empty) database and sign the viewers in on both apps."""
    settings = settings_for(database_url)
    apps = {
        on: create_app(replace(settings, graphql_compiler=on), database_url=database_url,
                       passwords=passwords)
        for on in (True, False)
    }  # fmt: skip
    stack = contextlib.AsyncExitStack()
    addresses = iter(range(1, 1000))

    async def client(app: Starlette) -> httpx.AsyncClient:
        number = next(addresses)
        transport = httpx.ASGITransport(app=app, client=(f"10.9.{number // 256}.{number % 256}", 1))
        http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        return await stack.enter_async_context(http)

    states: list[AppState] = [app.state.orderly for app in apps.values()]
    people = await _seed(apps[False], states[1], client)
    sides: dict[bool, dict[str, httpx.AsyncClient]] = {}
    for on, app in apps.items():
        sides[on] = {"anonymous": await client(app)}
        for viewer, email in (("client", "carol@example.com"), ("admin", "ada@example.com")):
            sides[on][viewer] = await client(app)
            assert (await login(sides[on][viewer], email))["userErrors"] == []
    assert set(people) == {email.split("@")[0] for email, _ in PEOPLE}
    pools = await _pools(states[1])
    return Harness(pools, states, sides[True], sides[False], stack)


async def _seed(app: Starlette, state: AppState, client: Any) -> dict[str, httpx.AsyncClient]:
    people: dict[str, httpx.AsyncClient] = {}
    for email, name in PEOPLE:
        people[email.split("@")[0]] = http = await client(app)
        await register(http, email, name=name)
    async with state.sessions.begin() as db:
        await db.execute(
            text("UPDATE users SET role = 'ADMIN' WHERE email = ANY(:emails)"), {"emails": ADMINS}
        )
        # two users created at the same instant: a tie the keyset order breaks by id
        await db.execute(
            text("UPDATE users SET created_at = (SELECT created_at FROM users WHERE email = :a) "
                 "WHERE email = :b"),
            {"a": "dave@example.com", "b": "erin@example.com"},
        )  # fmt: skip
    for email in ADMINS:
        assert (await login(people[email.split("@")[0]], email))["userErrors"] == []
    keys = dict(
        zip((p.name for p in SAME_INSTANT), await insert_products(state, SAME_INSTANT), strict=True)
    )
    ids = {name: to_global_id("Product", key) for name, key in keys.items()}
    for name, price, stock, description in ONE_BY_ONE:
        variables: dict[str, Any] = {
            "input": {"name": name, "price": price, "stock": stock, "description": description}
        }
        payload = await _data(people["ada"], CREATE_PRODUCT, variables, "createProduct")
        ids[name] = payload["product"]["id"]
    for customer, lines, moves in ORDERS:
        placed = await _data(
            people[customer],
            PLACE_ORDER,
            order_input([(ids[name], quantity) for name, quantity in lines]),
            "placeOrder",
        )
        order_id = placed["order"]["id"]
        for who, status, note in moves:
            if who in ("ada", "rex"):
                variables = {"id": order_id, "status": status, "note": note}
                await _data(people[who], UPDATE_STATUS, variables, "updateOrderStatus")
            else:
                variables = {"id": order_id, "reason": note}
                await _data(people[who], CANCEL_ORDER, variables, "cancelOrder")
    for name in ARCHIVED:
        await _data(people["ada"], DELETE_PRODUCT, {"id": ids[name]}, "deleteProduct")
    async with state.sessions.begin() as db:  # an actor since deleted (ON DELETE SET NULL)
        await db.execute(
            text("UPDATE order_events SET actor_id = NULL "
                 "WHERE id = (SELECT min(id) FROM order_events WHERE note = 'DHL')")
        )  # fmt: skip
        # payments through the provider on some orders: the client secret is for the
        # order's customer only
        await db.execute(
            text("""
                INSERT INTO payments (order_id, provider, provider_reference, client_secret,
                                      status, amount_minor, currency)
                SELECT id, 'stripe', 'pi_seed' || id, 'pi_seed' || id || '_secret_s',
                       CASE WHEN status = 'PENDING' THEN 'REQUIRES_PAYMENT' ELSE 'SUCCEEDED' END,
                       total_minor, currency
                FROM orders WHERE id % 2 = 1
            """)
        )
    return people


async def _data(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], name: str
) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    assert payload["userErrors"] == [], payload
    return payload


async def _pools(state: AppState) -> Pools:
    async with state.sessions() as db:
        products = (await db.execute(text(
            "SELECT id, name, price_minor, created_at, archived_at FROM products ORDER BY id"
        ))).all()  # fmt: skip
        orders = (await db.execute(
            text("SELECT id, created_at, total_minor FROM orders ORDER BY id")
        )).all()  # fmt: skip
        users = (await db.execute(text("SELECT id, created_at FROM users ORDER BY id"))).all()
    plus_two = timezone(timedelta(hours=2))
    return Pools(
        products=_ids("Product", [r.id for r in products if r.archived_at is None]),
        archived=_ids("Product", [r.id for r in products if r.archived_at is not None]),
        orders=_ids("Order", [r.id for r in orders]),
        users=_ids("User", [r.id for r in users]),
        product_cursors={
            "NAME": tuple(encode_cursor(r.name, r.id) for r in products),
            "PRICE": tuple(encode_cursor(r.price_minor, r.id) for r in products),
            "CREATED_AT": tuple(encode_cursor(r.created_at, r.id) for r in products),
        },
        order_cursors={
            "CREATED_AT": tuple(encode_cursor(r.created_at, r.id) for r in orders),
            "TOTAL": tuple(encode_cursor(r.total_minor, r.id) for r in orders),
        },
        user_cursors=tuple(encode_cursor(r.created_at, r.id) for r in users),
        timestamps=tuple(
            spelling
            for r in orders[::2]
            for spelling in (
                r.created_at.isoformat(),
                r.created_at.astimezone(plus_two).isoformat(),
            )
        ),
    )


def _ids(type_name: str, keys: Sequence[int]) -> tuple[str, ...]:
    return tuple(to_global_id(type_name, key) for key in keys)


RERUNS = 5  # how often a differing standard answer is asked again


@dataclass(frozen=True, slots=True)
class Bench:
    runner: asyncio.Runner
    harness: Harness

    def answers(self, document: Document) -> list[tuple[str, Answer, Answer]]:
        return self.runner.run(self.harness.answers(document))

    def check(self, viewer: str, document: Document, compiled: Answer, reference: Answer) -> str:
        """Whether the compiled answer is the standard one: "same", or "timing-dependent"
        when the standard executor itself answers differently from run to run."""
        if compiled == reference:
            return "same"
        again = self.runner.run(self.harness.again(viewer, document, RERUNS))
        varied = any(answer != reference for answer in again)
        # An answer with errors is always the standard executor's (the compiled path hands
        # every request that would fail to it), so two of them that differ only in which
        # sibling's error was reported differ by timing, even if five re-asks did not show it.
        executor_both = "errors" in orjson.loads(compiled.text)
        if compiled in again or ((varied or executor_both) and loose(compiled) == loose(reference)):
            return "timing-dependent"
        raise AssertionError(
            f"as {viewer}:\ncompiled ({compiled.status}): {compiled.text}\n"
            f"standard ({reference.status}): {reference.text}"
            + ("\n(the standard executor's answer varies between runs)" if varied else "")
        )
