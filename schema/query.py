"""The root query and mutation types."""

from __future__ import annotations

import strawberry

from schema.auth import AuthMutations, AuthQueries
from schema.users import UserMutations, UserQueries


@strawberry.type
class Query(AuthQueries, UserQueries):
    pass


@strawberry.type
class Mutation(AuthMutations, UserMutations):
    pass
