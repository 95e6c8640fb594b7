"""Rules for account fields shared by registration, password changes and the CLI."""

from __future__ import annotations

import re

from auth.passwords import MAX_LENGTH, MIN_LENGTH
from resolvers.errors import Problem

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets


def normalize_email(email: str) -> str:
    """Trim the address; uniqueness is case-insensitive in the database."""
    return email.strip()


def email_problems(email: str, field: tuple[str, ...] = ("email",)) -> list[Problem]:
    """Problems with an email address (empty when it is acceptable)."""
    if not 3 <= len(email) <= MAX_EMAIL_LENGTH or not _EMAIL.match(email) or "\x00" in email:
        return [Problem("INVALID_INPUT", "Enter a valid email address.", field)]
    return []


def name_problems(name: str, field: tuple[str, ...] = ("name",)) -> list[Problem]:
    """Problems with a display name (empty when it is acceptable)."""
    if not 1 <= len(name.strip()) <= MAX_NAME_LENGTH or "\x00" in name:
        return [Problem("INVALID_INPUT", f"Name must be 1 to {MAX_NAME_LENGTH} characters.", field)]
    return []


def password_problems(
    password: str, *, email: str, name: str, field: tuple[str, ...] = ("password",)
) -> list[Problem]:
    """Problems with a new password: its length, or being the user's own email or name."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return [
            Problem(
                "WEAK_PASSWORD",
                f"Password must be {MIN_LENGTH} to {MAX_LENGTH} characters.",
                field,
            )
        ]
    lowered = password.strip().lower()
    if lowered in (email.strip().lower(), name.strip().lower()):
        return [Problem("WEAK_PASSWORD", "Password must not be your email or name.", field)]
    return []
