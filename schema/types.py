"""Object types of the public graph."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry


@strawberry.enum
class Role(Enum):
    CLIENT = "CLIENT"
    ADMIN = "ADMIN"


@strawberry.type
class User:
    id: strawberry.ID
    email: str | None
    name: str
    role: Role
    created_at: datetime
