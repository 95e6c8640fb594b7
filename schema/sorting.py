"""Sort direction shared by every sortable list."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
