"""Assembling the Schema object from its parts and the settings."""

from __future__ import annotations

import strawberry
from strawberry.extensions import DisableIntrospection, SchemaExtension

from schema.query import Query
from settings import Settings


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the protections the settings ask for."""
    extensions: list[type[SchemaExtension]] = []
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, extensions=extensions)


def sdl() -> str:
    """The printed schema, as committed in `schema.graphql`."""
    return build_schema(Settings()).as_str() + "\n"
