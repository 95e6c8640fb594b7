"""Timestamps from clients, checked before they reach the database."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.errors import InvalidArgument


def to_utc(value: datetime, name: str) -> datetime:
    """`value` in UTC (a value without an offset is taken as UTC), or `InvalidArgument` when
    it has no UTC equivalent (year 1 at +14:00 falls before year 1 in UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidArgument(f"{name} is out of range.") from None
