"""Roles, order statuses and error codes: each stated once.

The database's CHECK constraints, the GraphQL enums, the REST literals and the REST
status map are all derived from (or checked against) these.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Role(Enum):
    CLIENT = "CLIENT"
    ADMIN = "ADMIN"


class OrderStatus(Enum):
    PENDING = "PENDING"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class WebhookEvent(Enum):
    """What a webhook can be told of; delivered as `type`, the name in dotted lower case."""

    ORDER_CREATED = "order.created"
    ORDER_PAID = "order.paid"
    ORDER_SHIPPED = "order.shipped"
    ORDER_DELIVERED = "order.delivered"
    ORDER_CANCELLED = "order.cancelled"


class DeliveryStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PaymentStatus(Enum):
    """Where a payment with the provider stands (a Stripe PaymentIntent, summarised)."""

    REQUIRES_PAYMENT = "REQUIRES_PAYMENT"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    REFUNDED = "REFUNDED"


class ErrorCode(StrEnum):
    """The code of a business problem: a `userErrors` entry in GraphQL, an entry of a
    problem document in REST."""

    INVALID_INPUT = "INVALID_INPUT"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 - an error code
    NOT_FOUND = "NOT_FOUND"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PAYMENT_PROVIDER_ERROR = "PAYMENT_PROVIDER_ERROR"
    PAYMENTS_DISABLED = "PAYMENTS_DISABLED"


class RequestCode(StrEnum):
    """The code of a refused request: `extensions.code` in GraphQL, a problem document's
    `code` in REST."""

    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_INPUT = "INVALID_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
