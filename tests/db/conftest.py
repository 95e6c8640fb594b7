"""Fixtures of the database suite: signed-in actors on the test app."""

from tests.catalog.support import accounts, admin, customer, passwords

__all__ = ["accounts", "admin", "customer", "passwords"]
