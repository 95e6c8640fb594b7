"""Domain errors as RFC 9457 problem documents with the contract's status codes."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.responses import Response

from domain.codes import ErrorCode, RequestCode
from domain.errors import BusinessError, RateLimited, RequestError
from web.problems import problem_response

# The contract's status for each code; tests/rest/test_error_codes.py checks that every
# code of `domain.codes` has one.
BUSINESS_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_INPUT: 400,
    ErrorCode.WEAK_PASSWORD: 400,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.EMAIL_TAKEN: 409,
    ErrorCode.INSUFFICIENT_STOCK: 409,
    ErrorCode.PRODUCT_UNAVAILABLE: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.PAYMENTS_DISABLED: 409,  # the shop takes no payments through a provider
    ErrorCode.PAYMENT_PROVIDER_ERROR: 502,  # the provider failed or refused; nothing changed
}
REQUEST_STATUS: dict[RequestCode, int] = {
    RequestCode.BAD_REQUEST: 400,
    RequestCode.UNAUTHENTICATED: 401,
    RequestCode.FORBIDDEN: 403,
    RequestCode.INVALID_INPUT: 400,
    RequestCode.RATE_LIMITED: 429,
}


def business_problem(error: BusinessError) -> Response:
    """One problem document listing every problem; the status follows the first one."""
    errors = [
        {
            "code": p.code,
            "field": list(p.field) if p.field is not None else None,
            "message": p.message,
        }
        for p in error.problems
    ]
    first = error.problems[0]
    return problem_response(BUSINESS_STATUS[first.code], first.code, first.message, errors=errors)


def request_problem(error: RequestError) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return problem_response(REQUEST_STATUS[error.code], error.code, error.message, headers=headers)


def validation_problem(error: ValidationError, location: str) -> Response:
    """Every failing field, with its path in camelCase."""
    errors = [
        {
            "code": "INVALID_INPUT",
            "field": [str(part) for part in item["loc"]] or [location],
            "message": item["msg"],
        }
        for item in error.errors(include_url=False)
    ]
    return problem_response(
        400, "INVALID_INPUT", f"The request {location} is invalid.", errors=errors
    )
