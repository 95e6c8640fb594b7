"""The root query and mutation types."""

from __future__ import annotations

import strawberry

from schema.auth import AuthMutations, AuthQueries
from schema.nodes import NodeQueries
from schema.orders import OrderMutations, OrderQueries
from schema.products import ProductMutations, ProductQueries
from schema.users import UserMutations, UserQueries


@strawberry.type
class Query(NodeQueries, AuthQueries, ProductQueries, OrderQueries, UserQueries):
    pass


@strawberry.type
class Mutation(AuthMutations, ProductMutations, OrderMutations, UserMutations):
    pass
