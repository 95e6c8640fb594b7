"""`/api/products`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.responses import Response

from resolvers import products
from resolvers.ids import from_global_id
from resolvers.money import parse_decimal
from rest.endpoint import Call
from rest.models import CreateProductBody, UpdateProductBody
from rest.queries import ProductListQuery, sort_parts
from rest.reads import PRODUCT, direction, list_document, one_document, read_one, read_page
from rest.representation import product_out
from rest.responses import json_response, no_content

_SORT_FIELDS = {
    "name": products.ProductSortField.NAME,
    "price": products.ProductSortField.PRICE,
    "createdAt": products.ProductSortField.CREATED_AT,
}


def _decimal(value: str | None) -> Decimal | None:
    return parse_decimal(value) if value is not None else None


def _product_id(call: Call[Any, Any]) -> int:
    return from_global_id(call.request.path_params["id"], "Product")


_PAGE = list_document(
    "products",
    "$first: Int, $after: String, $filter: ProductFilter, $sort: ProductSort",
    "first: $first, after: $after, filter: $filter, sort: $sort",
    PRODUCT,
)
_ONE = one_document("product", "(id: $id)", PRODUCT)


async def list_products(call: Call[None, ProductListQuery]) -> Response:
    q = call.query
    field, descending = sort_parts(q.sort)
    search = {"search": q.search, "minPrice": q.min_price, "maxPrice": q.max_price}
    variables = {
        "first": q.limit,
        "after": q.cursor,
        "filter": {**search, "inStock": q.in_stock},
        "sort": {"field": _SORT_FIELDS[field].value, "direction": direction(descending)},
    }
    return await read_page(call, _PAGE, variables)


async def get_product(call: Call[None, None]) -> Response:
    variables = {"id": call.request.path_params["id"]}
    return await read_one(call, _ONE, variables, "No such product.")


def _changes(body: CreateProductBody | UpdateProductBody) -> products.ProductChanges:
    return products.ProductChanges(
        name=body.name, description=body.description, price=_decimal(body.price), stock=body.stock
    )


async def create_product(call: Call[CreateProductBody, None]) -> Response:
    async with call.app.sessions.begin() as db:
        row = await products.create_product(
            db=db, viewer=call.viewer, changes=_changes(call.body),
            currency_digits=call.app.settings.currency_digits,
        )  # fmt: skip
    out = product_out(row, call.app.settings)
    return json_response(out, 201, headers={"Location": f"/api/products/{out.id}"})


async def update_product(call: Call[UpdateProductBody, None]) -> Response:
    async with call.app.sessions.begin() as db:
        row = await products.update_product(
            db=db, viewer=call.viewer, product_id=_product_id(call), changes=_changes(call.body),
            currency_digits=call.app.settings.currency_digits,
        )  # fmt: skip
    return json_response(product_out(row, call.app.settings))


async def delete_product(call: Call[None, None]) -> Response:
    async with call.app.sessions.begin() as db:
        await products.archive_product(db=db, viewer=call.viewer, product_id=_product_id(call))
    return no_content()
