"""`node(id:)`: refetch any object by its public ID."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import orders, products, webhooks
from resolvers.ids import parse_global_id
from schema.context import Context
from schema.node import Node
from schema.orders import Order
from schema.products import Product
from schema.users import User
from schema.webhooks import Webhook


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by ID, if you may see it.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        ctx = info.context
        type_name, key = parse_global_id(id)
        async with ctx.app.reads() as db:
            if type_name == "Product":
                product = await products.get_product(db=db, viewer=ctx.viewer, product_id=key)
                return Product.from_row(product, ctx) if product else None
            if type_name == "Order":
                order = await orders.get_order(db=db, viewer=ctx.viewer, order_id=key)
                return Order.from_row(order, ctx) if order else None
            if type_name in ("Webhook", "Delivery"):
                if type_name == "Delivery" or ctx.viewer is None or not ctx.viewer.is_admin:
                    return None
                webhook = await webhooks.get_webhook(db=db, viewer=ctx.viewer, webhook_id=key)
                return Webhook.from_row(webhook) if webhook else None
        if ctx.viewer is None or not (ctx.viewer.is_admin or ctx.viewer.id == key):
            return None
        user = await ctx.loaders.user_by_id.load(key)
        return User.from_row(user) if user else None
