"""Registering webhook endpoints: admin only, the secret shown once, the URL guarded."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import pytest
from starlette.applications import Starlette

from auth.passwords import Passwords
from server import create_app
from settings import Settings
from tests.helpers import (
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    REPLAY,
    UPDATE_WEBHOOK,
    WEBHOOKS,
    Accounts,
    Actor,
    count,
    create_webhook,
    data,
    error_code,
    listed_webhooks,
    update_webhook,
    webhook_ok,
)
from web.state import AppState

RECEIVER = "https://93.184.215.14/hooks"  # a public address, never called by these tests


async def test_an_admin_registers_an_endpoint_and_sees_the_secret_once(
    admin: Actor, state: AppState
) -> None:
    payload = await webhook_ok(admin, RECEIVER, ["ORDER_PAID", "ORDER_CREATED"])
    secret = payload["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    webhook = payload["webhook"]
    assert webhook["url"] == RECEIVER
    assert webhook["events"] == ["ORDER_CREATED", "ORDER_PAID"]  # in the enum's order
    assert webhook["active"] is True
    assert await listed_webhooks(admin) == [
        {**webhook, "deliveries": {"totalCount": 0, "nodes": []}}
    ]
    # Every later answer about it carries no secret.
    changed = await update_webhook(
        admin, webhook["id"], {"description": "Back office", "active": False}
    )
    assert changed["secret"] is None
    assert changed["webhook"]["description"] == "Back office"
    assert changed["webhook"]["active"] is False
    stored = await count(state, "webhooks", f"secret = '{secret}'")
    assert stored == 1  # kept, to sign with


async def test_a_second_endpoint_gets_another_secret(admin: Actor) -> None:
    first = await webhook_ok(admin, RECEIVER)
    second = await webhook_ok(admin, RECEIVER)
    assert first["secret"] != second["secret"]


async def test_customers_and_visitors_cannot_manage_webhooks(
    admin: Actor, customer: Actor, state: AppState
) -> None:
    webhook = (await webhook_ok(admin, RECEIVER))["webhook"]
    variables = {"input": {"url": RECEIVER, "events": ["ORDER_PAID"]}}
    assert await error_code(customer.http, CREATE_WEBHOOK, variables) == "FORBIDDEN"
    assert await error_code(customer.http, WEBHOOKS) == "FORBIDDEN"
    changes = {"id": webhook["id"], "input": {"url": "https://93.184.215.15/"}}
    assert await error_code(customer.http, UPDATE_WEBHOOK, changes) == "FORBIDDEN"
    assert await error_code(customer.http, DELETE_WEBHOOK, {"id": webhook["id"]}) == "FORBIDDEN"
    await customer.http.post("/graphql", json={"query": "mutation { logout }"})
    assert await error_code(customer.http, WEBHOOKS) in ("UNAUTHENTICATED", "FORBIDDEN")
    assert await count(state, "webhooks") == 1
    assert [w["url"] for w in await listed_webhooks(admin)] == [RECEIVER]


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",  # not https
        "https://127.0.0.1/hooks",  # loopback
        "https://localhost:8443/hooks",  # a name for loopback
        "https://10.1.2.3/hooks",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",  # loopback mapped into IPv6
        "https://user:pw@93.184.215.14/",
        "ftp://93.184.215.14/",
        "https:///no-host",
        "",
    ],
)
async def test_an_unsafe_url_is_refused_and_nothing_is_written(
    app: Starlette, settings: Settings, database_url: str, passwords: Passwords, url: str
) -> None:
    guarded = create_app(
        replace(settings, webhook_allow_private=False), database_url=database_url,
        passwords=passwords,
    )  # fmt: skip
    state: AppState = guarded.state.orderly
    async with contextlib.AsyncExitStack() as stack:
        admin = await Accounts(app=guarded, state=state, stack=stack).one(role="ADMIN")
        payload = await create_webhook(admin, url)
    await state.close()
    assert payload["webhook"] is None and payload["secret"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["url"])]
    assert await count(app.state.orderly, "webhooks") == 0


async def test_bad_events_and_descriptions_are_refused_together(
    admin: Actor, state: AppState
) -> None:
    variables = {"input": {"url": "not a url", "events": [], "description": "x\x00"}}
    payload = (await data(admin.http, CREATE_WEBHOOK, variables))["createWebhook"]
    assert sorted(e["field"][0] for e in payload["userErrors"]) == ["events", "url"]
    long = {"input": {"url": RECEIVER, "events": ["ORDER_PAID"], "description": "d" * 1001}}
    payload = (await data(admin.http, CREATE_WEBHOOK, long))["createWebhook"]
    assert [e["field"] for e in payload["userErrors"]] == [["description"]]
    assert await count(state, "webhooks") == 0


async def test_an_update_is_checked_like_a_creation(admin: Actor, state: AppState) -> None:
    webhook = (await webhook_ok(admin, RECEIVER))["webhook"]
    before = await listed_webhooks(admin)
    refused: list[dict[str, Any]] = [{"url": "ftp://x/"}, {"events": []}, {"description": "\x00"}]
    for changes in refused:
        payload = await update_webhook(admin, webhook["id"], changes)
        assert [e["code"] for e in payload["userErrors"]] == ["INVALID_INPUT"], changes
        assert payload["webhook"] is None
    assert await listed_webhooks(admin) == before
    changed = await update_webhook(
        admin, webhook["id"], {"url": "https://93.184.215.15/x", "events": ["ORDER_SHIPPED"]}
    )
    assert changed["webhook"]["url"] == "https://93.184.215.15/x"
    assert changed["webhook"]["events"] == ["ORDER_SHIPPED"]


async def test_deleting_an_endpoint(admin: Actor, state: AppState) -> None:
    webhook = (await webhook_ok(admin, RECEIVER))["webhook"]
    deleted = (await data(admin.http, DELETE_WEBHOOK, {"id": webhook["id"]}))["deleteWebhook"]
    assert deleted == {"deletedId": webhook["id"], "userErrors": []}
    assert await count(state, "webhooks") == 0
    again = (await data(admin.http, DELETE_WEBHOOK, {"id": webhook["id"]}))["deleteWebhook"]
    assert again["deletedId"] is None
    assert [e["code"] for e in again["userErrors"]] == ["NOT_FOUND"]
    missing = await update_webhook(admin, webhook["id"], {"active": True})
    assert [e["code"] for e in missing["userErrors"]] == ["NOT_FOUND"]
    replay = (await data(admin.http, REPLAY, {"id": "RGVsaXZlcnk6OTk"}))["replayWebhookDelivery"]
    assert [e["code"] for e in replay["userErrors"]] == ["NOT_FOUND"]


async def test_a_webhook_is_a_node_for_admins_only(admin: Actor, customer: Actor) -> None:
    webhook = (await webhook_ok(admin, RECEIVER))["webhook"]
    query = "query($id: ID!) { node(id: $id) { id ... on Webhook { url } } }"
    found = await data(admin.http, query, {"id": webhook["id"]})
    assert found == {"node": {"id": webhook["id"], "url": RECEIVER}}
    assert await data(customer.http, query, {"id": webhook["id"]}) == {"node": None}
    # the ID of a delivery names no node
    assert await data(admin.http, query, {"id": "RGVsaXZlcnk6MQ"}) == {"node": None}


async def test_the_webhooks_list_is_answered_by_the_standard_executor(
    admin: Actor, state: AppState
) -> None:
    await webhook_ok(admin, RECEIVER)
    await webhook_ok(admin, "https://93.184.215.15/")
    nodes = await listed_webhooks(admin)
    assert [n["url"] for n in nodes] == ["https://93.184.215.15/", RECEIVER]  # newest first
    page = await data(admin.http, "query { webhooks(first: 1) { nodes { url } "
                      "pageInfo { hasNextPage endCursor } } }")  # fmt: skip
    assert page["webhooks"]["nodes"] == [{"url": "https://93.184.215.15/"}]
    cursor = page["webhooks"]["pageInfo"]["endCursor"]
    rest = await data(admin.http, "query($a: String) { webhooks(after: $a) { nodes { url } } }",
                      {"a": cursor})  # fmt: skip
    assert rest["webhooks"]["nodes"] == [{"url": RECEIVER}]


async def test_the_compiled_read_path_leaves_webhooks_to_the_standard_executor(
    state: AppState,
) -> None:
    reads = state.documents
    assert reads is not None
    listing = {"query": "{ webhooks { nodes { id url } } }"}
    assert await reads.answer(listing, None) is None  # type: ignore[attr-defined]
    node = {"query": '{ node(id: "V2ViaG9vazox") { id } }'}
    assert await reads.answer(node, None) is None  # type: ignore[attr-defined]
    product = {"query": '{ node(id: "UHJvZHVjdDox") { id } }'}
    assert await reads.answer(product, None) == b'{"data":{"node":null}}'  # type: ignore[attr-defined]
