"""Opaque public IDs: base64url of "Type:key", the same string in GraphQL and REST."""

from __future__ import annotations

import base64
import binascii

from resolvers.errors import InvalidArgument

NODE_TYPES = ("User", "Product", "Order")
MAX_ID_LENGTH = 64  # the longest real one, "Product:" and a bigint, is 36 characters


def to_global_id(type_name: str, key: int) -> str:
    raw = f"{type_name}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_global_id(value: str) -> tuple[str, int]:
    """Split a public ID into its type and key, or raise `InvalidArgument`."""
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"Malformed ID {value[:64]!r}.")
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = int(key)
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidArgument(f"Malformed ID {value[:64]!r}.") from None
    if (
        type_name not in NODE_TYPES
        or not 0 < number < 2**63  # a PostgreSQL bigint
        or to_global_id(type_name, number) != value
    ):
        raise InvalidArgument(f"Malformed ID {value[:64]!r}.")
    return type_name, number


def from_global_id(value: str, expected: str) -> int:
    """The key of a public ID of type `expected`, or raise `InvalidArgument`."""
    type_name, key = parse_global_id(value)
    if type_name != expected:
        raise InvalidArgument(f"ID {value[:64]!r} is not a {expected} ID.")
    return key
