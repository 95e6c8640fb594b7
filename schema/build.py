"""Assembling the Schema object from its parts and the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.credential_fields import OneCredentialFieldRule
from schema.date_time import DATE_TIME
from schema.errors_format import format_error, is_expected, is_unavailable
from schema.input_errors import InputCheckingExecutor, ValidationErrorCodes
from schema.limits import MAX_TOKENS, ComplexityRule
from schema.money import DECIMAL
from schema.query import Mutation, Query
from settings import Settings
from web.failures import log_unavailable

log = logging.getLogger("orderly.graphql")
# Distinct documents whose parse and validation results are kept (a frontend sends a few
# dozen; the bound keeps arbitrary documents from growing memory).
DOCUMENT_CACHE_SIZE = 512
# Checked after GraphQL's own rules, on every path that runs a document.
VALIDATION_RULES = (ComplexityRule, OneCredentialFieldRule)


class OrderlySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors with their traceback, an unavailable database once; expected
        errors are the client's."""
        unavailable = [e.original_error for e in errors if is_unavailable(e)]
        if unavailable and unavailable[0] is not None:
            log_unavailable(unavailable[0])
        for error in errors:
            if is_expected(error):
                code = format_error(error, suggestions=False)["extensions"]["code"]
                log.info("client error %s at %s: %s", code, error.path, error.message[:200])
            elif not is_unavailable(error):
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the protections the settings ask for."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(list(VALIDATION_RULES)),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        ValidationErrorCodes,
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    from schema.live import Subscription  # it needs the whole schema's types

    return OrderlySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=InputCheckingExecutor,
        config=StrawberryConfig(scalar_map={Decimal: DECIMAL, datetime: DATE_TIME}),
    )


def sdl() -> str:
    """The printed schema, as committed in `schema.graphql`."""
    return build_schema(Settings()).as_str() + "\n"
