"""Typed query strings of the REST list routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from rest.models import DecimalString, RoleName, StatusName


class Query(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")

    limit: int = Field(DEFAULT_PAGE_SIZE, ge=0, le=MAX_PAGE_SIZE)
    cursor: str | None = None


class ProductListQuery(Query):
    search: str | None = None
    min_price: DecimalString | None = None
    max_price: DecimalString | None = None
    in_stock: bool | None = None
    sort: Literal["name", "-name", "price", "-price", "createdAt", "-createdAt"] = "-createdAt"


class OrderListQuery(Query):
    status: list[StatusName] | None = Field(None, description="Repeat to match several.")
    created_after: datetime | None = None
    created_before: datetime | None = None
    customer_id: str | None = None
    sort: Literal["createdAt", "-createdAt", "total", "-total"] = "-createdAt"


class UserListQuery(Query):
    search: str | None = None
    role: RoleName | None = None


def sort_parts(sort: str) -> tuple[str, bool]:
    """`-price` → ("price", descending=True)."""
    return sort.lstrip("-"), sort.startswith("-")
