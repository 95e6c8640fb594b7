"""Input rules that can be stated as a length and a regular expression, defined once: the
resolvers check values with them, and the REST layer's OpenAPI document publishes them, so
that what a client may send and what the server accepts are the same.

Lengths count characters as sent. A pattern must match the whole value; it is written so
that Python's `re` (which the server runs) and ECMA-262 read it alike: character classes of
code points only (no `\\s`, `\\d` or `\\w`, which the two read differently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TextRule:
    min_length: int
    max_length: int
    pattern: str
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern, re.DOTALL))

    def accepts(self, value: str) -> bool:
        """Whether `value` has an allowed length and matches the pattern."""
        return self.min_length <= len(value) <= self.max_length and bool(
            self._compiled.fullmatch(value)
        )

    def json_schema(self) -> dict[str, object]:
        """The rule as JSON Schema keywords of a string."""
        return {"minLength": self.min_length, "maxLength": self.max_length, "pattern": self.pattern}


# The characters `str.strip()` removes (those for which `str.isspace()` is true).
BLANKS = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Any text without NUL (which PostgreSQL text cannot store).
_TEXT = r"[^\x00]*"
_VISIBLE = rf"[^{BLANKS}\x00]"
# Text without NUL that is not blank: at least one character that is not white space.
_NOT_BLANK = rf"^{_TEXT}{_VISIBLE}{_TEXT}$"

# A display name: a user's or a product's.
NAME = TextRule(1, 200, _NOT_BLANK)
DESCRIPTION = TextRule(0, 5000, rf"^{_TEXT}$")
# A note on an order's move, or the reason for a cancellation (blank: none).
NOTE = TextRule(0, 1000, rf"^{_TEXT}$")
# A search term: blank (no filter), or at least 3 characters between its first and last
# non-blank one, which the trigram indexes can serve.
SEARCH = TextRule(0, 254, rf"^(?:[{BLANKS}]*|{_TEXT}{_VISIBLE}[^\x00]+{_VISIBLE}{_TEXT})$")
# Sent in a header, whose surrounding blanks HTTP drops: visible ASCII and inner spaces.
IDEMPOTENCY_KEY = TextRule(1, 255, r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
# A page cursor: unpadded base64url text, as the server issues it.
CURSOR = TextRule(1, 2048, r"^[A-Za-z0-9_-]+$")
# A point in time in a query string: an RFC 3339 date-time with an offset, a real calendar
# date in the years 1900 to 2199 (so that its UTC equivalent always exists), at most six
# decimals of a second.
_LEAP_YEAR = r"(?:(?:19|20|21)(?:0[48]|[2468][048]|[13579][26])|2000)"
_MONTH_DAY = (
    r"(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31"
)
_DATE = rf"(?:(?:19|20|21)[0-9]{{2}}-(?:{_MONTH_DAY})|{_LEAP_YEAR}-02-29)"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP = TextRule(20, 32, rf"^{_DATE}T{_TIME}{_OFFSET}$")
