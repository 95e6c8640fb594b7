"""How GraphQL errors leave the server: expected ones with a code, unexpected ones masked."""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

from db.failures import is_unavailable as _is_unavailable
from domain.errors import RateLimited, RequestError
from web.failures import UNAVAILABLE, UNAVAILABLE_DETAIL

log = logging.getLogger("orderly.graphql")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
MASKED_MESSAGE = "Internal server error."
_TOKEN_LIMIT = "Syntax Error: Document contains more than"  # noqa: S105 - a message prefix


def is_expected(error: GraphQLError) -> bool:
    """Errors that are part of the contract: request-level codes and GraphQL's own."""
    original = error.original_error
    return original is None or isinstance(original, (RequestError, GraphQLError))


def is_unavailable(error: GraphQLError) -> bool:
    """The database was unreachable, overloaded or too slow for this field: a `503`."""
    original = error.original_error
    return original is not None and _is_unavailable(original)


def format_error(error: GraphQLError, *, suggestions: bool) -> dict[str, Any]:
    """The JSON form of one error, with `extensions.code` always set."""
    original = error.original_error
    extensions: dict[str, Any] = dict(error.extensions or {})
    message = error.message
    if isinstance(original, RequestError):
        extensions["code"] = original.code
        if isinstance(original, RateLimited):
            extensions["retryAfter"] = original.retry_after
    elif isinstance(original, GraphQLError) and original.extensions:
        extensions.update(original.extensions)
    elif original is not None and _is_unavailable(original):
        message = UNAVAILABLE_DETAIL
        extensions = {"code": UNAVAILABLE}
    elif original is not None:
        message = MASKED_MESSAGE
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    if message.startswith(_TOKEN_LIMIT):
        extensions["code"] = "QUERY_TOO_COMPLEX"
    # Errors in the client's input already carry their code (schema/input_errors.py):
    # BAD_USER_INPUT for variables, GRAPHQL_VALIDATION_FAILED for the document.
    extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
    if not suggestions:
        message = _SUGGESTION.sub("", message)
    formatted: dict[str, Any] = {"message": message, "extensions": extensions}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = error.path
    return formatted
