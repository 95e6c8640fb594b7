"""Codes for errors in what the client sent, found before any resolver runs.

A document that does not validate is GRAPHQL_VALIDATION_FAILED; variables that do not fit
the types the document declares for them (a wrong type, an unknown enum value, a value out
of range) are BAD_USER_INPUT, as Apollo Server reports them. Neither is ever masked as an
internal error, even when a scalar's parser raised an ordinary exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BAD_USER_INPUT = "BAD_USER_INPUT"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def client_error(error: GraphQLError, code: str) -> GraphQLError:
    """The same message and locations, with `code`, detached from the exception behind it."""
    extensions = {**(error.extensions or {})}
    extensions.setdefault("code", code)
    return GraphQLError(error.message, error.nodes, extensions=extensions)


class InputCheckingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Marks the errors of coercing the variables (the executor could not start)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            return [client_error(error, BAD_USER_INPUT) for error in built]
        return built


class ValidationErrorCodes(SchemaExtension):
    """Marks every error the validation rules reported as the document's fault."""

    def on_validate(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors
        if errors:
            # In place: the validation cache and the pending result share this list.
            errors[:] = [client_error(error, VALIDATION_FAILED) for error in errors]
