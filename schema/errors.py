"""`UserError`, the business outcomes returned as data in every payload."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.errors import BusinessError


@strawberry.enum
class ErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 - an error code
    NOT_FOUND = "NOT_FOUND"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


@strawberry.type
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None


def user_errors(error: BusinessError) -> list[UserError]:
    return [
        UserError(
            code=ErrorCode(problem.code),
            message=problem.message,
            field=list(problem.field) if problem.field is not None else None,
        )
        for problem in error.problems
    ]
