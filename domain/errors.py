"""The domain's expected errors.

    OrderlyError
    ├── BusinessError       outcomes a client handles: one or more `Problem`s, shown as
    │                       `userErrors` in GraphQL and as a problem document in REST
    └── RequestError        the request itself is refused (`errors[]` in GraphQL)
        ├── Unauthenticated     UNAUTHENTICATED: no valid session
        ├── Forbidden           FORBIDDEN: the role does not allow it
        ├── InvalidArgument     INVALID_INPUT: a bad query argument (page size, cursor, ID)
        └── RateLimited         RATE_LIMITED, with the seconds to wait

Anything else escaping a resolver is unexpected: it is logged and masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from domain.codes import ErrorCode, RequestCode


@dataclass(frozen=True, slots=True)
class Problem:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None


class OrderlyError(Exception):
    """Base of every expected error."""


class BusinessError(OrderlyError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("a BusinessError needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @property
    def code(self) -> ErrorCode:
        return self.problems[0].code

    @classmethod
    def one(
        cls, code: ErrorCode, message: str, field: Sequence[str] | None = None
    ) -> BusinessError:
        return cls([Problem(code, message, tuple(field) if field is not None else None)])


class RequestError(OrderlyError):
    code: ClassVar[RequestCode] = RequestCode.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(RequestError):
    code = RequestCode.UNAUTHENTICATED

    def __init__(self, message: str = "Sign in to do this.") -> None:
        super().__init__(message)


class Forbidden(RequestError):
    code = RequestCode.FORBIDDEN

    def __init__(self, message: str = "Your role does not allow this.") -> None:
        super().__init__(message)


class InvalidArgument(RequestError):
    code = RequestCode.INVALID_INPUT


class RateLimited(RequestError):
    code = RequestCode.RATE_LIMITED

    def __init__(self, retry_after: int, message: str = "Too many attempts; try later.") -> None:
        super().__init__(message)
        self.retry_after = retry_after
