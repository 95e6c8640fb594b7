"""Small text helpers for queries."""

from __future__ import annotations

from domain.errors import InvalidArgument
from resolvers.accounts import MAX_EMAIL_LENGTH

# The longest text a search must be able to match in full is an email address.
MAX_SEARCH_LENGTH = MAX_EMAIL_LENGTH
# The trigram indexes serve a substring search only from three characters on; a shorter term
# would read every row, so it is refused rather than run.
MIN_SEARCH_LENGTH = 3


def escape_like(value: str) -> str:
    """Escape LIKE wildcards so that user input matches literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_pattern(search: str | None) -> str | None:
    """The ILIKE pattern for a search term, or None when there is nothing to search for.

    Refuses (INVALID_INPUT) a term over `MAX_SEARCH_LENGTH` characters, checked before
    anything else, one holding NUL, which PostgreSQL text cannot store, and one shorter than
    `MIN_SEARCH_LENGTH` characters once trimmed. A blank term searches for nothing.
    """
    if search is None:
        return None
    if len(search) > MAX_SEARCH_LENGTH:
        raise InvalidArgument(f"search must be at most {MAX_SEARCH_LENGTH} characters.")
    if "\x00" in search:
        raise InvalidArgument("search must not contain NUL characters.")
    term = search.strip()
    if not term:
        return None
    if len(term) < MIN_SEARCH_LENGTH:
        raise InvalidArgument(f"search must be at least {MIN_SEARCH_LENGTH} characters.")
    return f"%{escape_like(term)}%"
