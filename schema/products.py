"""Products: the type, the catalogue queries and the admin mutations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from auth.viewer import Role
from db.models import Product as ProductRow
from resolvers import products
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import PageRequest
from schema.compiled.fields import compiled_from, money_from, sql, store_currency
from schema.connection import Connection, counter, to_connection
from schema.context import Context
from schema.errors import UserError, in_transaction
from schema.money import Money, money
from schema.node import Node
from schema.permissions import requires_role
from schema.sorting import SortDirection

ProductSortField = strawberry.enum(products.ProductSortField, name="ProductSortField")


@compiled_from(ProductRow)
@strawberry.type
class Product(Node):
    key: strawberry.Private[int]
    name: str
    description: str
    price: Money = strawberry.field(metadata=sql(money_from("price_minor", store_currency)))
    stock: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: ProductRow, ctx: Context) -> Product:
        settings = ctx.app.settings
        return cls(
            id=strawberry.ID(to_global_id("Product", row.id)),
            key=row.id,
            name=row.name,
            description=row.description,
            price=money(row.price_minor, settings.currency, settings),
            stock=row.stock,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.input
class ProductFilter:
    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None


@strawberry.input
class ProductSort:
    field: ProductSortField = products.ProductSortField.CREATED_AT  # type: ignore[valid-type]
    direction: SortDirection = SortDirection.DESC


@strawberry.input
class CreateProductInput:
    name: str
    description: str = ""
    price: Decimal
    stock: int = 0


@strawberry.input
class UpdateProductInput:
    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    stock: int | None = None


@strawberry.type
class ProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class DeleteProductPayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


def product_query(filter: ProductFilter | None, sort: ProductSort | None) -> products.ProductQuery:
    f = filter or ProductFilter()
    s = sort or ProductSort()
    return products.ProductQuery(
        search=f.search, min_price=f.min_price, max_price=f.max_price, in_stock=f.in_stock,
        sort=s.field, descending=s.direction is SortDirection.DESC,
    )  # fmt: skip


@strawberry.type
class ProductQueries:
    @strawberry.field(description="A product of the catalogue (archived ones: admins only).")
    async def product(self, info: Info[Context, None], id: strawberry.ID) -> Product | None:
        ctx = info.context
        async with ctx.app.reads() as db:
            row = await products.get_product(
                db=db, viewer=ctx.viewer, product_id=from_global_id(id, "Product")
            )
        return Product.from_row(row, ctx) if row else None

    @strawberry.field(description="The catalogue, filtered, sorted and paginated.")
    async def products(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ProductFilter | None = None,
        sort: ProductSort | None = None,
    ) -> Connection[Product]:
        ctx = info.context
        query = product_query(filter, sort)
        digits = ctx.app.settings.currency_digits
        async with ctx.app.reads() as db:
            page = await products.list_products(
                db=db,
                query=query,
                page=PageRequest(first, after, last, before),
                currency_digits=digits,
            )
        count = counter(
            ctx.app.reads,
            lambda db: products.count_products(db=db, query=query, currency_digits=digits),
        )
        return to_connection(page, lambda row: Product.from_row(row, ctx), count)


async def _product_payload(
    ctx: Context, change: Callable[[AsyncSession], Awaitable[ProductRow]]
) -> ProductPayload:
    row, errors = await in_transaction(ctx.app.sessions, change)
    return ProductPayload(
        product=Product.from_row(row, ctx) if row is not None else None, user_errors=errors
    )


def _changes(input: CreateProductInput | UpdateProductInput) -> products.ProductChanges:
    return products.ProductChanges(
        name=input.name, description=input.description, price=input.price, stock=input.stock
    )


@strawberry.type
class ProductMutations:
    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def create_product(
        self, info: Info[Context, None], input: CreateProductInput
    ) -> ProductPayload:
        ctx = info.context
        return await _product_payload(
            ctx,
            lambda db: products.create_product(
                db=db, viewer=ctx.viewer, changes=_changes(input),
                currency_digits=ctx.app.settings.currency_digits,
            ),
        )  # fmt: skip

    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def update_product(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateProductInput
    ) -> ProductPayload:
        ctx = info.context
        product_id = from_global_id(id, "Product")
        return await _product_payload(
            ctx,
            lambda db: products.update_product(
                db=db, viewer=ctx.viewer, product_id=product_id, changes=_changes(input),
                currency_digits=ctx.app.settings.currency_digits,
            ),
        )  # fmt: skip

    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def delete_product(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> DeleteProductPayload:
        ctx = info.context
        product_id = from_global_id(id, "Product")
        archived, errors = await in_transaction(
            ctx.app.sessions,
            lambda db: products.archive_product(db=db, viewer=ctx.viewer, product_id=product_id),
        )
        return DeleteProductPayload(
            deleted_id=id if archived is not None else None, user_errors=errors
        )
