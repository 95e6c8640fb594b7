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


class RequestCode(StrEnum):
    """The code of a refused request: `extensions.code` in GraphQL, a problem document's
    `code` in REST."""

    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_INPUT = "INVALID_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
