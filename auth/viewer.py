"""Who is making the request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.codes import Role

__all__ = ["Role", "Viewer"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a request, as loaded with their live login session."""

    id: int
    email: str
    name: str
    role: Role
    created_at: datetime
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def has_role(self, role: Role) -> bool:
        """An ADMIN passes every check a CLIENT passes."""
        return self.role is role or self.is_admin
