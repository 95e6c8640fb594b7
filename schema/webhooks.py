"""Webhooks: the endpoint and delivery types, the `webhooks` list and the admin mutations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from auth.viewer import Role
from db.models import Webhook as WebhookRow
from db.models import WebhookDelivery as DeliveryRow
from domain.codes import DeliveryStatus, WebhookEvent
from resolvers import webhooks
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import PageRequest
from schema.connection import Connection, counter, to_connection
from schema.context import Context
from schema.errors import UserError, in_transaction
from schema.node import Node
from schema.permissions import requires_role

WebhookEventEnum = strawberry.enum(
    WebhookEvent, name="WebhookEvent", description="What a webhook is told of."
)
DeliveryStatusEnum = strawberry.enum(
    DeliveryStatus, name="DeliveryStatus", description="Where a delivery stands."
)


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The webhook-id header of the delivery.")
    event: WebhookEventEnum  # type: ignore[valid-type]
    status: DeliveryStatusEnum  # type: ignore[valid-type]
    attempts: int
    last_response_code: int | None
    next_attempt_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: DeliveryRow) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(to_global_id("Delivery", row.id)),
            event=WebhookEvent(row.event),
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            last_response_code=row.last_response_code,
            next_attempt_at=row.next_attempt_at if row.status == "PENDING" else None,
            created_at=row.created_at,
        )


@strawberry.type
class Webhook(Node):
    key: strawberry.Private[int]
    url: str
    events: list[WebhookEventEnum]  # type: ignore[valid-type]
    description: str | None
    active: bool
    created_at: datetime

    @strawberry.field(description="Its recent deliveries, newest first.")
    async def deliveries(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        ctx = info.context
        async with ctx.app.reads() as db:
            page = await webhooks.list_deliveries(
                db=db, viewer=ctx.viewer, webhook_id=self.key, page=PageRequest(first, after)
            )
        count = counter(
            ctx.app.reads,
            lambda db: webhooks.count_deliveries(db=db, viewer=ctx.viewer, webhook_id=self.key),
        )
        return to_connection(page, WebhookDelivery.from_row, count)

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        return cls(
            id=strawberry.ID(to_global_id("Webhook", row.id)),
            key=row.id,
            url=row.url,
            events=[WebhookEvent(event) for event in row.events],
            description=row.description,
            active=row.active,
            created_at=row.created_at,
        )


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(
        description="The signing secret (whsec_...): in the answer to createWebhook only."
    )
    user_errors: list[UserError]


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.input
class CreateWebhookInput:
    url: str
    events: list[WebhookEventEnum]  # type: ignore[valid-type]
    description: str | None = None


@strawberry.input
class UpdateWebhookInput:
    url: str | None = None
    events: list[WebhookEventEnum] | None = None  # type: ignore[valid-type]
    description: str | None = None
    active: bool | None = None


@strawberry.type
class WebhookQueries:
    @strawberry.field(extensions=requires_role(Role.ADMIN))
    async def webhooks(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Webhook]:
        ctx = info.context
        async with ctx.app.reads() as db:
            page = await webhooks.list_webhooks(
                db=db, viewer=ctx.viewer, page=PageRequest(first, after)
            )
        count = counter(ctx.app.reads, lambda db: webhooks.count_webhooks(db=db, viewer=ctx.viewer))
        return to_connection(page, Webhook.from_row, count)


async def _payload(
    ctx: Context, change: Callable[[AsyncSession], Awaitable[WebhookRow]]
) -> WebhookPayload:
    row, errors = await in_transaction(ctx.app.sessions, change)
    return WebhookPayload(
        webhook=Webhook.from_row(row) if row is not None else None, secret=None, user_errors=errors
    )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def create_webhook(
        self, info: Info[Context, None], input: CreateWebhookInput
    ) -> WebhookPayload:
        ctx = info.context
        changes = webhooks.WebhookChanges(
            url=input.url, events=input.events, description=input.description
        )
        created, errors = await in_transaction(
            ctx.app.sessions,
            lambda db: webhooks.create_webhook(
                db=db, viewer=ctx.viewer, changes=changes,
                allow_private=ctx.app.settings.webhook_allow_private,
            ),
        )  # fmt: skip
        if created is None:
            return WebhookPayload(webhook=None, secret=None, user_errors=errors)
        return WebhookPayload(
            webhook=Webhook.from_row(created.webhook), secret=created.secret, user_errors=[]
        )

    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def update_webhook(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateWebhookInput
    ) -> WebhookPayload:
        ctx = info.context
        webhook_id = from_global_id(id, "Webhook")
        changes = webhooks.WebhookChanges(
            url=input.url, events=input.events, description=input.description,
            active=input.active,
        )  # fmt: skip
        return await _payload(
            ctx,
            lambda db: webhooks.update_webhook(
                db=db, viewer=ctx.viewer, webhook_id=webhook_id, changes=changes,
                allow_private=ctx.app.settings.webhook_allow_private,
            ),
        )  # fmt: skip

    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def delete_webhook(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> DeleteWebhookPayload:
        ctx = info.context
        webhook_id = from_global_id(id, "Webhook")
        deleted, errors = await in_transaction(
            ctx.app.sessions,
            lambda db: webhooks.delete_webhook(db=db, viewer=ctx.viewer, webhook_id=webhook_id),
        )
        return DeleteWebhookPayload(
            deleted_id=id if deleted is not None else None, user_errors=errors
        )

    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def replay_webhook_delivery(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> WebhookPayload:
        ctx = info.context
        delivery_id = from_global_id(id, "Delivery")

        async def replay(db: AsyncSession) -> WebhookRow:
            delivery = await webhooks.replay_delivery(
                db=db, viewer=ctx.viewer, delivery_id=delivery_id
            )
            webhook = await webhooks.get_webhook(
                db=db, viewer=ctx.viewer, webhook_id=delivery.webhook_id
            )
            assert webhook is not None  # noqa: S101 - the delivery's foreign key
            return webhook

        return await _payload(ctx, replay)
