"""`UserError`, the business outcomes returned as data in every payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.codes import ErrorCode
from domain.errors import BusinessError

strawberry.enum(ErrorCode, name="ErrorCode")  # the domain's enum, as a GraphQL type


@strawberry.type
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None


T = TypeVar("T")


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession], change: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run `change` in one transaction; a business error rolls it back and becomes userErrors."""
    try:
        async with sessions.begin() as db:
            return await change(db), []
    except BusinessError as error:
        return None, user_errors(error)


def user_errors(error: BusinessError) -> list[UserError]:
    return [
        UserError(
            code=problem.code,
            message=problem.message,
            field=list(problem.field) if problem.field is not None else None,
        )
        for problem in error.problems
    ]
