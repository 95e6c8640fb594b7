"""Request and response bodies of `/api/webhooks` (camelCase, like GraphQL)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, StrictBool

from domain.codes import DeliveryStatus, WebhookEvent
from resolvers.webhooks import MAX_DESCRIPTION, MAX_URL
from rest.models import Body, Out, UtcDateTime, published

# The GraphQL enum's names: ORDER_CREATED for the `order.created` deliveries.
WebhookEventName = Literal[
    "ORDER_CREATED", "ORDER_PAID", "ORDER_SHIPPED", "ORDER_DELIVERED", "ORDER_CANCELLED"
]
DeliveryStatusName = Literal["PENDING", "SUCCEEDED", "FAILED"]
assert set(get_args(WebhookEventName)) == {e.name for e in WebhookEvent}  # noqa: S101
assert set(get_args(DeliveryStatusName)) == {s.name for s in DeliveryStatus}  # noqa: S101


class CreateWebhookBody(Body):
    url: str = published(
        description="https, to a public address.", minLength=1, maxLength=MAX_URL, format="uri"
    )
    events: list[WebhookEventName] = Field(min_length=1, max_length=len(WebhookEvent))
    description: str | None = published(None, maxLength=MAX_DESCRIPTION)


class UpdateWebhookBody(Body):
    """Only the fields sent change."""

    url: str | None = published(
        None, "https, to a public address.", minLength=1, maxLength=MAX_URL, format="uri"
    )
    events: list[WebhookEventName] | None = Field(None, min_length=1, max_length=len(WebhookEvent))
    description: str | None = published(None, maxLength=MAX_DESCRIPTION)
    active: StrictBool | None = None


class WebhookOut(Out):
    id: str
    url: str
    events: list[WebhookEventName]
    description: str | None
    active: bool
    created_at: UtcDateTime


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_...): shown this once.")


class DeliveryOut(Out):
    id: str = Field(description="The webhook-id header of the delivery.")
    event: WebhookEventName
    status: DeliveryStatusName
    attempts: int
    last_response_code: int | None
    next_attempt_at: UtcDateTime | None
    created_at: UtcDateTime
