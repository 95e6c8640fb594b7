"""Keyset pagination shared by every list: cursors, page sizes, and page assembly.

A cursor encodes the sort key of a row and its id, so pages stay stable while rows are
inserted. Lists are ordered by (sort column, id), both in the same direction.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, and_, func, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from domain.errors import InvalidArgument
from resolvers.input_rules import CURSOR

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which slice of a list: Relay's first/after or last/before."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def size(self) -> int:
        if self.first is not None and self.last is not None:
            raise InvalidArgument("Use either first or last, not both.")
        size = self.last if self.last is not None else self.first
        if size is None:
            return DEFAULT_PAGE_SIZE
        if not 0 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument(f"Page size must be between 0 and {MAX_PAGE_SIZE}.")
        return size

    @property
    def backward(self) -> bool:
        return self.last is not None or (self.before is not None and self.first is None)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @property
    def next_cursor(self) -> str | None:
        """Where the next page starts, or None on the last one."""
        return self.cursors[-1] if self.has_next_page and self.cursors else None


def encode_cursor(sort_value: Any, row_id: int) -> str:
    value = sort_value.isoformat() if isinstance(sort_value, datetime) else sort_value
    return base64.urlsafe_b64encode(orjson.dumps([value, row_id])).decode().rstrip("=")


def _bigint(value: object) -> bool:
    return type(value) is int and -(2**63) <= value < 2**63


def _text(value: object) -> bool:
    return type(value) is str and "\x00" not in value  # PostgreSQL text cannot hold NUL


def decode_cursor(cursor: str, *, timestamp: bool, kind: type = object) -> tuple[Any, int]:
    """The sort value and id in `cursor`; the value must be a `kind` (or a timestamp).

    Every part is checked to be a value the database can take: a bigint id, text without
    NUL, a timestamp with an offset that converts to UTC.
    """
    try:
        if not CURSOR.accepts(cursor):  # checked before decoding, which skips other characters
            raise ValueError
        value, row_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not _bigint(row_id):
            raise ValueError
        if timestamp:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError  # cursors are made from aware timestamps only
            value = value.astimezone(UTC)
        elif not (_bigint(value) or _text(value)) or not isinstance(value, kind):
            raise ValueError  # e.g. a cursor of another sort order: a name where a price goes
    except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        raise InvalidArgument("Malformed cursor.") from None
    return value, row_id


def counting(query: Select[Any]) -> Select[Any]:
    """How many rows `query` selects, across all pages. Its FROM stays even when no condition
    names the table (an unfiltered list), where `count()` alone would select from nothing."""
    return query.with_only_columns(func.count(), maintain_column_froms=True)


def keyset_page(
    query: Select[Any],
    *,
    sort_column: QueryableAttribute[Any],
    id_column: QueryableAttribute[Any],
    descending: bool,
    page: PageRequest,
    timestamp: bool = False,
) -> tuple[Select[Any], int, bool]:
    """Add the keyset condition, order and limit to `query`.

    Returns the query (fetching one extra row to learn whether more exist), the page size,
    and whether rows come back in reverse order (for `last`/`before`).
    """
    size = page.size()
    backward = page.backward
    scan_descending = descending != backward
    conditions = []
    for cursor, forward_side in ((page.after, True), (page.before, False)):
        if cursor is None:
            continue
        value, row_id = decode_cursor(
            cursor, timestamp=timestamp, kind=sort_column.type.python_type
        )
        later = forward_side != descending  # rows after `cursor` in the list's own order
        key = tuple_(sort_column, id_column)
        # Bound with the columns' own types, so a bigint travels as a bigint.
        bound = tuple_(literal(value, sort_column.type), literal(row_id, id_column.type))
        conditions.append(key > bound if later else key < bound)
    if conditions:
        query = query.where(and_(*conditions))
    order = (sort_column.desc(), id_column.desc()) if scan_descending else (sort_column, id_column)
    return query.order_by(*order).limit(size + 1), size, backward


def assemble_page(
    rows: Sequence[T],
    *,
    size: int,
    backward: bool,
    key: Callable[[T], tuple[Any, int]],
    page: PageRequest,
) -> Page[T]:
    """Trim the extra row, restore list order, and compute cursors and page info."""
    more = len(rows) > size
    kept = list(rows[:size])
    if backward:
        kept.reverse()
    cursors = [encode_cursor(*key(row)) for row in kept]
    if backward:
        return Page(kept, cursors, has_next_page=page.before is not None, has_previous_page=more)
    return Page(kept, cursors, has_next_page=more, has_previous_page=page.after is not None)


async def fetch_page(
    query: Select[Any],
    *,
    db: AsyncSession,
    sort_column: QueryableAttribute[Any],
    id_column: QueryableAttribute[Any],
    descending: bool,
    page: PageRequest,
    timestamp: bool = False,
) -> Page[Any]:
    """Run `query` for one keyset page ordered by (`sort_column`, `id_column`)."""
    paged, size, backward = keyset_page(
        query,
        sort_column=sort_column,
        id_column=id_column,
        descending=descending,
        page=page,
        timestamp=timestamp,
    )
    rows = (await db.scalars(paged)).all()
    sort_key, id_key = sort_column.key, id_column.key
    return assemble_page(
        rows,
        size=size,
        backward=backward,
        page=page,
        key=lambda row: (getattr(row, sort_key), getattr(row, id_key)),
    )
