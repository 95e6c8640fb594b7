"""The root query and mutation types."""

from __future__ import annotations

import strawberry

from schema.auth import AuthMutations, AuthQueries
from schema.nodes import NodeQueries
from schema.orders import OrderMutations, OrderQueries
from schema.payments import PaymentMutations
from schema.products import ProductMutations, ProductQueries
from schema.users import UserMutations, UserQueries
from schema.webhooks import WebhookMutations, WebhookQueries


@strawberry.type
class Query(NodeQueries, AuthQueries, ProductQueries, OrderQueries, UserQueries, WebhookQueries):
    pass


@strawberry.type
class Mutation(
    AuthMutations,
    ProductMutations,
    OrderMutations,
    PaymentMutations,
    UserMutations,
    WebhookMutations,
):
    pass
