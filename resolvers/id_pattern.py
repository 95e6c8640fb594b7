"""The regular expression of the public IDs of one type, derived from their encoding.

An ID is the unpadded base64url form of `Type:key`, `key` a decimal without leading zeros
of 1 to `MAX_KEY_DIGITS` digits. Base64 turns each 3 bytes into 4 characters; for bytes that
are ASCII digits (0x30-0x39) the characters of a group depend on one byte each, which makes
the set of IDs a plain regular language:

    c1 c2 = b1 >> 2, (b1 & 3) << 4 | b2 >> 4     (b2 >> 4 is 3 for every digit)
    c3    = (b2 & 15) << 2 | b3 >> 6             (b3 >> 6 is 0 for every digit)
    c4    = b3 & 63
"""

from __future__ import annotations

import base64
import string
from collections.abc import Iterable

# 18 digits: every key below 10^18 (a bigint reaches 9.2 * 10^18; ids never get near).
MAX_KEY_DIGITS = 18
_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
_DIGITS = [ord(d) for d in string.digits]
_LEADING = [ord(d) for d in string.digits[1:]]


def id_pattern(type_name: str) -> str:
    """The anchored regular expression that matches exactly the IDs of `type_name`."""
    prefix = f"{type_name}:".encode()
    whole, rest = divmod(len(prefix), 3)
    fixed = base64.urlsafe_b64encode(prefix[: whole * 3]).decode()
    if rest == 0:  # the key starts a group: 1 to 18 digits, the first not 0
        first = [_tail(_LEADING), _tail(_LEADING, _DIGITS), _group(_LEADING)]
        keys = (
            f"(?:{first[0]}|{first[1]}|{first[2]}(?:{_group()}){{0,4}}(?:{_tails()})?"
            f"|{first[2]}(?:{_group()}){{5}})"
        )
    elif rest == 2:  # the key's first digit ends a group: 17 more digits at most
        head = base64.urlsafe_b64encode(prefix[whole * 3 :] + b"0").decode()[:3]
        leading = _class(_ALPHABET[b & 63] for b in _LEADING)
        keys = f"{head}{leading}(?:{_group()}){{0,5}}(?:{_tails()})?"
    else:
        raise ValueError(f"no pattern for a prefix of {len(prefix)} bytes")
    return f"^{fixed}{keys}$"


def _class(chars: Iterable[str]) -> str:
    return "[" + "".join(sorted(set(chars), key=_ALPHABET.index)) + "]"


def _pair(first: list[int], low_of_next: int) -> str:
    """c1 c2 for a first byte from `first`, the next byte's high nibble being `low_of_next`."""
    by_c1: dict[str, set[str]] = {}
    for b in first:
        by_c1.setdefault(_ALPHABET[b >> 2], set()).add(_ALPHABET[(b & 3) << 4 | low_of_next])
    return "(?:" + "|".join(f"{c1}{_class(c2)}" for c1, c2 in sorted(by_c1.items())) + ")"


def _group(first: list[int] = _DIGITS) -> str:
    """Three digits (the first from `first`): four characters."""
    return (
        _pair(first, 3)
        + _class(_ALPHABET[(b & 15) << 2] for b in _DIGITS)
        + _class(_ALPHABET[b & 63] for b in _DIGITS)
    )


def _tail(first: list[int], second: list[int] | None = None) -> str:
    """The last one or two digits, unpadded: two or three characters."""
    if second is None:
        return _pair(first, 0)
    return _pair(first, 3) + _class(_ALPHABET[(b & 15) << 2] for b in second)


def _tails() -> str:
    return f"{_tail(_DIGITS)}|{_tail(_DIGITS, _DIGITS)}"
