"""GraphQL documents and helpers of the webhook suite."""

from __future__ import annotations

from typing import Any

from tests.catalog.support import Actor, NewProduct, insert_products, product_id
from tests.helpers import data
from tests.orders.support import place_ok
from web.state import AppState

WEBHOOK_FIELDS = "id url events description active createdAt"

CREATE_WEBHOOK = f"""
mutation Create($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret userErrors {{ code message field }}
  }}
}}
"""

UPDATE_WEBHOOK = f"""
mutation Update($id: ID!, $input: UpdateWebhookInput!) {{
  updateWebhook(id: $id, input: $input) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret userErrors {{ code message field }}
  }}
}}
"""

DELETE_WEBHOOK = """
mutation Delete($id: ID!) {
  deleteWebhook(id: $id) { deletedId userErrors { code message field } }
}
"""

REPLAY = f"""
mutation Replay($id: ID!) {{
  replayWebhookDelivery(id: $id) {{
    webhook {{ {WEBHOOK_FIELDS} }} secret userErrors {{ code message field }}
  }}
}}
"""

WEBHOOKS = f"""
query Webhooks {{
  webhooks(first: 10) {{
    totalCount
    nodes {{
      {WEBHOOK_FIELDS}
      deliveries(first: 50) {{
        totalCount
        nodes {{ id event status attempts lastResponseCode nextAttemptAt createdAt }}
      }}
    }}
  }}
}}
"""

ALL_EVENTS = ["ORDER_CREATED", "ORDER_PAID", "ORDER_SHIPPED", "ORDER_DELIVERED", "ORDER_CANCELLED"]


async def create_webhook(
    admin: Actor, url: str, events: list[str] | None = None, description: str | None = None
) -> dict[str, Any]:
    """The createWebhook payload."""
    variables = {"input": {"url": url, "events": events or ALL_EVENTS, "description": description}}
    payload: dict[str, Any] = (await data(admin.http, CREATE_WEBHOOK, variables))["createWebhook"]
    return payload


async def webhook_ok(admin: Actor, url: str, events: list[str] | None = None) -> dict[str, Any]:
    payload = await create_webhook(admin, url, events)
    assert payload["userErrors"] == [], payload
    return payload


async def update(admin: Actor, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The updateWebhook payload."""
    variables = {"id": webhook_id, "input": changes}
    payload: dict[str, Any] = (await data(admin.http, UPDATE_WEBHOOK, variables))["updateWebhook"]
    return payload


async def listed(admin: Actor) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await data(admin.http, WEBHOOKS))["webhooks"]["nodes"]
    return nodes


async def an_order(state: AppState, customer: Actor) -> dict[str, Any]:
    """A new PENDING order of `customer` (a new product of its own, in stock)."""
    [key] = await insert_products(state, [NewProduct(name="Widget", price_minor=1999)])
    return await place_ok(customer.http, [(product_id(key), 2)])
