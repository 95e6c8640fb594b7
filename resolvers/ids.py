"""Opaque public IDs: base64url of "Type:key", the same string in GraphQL and REST."""

from __future__ import annotations

import base64
import binascii

from domain.errors import InvalidArgument
from resolvers.id_pattern import MAX_KEY_DIGITS, id_pattern

NODE_TYPES = ("User", "Product", "Order", "Webhook", "Delivery")  # Delivery: a webhook delivery
MAX_ID_LENGTH = 64  # the longest real one, "Product:" and 18 digits, is 36 characters
# What a well-formed ID of each type looks like, published in the OpenAPI document.
ID_PATTERNS = {name: id_pattern(name) for name in NODE_TYPES}


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
        or not 0 < number < 10**MAX_KEY_DIGITS  # within a PostgreSQL bigint
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
