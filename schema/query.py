"""The root query type."""

from __future__ import annotations

import strawberry

from schema.types import User


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user, or null when anonymous.")
    def me(self) -> User | None:
        return None
