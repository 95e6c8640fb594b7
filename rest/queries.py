"""Typed query strings of the REST list routes (rules published as in `rest.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from domain.errors import InvalidArgument
from resolvers.input_rules import CURSOR, SEARCH, TIMESTAMP
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from rest.models import PriceBound, RoleName, StatusName, node_id, published, text


class Query(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=False, extra="forbid", regex_engine="python-re"
    )

    limit: int = Field(
        DEFAULT_PAGE_SIZE, ge=0, le=MAX_PAGE_SIZE, description=f"{DEFAULT_PAGE_SIZE} when left out."
    )
    cursor: str | None = published(
        None, "The `nextCursor` of the previous page.", format="cursor", **CURSOR.json_schema()
    )


class ProductListQuery(Query):
    search: str | None = text(SEARCH, None, "Part of the name or description; blank: none.")
    min_price: PriceBound | None = None
    max_price: PriceBound | None = None
    in_stock: bool | None = None
    sort: Literal["name", "-name", "price", "-price", "createdAt", "-createdAt"] = Field(
        "-createdAt", description="`-createdAt` when left out."
    )


class OrderListQuery(Query):
    status: list[StatusName] | None = Field(None, description="Repeat to match several.")
    created_after: str | None = text(TIMESTAMP, None, "RFC 3339, with an offset.")
    created_before: str | None = text(TIMESTAMP, None, "RFC 3339, with an offset.")
    customer_id: str | None = node_id("User", None)
    sort: Literal["createdAt", "-createdAt", "total", "-total"] = Field(
        "-createdAt", description="`-createdAt` when left out."
    )


class UserListQuery(Query):
    search: str | None = text(SEARCH, None, "Part of the name or email; blank: none.")
    role: RoleName | None = None


def sort_parts(sort: str) -> tuple[str, bool]:
    """`-price` → ("price", descending=True)."""
    return sort.lstrip("-"), sort.startswith("-")


def timestamp(value: str | None, name: str) -> datetime | None:
    """A query string's point in time (`input_rules.TIMESTAMP`), or INVALID_INPUT."""
    if value is None:
        return None
    try:
        if not TIMESTAMP.accepts(value):
            raise ValueError
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{name} must be an RFC 3339 date-time with an offset.") from None
