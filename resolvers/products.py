"""The catalogue: browsing, and the admin's create, update and archive."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.viewer import Viewer
from db.models import Product
from domain.codes import ErrorCode
from domain.errors import BusinessError, InvalidArgument, Problem
from resolvers.input_rules import DESCRIPTION, NAME
from resolvers.money import price_problems, to_minor
from resolvers.pagination import Page, PageRequest, counting, fetch_page
from resolvers.text import search_pattern
from resolvers.users import require_admin

MAX_NAME = NAME.max_length
MAX_DESCRIPTION = DESCRIPTION.max_length
MAX_STOCK = 1_000_000_000


class ProductSortField(Enum):
    NAME = "NAME"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"


SORT_COLUMNS = {
    ProductSortField.NAME: Product.name,
    ProductSortField.PRICE: Product.price_minor,
    ProductSortField.CREATED_AT: Product.created_at,
}


@dataclass(frozen=True, slots=True)
class ProductQuery:
    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    sort: ProductSortField = ProductSortField.CREATED_AT
    descending: bool = True


@dataclass(frozen=True, slots=True)
class ProductChanges:
    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    stock: int | None = None


async def get_product(
    *, db: AsyncSession, viewer: Viewer | None, product_id: int
) -> Product | None:
    """A product of the catalogue; archived ones only for admins."""
    product = await db.get(Product, product_id)
    if product is None or (product.archived_at is not None and not (viewer and viewer.is_admin)):
        return None
    return product


def _bound(amount: Decimal | None, digits: int, name: str) -> int | None:
    if amount is None:
        return None
    try:  # a bound beyond any storable price filters like the largest storable one
        return max(-(2**63), min(to_minor(amount, digits), 2**63 - 1))
    except (ValueError, ArithmeticError):
        raise InvalidArgument(
            f"{name} must be a decimal amount with at most {digits} places."
        ) from None


def filtered_products(query: ProductQuery, digits: int) -> Select[Product]:
    """Live products matching `query` (prices in minor units of `digits`), unordered."""
    statement = select(Product).where(Product.archived_at.is_(None))
    pattern = search_pattern(query.search)
    if pattern is not None:
        statement = statement.where(
            or_(Product.name.ilike(pattern), Product.description.ilike(pattern))
        )
    low = _bound(query.min_price, digits, "minPrice")
    high = _bound(query.max_price, digits, "maxPrice")
    if low is not None:
        statement = statement.where(Product.price_minor >= low)
    if high is not None:
        statement = statement.where(Product.price_minor <= high)
    if query.in_stock is not None:
        statement = statement.where(Product.stock > 0 if query.in_stock else Product.stock == 0)
    return statement


async def list_products(
    *, db: AsyncSession, query: ProductQuery, page: PageRequest, currency_digits: int
) -> Page[Product]:
    """Live products, filtered and sorted, one keyset page at a time."""
    column = SORT_COLUMNS[query.sort]
    return await fetch_page(
        filtered_products(query, currency_digits),
        db=db,
        sort_column=column,
        id_column=Product.id,
        descending=query.descending,
        page=page,
        timestamp=query.sort is ProductSortField.CREATED_AT,
    )


async def count_products(*, db: AsyncSession, query: ProductQuery, currency_digits: int) -> int:
    """How many live products match `query`."""
    statement = counting(filtered_products(query, currency_digits))
    return int(await db.scalar(statement) or 0)


def _validate(changes: ProductChanges, digits: int) -> tuple[dict[str, object], list[Problem]]:
    values: dict[str, object] = {}
    problems: list[Problem] = []
    if changes.name is not None:
        if not NAME.accepts(changes.name):
            message = f"Name must be 1 to {MAX_NAME} characters, not all blank, without NUL."
            problems.append(Problem(ErrorCode.INVALID_INPUT, message, ("name",)))
        values["name"] = changes.name.strip()
    if changes.description is not None:
        if not DESCRIPTION.accepts(changes.description):
            message = f"Description must be at most {MAX_DESCRIPTION} characters, without NUL."
            problems.append(Problem(ErrorCode.INVALID_INPUT, message, ("description",)))
        values["description"] = changes.description
    if changes.price is not None:
        minor, price_errors = price_problems(changes.price, digits, ("price",))
        problems += price_errors
        values["price_minor"] = minor
    if changes.stock is not None:
        if not 0 <= changes.stock <= MAX_STOCK:
            problems.append(
                Problem(
                    ErrorCode.INVALID_INPUT,
                    f"Stock must be between 0 and {MAX_STOCK:,}.",
                    ("stock",),
                )
            )
        values["stock"] = changes.stock
    return values, problems


async def create_product(
    *, db: AsyncSession, viewer: Viewer | None, changes: ProductChanges, currency_digits: int
) -> Product:
    """Admin only: add a product to the catalogue."""
    require_admin(viewer)
    values, problems = _validate(changes, currency_digits)
    if changes.name is None or changes.price is None:
        problems.append(Problem(ErrorCode.INVALID_INPUT, "Name and price are required.", ("name",)))
    if problems:
        raise BusinessError(problems)
    product = Product(**values)
    db.add(product)
    await db.flush()
    await db.refresh(product)
    return product


async def update_product(
    *,
    db: AsyncSession,
    viewer: Viewer | None,
    product_id: int,
    changes: ProductChanges,
    currency_digits: int,
) -> Product:
    """Admin only: change some fields of a live product."""
    require_admin(viewer)
    values, problems = _validate(changes, currency_digits)
    if problems:
        raise BusinessError(problems)
    statement = (
        update(Product)
        .where(Product.id == product_id, Product.archived_at.is_(None))
        .values(**values, updated_at=func.now())
        .returning(Product)
    )
    product: Product | None = await db.scalar(statement)
    if product is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such product.", ["id"])
    return product


async def archive_product(*, db: AsyncSession, viewer: Viewer | None, product_id: int) -> int:
    """Admin only: hide a product from the catalogue; existing orders keep it."""
    require_admin(viewer)
    archived = await db.scalar(
        update(Product)
        .where(Product.id == product_id, Product.archived_at.is_(None))
        .values(archived_at=func.now(), updated_at=func.now())
        .returning(Product.id)
    )
    if archived is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such product.", ["id"])
    return int(archived)
