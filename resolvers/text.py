"""Small text helpers for queries."""


def escape_like(value: str) -> str:
    """Escape LIKE wildcards so that user input matches literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
