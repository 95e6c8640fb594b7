"""`/api/webhooks` (admin)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from db.models import Webhook, WebhookDelivery
from domain.codes import ErrorCode, WebhookEvent
from domain.errors import BusinessError
from resolvers import webhooks
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import Page, PageRequest
from rest.endpoint import Call
from rest.queries import Query
from rest.responses import json_response, no_content
from rest.webhook_models import (
    CreatedWebhookOut,
    CreateWebhookBody,
    DeliveryOut,
    UpdateWebhookBody,
    WebhookOut,
)


def _webhook_id(call: Call[Any, Any]) -> int:
    return from_global_id(call.request.path_params["id"], "Webhook")


def webhook_out(row: Webhook) -> WebhookOut:
    return WebhookOut(
        id=to_global_id("Webhook", row.id),
        url=row.url,
        events=[WebhookEvent(event).name for event in row.events],  # type: ignore[misc]
        description=row.description,
        active=row.active,
        created_at=row.created_at,
    )


def delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=to_global_id("Delivery", row.id),
        event=WebhookEvent(row.event).name,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        last_response_code=row.last_response_code,
        next_attempt_at=row.next_attempt_at if row.status == "PENDING" else None,
        created_at=row.created_at,
    )


def _page(page: Page[Any], convert: Any) -> Response:
    from rest.models import ListOut

    out = ListOut[Any](items=[convert(row) for row in page.rows], next_cursor=page.next_cursor)
    return Response(out.model_dump_json(by_alias=True), media_type="application/json")


def _changes(body: CreateWebhookBody | UpdateWebhookBody) -> webhooks.WebhookChanges:
    events = None if body.events is None else [WebhookEvent[name] for name in body.events]
    active = body.active if isinstance(body, UpdateWebhookBody) else None
    return webhooks.WebhookChanges(
        url=body.url, events=events, description=body.description, active=active
    )


async def list_webhooks(call: Call[None, Query]) -> Response:
    async with call.app.reads() as db:
        page = await webhooks.list_webhooks(
            db=db, viewer=call.viewer, page=PageRequest(call.query.limit, call.query.cursor)
        )
    return _page(page, webhook_out)


async def get_webhook(call: Call[None, None]) -> Response:
    async with call.app.reads() as db:
        row = await webhooks.get_webhook(db=db, viewer=call.viewer, webhook_id=_webhook_id(call))
    if row is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such webhook.")
    return json_response(webhook_out(row))


async def create_webhook(call: Call[CreateWebhookBody, None]) -> Response:
    async with call.app.sessions.begin() as db:
        created = await webhooks.create_webhook(
            db=db, viewer=call.viewer, changes=_changes(call.body),
            allow_private=call.app.settings.webhook_allow_private,
        )  # fmt: skip
    out = CreatedWebhookOut(**webhook_out(created.webhook).model_dump(), secret=created.secret)
    return json_response(out, 201, headers={"Location": f"/api/webhooks/{out.id}"})


async def update_webhook(call: Call[UpdateWebhookBody, None]) -> Response:
    async with call.app.sessions.begin() as db:
        row = await webhooks.update_webhook(
            db=db, viewer=call.viewer, webhook_id=_webhook_id(call), changes=_changes(call.body),
            allow_private=call.app.settings.webhook_allow_private,
        )  # fmt: skip
    return json_response(webhook_out(row))


async def delete_webhook(call: Call[None, None]) -> Response:
    async with call.app.sessions.begin() as db:
        await webhooks.delete_webhook(db=db, viewer=call.viewer, webhook_id=_webhook_id(call))
    return no_content()


async def list_deliveries(call: Call[None, Query]) -> Response:
    webhook_id = _webhook_id(call)
    async with call.app.reads() as db:
        if await webhooks.get_webhook(db=db, viewer=call.viewer, webhook_id=webhook_id) is None:
            raise BusinessError.one(ErrorCode.NOT_FOUND, "No such webhook.")
        page = await webhooks.list_deliveries(
            db=db, viewer=call.viewer, webhook_id=webhook_id,
            page=PageRequest(call.query.limit, call.query.cursor),
        )  # fmt: skip
    return _page(page, delivery_out)


async def replay_delivery(call: Call[None, None]) -> Response:
    delivery_id = from_global_id(call.request.path_params["id"], "Delivery")
    async with call.app.sessions.begin() as db:
        row = await webhooks.replay_delivery(db=db, viewer=call.viewer, delivery_id=delivery_id)
    return json_response(delivery_out(row), 202)
